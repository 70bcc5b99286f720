from pytest_bdd import scenarios

scenarios("load.feature")
