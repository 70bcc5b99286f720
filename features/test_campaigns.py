from pytest_bdd import scenarios

scenarios("campaigns.feature")
