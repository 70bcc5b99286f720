from pytest_bdd import scenarios

scenarios("persistence.feature")
