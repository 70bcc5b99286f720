from pytest_bdd import scenarios

scenarios("social.feature")
