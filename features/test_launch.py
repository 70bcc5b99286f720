from pytest_bdd import scenarios

scenarios("launch.feature")
