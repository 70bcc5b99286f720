from pytest_bdd import scenarios

scenarios("feedback.feature")
