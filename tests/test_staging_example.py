"""fixtures/targets/staging.example.toml documents every key the profile loader reads, and nothing else: it loads
(the loader refuses a key it does not read), and each key the loader knows appears in it."""

from __future__ import annotations

import tomllib

from launchgate import targets
from launchgate.runner import PROJECT_ROOT
from launchgate.targets import load_target

EXAMPLE = PROJECT_ROOT / "fixtures" / "targets" / "staging.example.toml"


def _documented() -> dict[str, object]:
    return tomllib.loads(EXAMPLE.read_text())


def test_the_example_loads() -> None:
    target = load_target("staging.example")
    assert target.managed is False and target.load is not None and target.chain is not None


def test_every_key_the_loader_reads_is_documented() -> None:
    data = _documented()
    service = next(iter(data["services"].values()))
    roles = data["auth"]["roles"]
    kinds = {kind for entry in roles.values() for kind in entry}
    sections: dict[str, tuple[tuple[str, ...], object]] = {
        "top level": (targets.TOP_LEVEL_KEYS, data),
        "a service": (targets.SERVICE_KEYS, service),
        "[api]": (targets.API_AREAS, data["api"]),
        "[auth]": (("mode", "postiz_key_env", "roles"), data["auth"]),
        "[auth.roles]": (targets.ROLES, roles),
        "a role": ((*targets.CREDENTIAL_KINDS, "voter_key_env"), dict.fromkeys(kinds)),
        "[chain]": (targets.CHAIN_KEYS, data["chain"]),
        "[chain.contracts]": (targets.CONTRACT_NAMES, data["chain"]["contracts"]),
        "[monitoring]": (targets.MONITORING_KEYS, data["monitoring"]),
        "[hooks]": (targets.HOOKS, data["hooks"]),
        "[database]": (tuple(k for k in targets.DATABASE_KEYS if k != "mode"), data["database"]),
        "[secrets]": (("known_env",), data["secrets"]),
        "[seed]": (targets.SEED_KINDS, data["seed"]),
    }
    missing = {where: [k for k in known if k not in table]  # type: ignore[operator]
               for where, (known, table) in sections.items()}
    assert not any(missing.values()), {w: m for w, m in missing.items() if m}


def test_every_load_route_of_the_reference_is_documented() -> None:
    """The reference profile names every route the locustfiles (load/) call."""
    documented = set(_documented()["load"]["routes"])  # type: ignore[index]
    assert set(load_target("reference").load.routes) <= documented  # type: ignore[union-attr]
