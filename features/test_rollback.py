from pytest_bdd import scenarios

scenarios("rollback.feature")
