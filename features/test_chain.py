from pytest_bdd import scenarios

scenarios("chain.feature")
