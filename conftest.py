"""Root conftest: pytest-bdd finds only steps imported here, so every step module is a plugin."""

pytest_plugins = [
    "launchgate.bdd.evidence_plugin",
    "steps.common",
    "steps.campaigns",
    "steps.chain",
    "steps.data",
    "steps.governance",
    "steps.operations",
    "steps.rollback",
    "steps.security",
    "steps.testing",
]
