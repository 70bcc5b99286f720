from pytest_bdd import scenarios

scenarios("monitoring.feature")
