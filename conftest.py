"""Root conftest: pytest-bdd finds only steps imported here, so every step module is a plugin."""

pytest_plugins = [
    "launchgate.bdd.evidence_plugin",
    "steps.common",
    "steps.campaigns",
    "steps.chain",
    "steps.contract",
    "steps.data",
    "steps.feedback",
    "steps.flow",
    "steps.governance",
    "steps.launch",
    "steps.load",
    "steps.operations",
    "steps.rollback",
    "steps.security",
    "steps.social",
    "steps.testing",
]
