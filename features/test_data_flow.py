from pytest_bdd import scenarios

scenarios("data_flow.feature")
