from pytest_bdd import scenarios

scenarios("governance.feature")
