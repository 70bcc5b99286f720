from pytest_bdd import scenarios

scenarios("environment.feature")
