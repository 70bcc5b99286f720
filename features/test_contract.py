from pytest_bdd import scenarios

scenarios("contract.feature")
