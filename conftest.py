"""Root conftest: pytest-bdd finds only steps imported here, so every step module is a plugin."""

pytest_plugins = [
    "launchgate.bdd.evidence_plugin",
    "steps.common",
    "steps.campaigns",
    "steps.governance",
    "steps.operations",
    "steps.security",
]
