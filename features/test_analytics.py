from pytest_bdd import scenarios

scenarios("analytics.feature")
