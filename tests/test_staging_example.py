"""fixtures/targets/staging.example.toml documents every key the profile loader reads, and nothing else: it loads
(the loader refuses a key it does not read), and each key the loader knows appears in it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from launchgate import targets
from launchgate.runner import PROJECT_ROOT
from launchgate.targets import TargetError, load_target

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


@pytest.mark.parametrize(("section", "typo"), [("[chain]", "chain_ID = 1"), ("[monitoring]", "selektor = 'x'"),
                                               ("[services.gateway]", "health = '/h'")])
def test_a_key_the_loader_does_not_read_is_refused_naming_it(tmp_path: Path, section: str, typo: str) -> None:
    text = re.sub(rf"^{re.escape(section)}.*$", lambda m: f"{m[0]}\n{typo}", EXAMPLE.read_text(), count=1,
                  flags=re.MULTILINE)
    assert typo in text
    path = tmp_path / "staging.toml"
    path.write_text(text)
    key = typo.split()[0]
    with pytest.raises(TargetError, match=rf"field {re.escape(section.strip('[]'))}\.{key} is not one launchgate "
                                          "reads; known: "):
        load_target(str(path))
