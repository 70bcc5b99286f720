from pytest_bdd import scenarios

scenarios("testing.feature")
