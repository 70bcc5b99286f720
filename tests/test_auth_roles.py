"""Per-role credentials of an unmanaged target ([auth] mode "env", [auth.roles]): each role acts with its own
credential and never with another's; a variable that is not set stops the run before it starts (exit 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from launchgate.bdd.session import TargetSession
from launchgate.evidence import EvidenceWriter
from launchgate.targets import TargetError, load_target
from tests.test_bdd_errors import pytest_features
from tests.test_fail_fast import free_port_base, launchgate, refused_before_work

PROFILE = """\
name = "roles"
environment = "mock"
managed = false
[services.gateway]
url = "http://127.0.0.1:9"
[api]
email = "http://127.0.0.1:9"
[auth]
{auth}
"""
ROLES = """mode = "env"
[auth.roles]
admin = { token_env = "LG_T_ADMIN" }
cfo = { api_key_env = "LG_T_CFO" }"""


def _profile(tmp_path: Path, auth: str) -> Path:
    path = tmp_path / "roles.toml"
    path.write_text(PROFILE.format(auth=auth))
    return path


def test_each_role_acts_with_its_own_credential_and_never_with_anothers(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LG_T_ADMIN", "admin-token")
    monkeypatch.setenv("LG_T_CFO", "cfo-key")
    session = TargetSession(load_target(str(_profile(tmp_path, ROLES))), tmp_path, EvidenceWriter(tmp_path, "t"))
    assert session.credential("admin") == {"Authorization": "Bearer admin-token"}
    assert session.credential("cfo") == {"X-API-Key": "cfo-key"}
    with pytest.raises(pytest.skip.Exception, match=r"no credential for the ceo role.*not act as ceo with another"):
        session.credential("ceo")


@pytest.mark.parametrize(("auth", "says"), [
    ('mode = "env"\ntoken_env = "LG_TOKEN"', "field auth.token_env is gone: name each role's credential under "
                                             "[auth.roles], e.g. admin = { token_env = \"LG_TOKEN\" }"),
    ('mode = "env"\n[auth.roles]\nboss = { token_env = "X" }', "field auth.roles.boss is not a role launchgate acts "
                                                                "as; known: admin, ceo, cfo, clo, member"),
    ('mode = "env"\n[auth.roles]\nadmin = { password_env = "X" }', "field auth.roles.admin must be "
                                                                   "{ token_env = \"VAR\" } or { api_key_env"),
    ('mode = "env"\n[auth.roles]\ncfo = { token_env = "X" }', "auth mode \"env\" needs at least [auth.roles] admin"),
    ('mode = "token"', "field auth.mode must be one of none, stack-secrets, env, found 'token'"),
])
def test_a_wrong_auth_section_is_named(tmp_path: Path, auth: str, says: str) -> None:
    with pytest.raises(TargetError, match=re.escape(says)):
        load_target(str(_profile(tmp_path, auth)))


def test_an_unset_credential_variable_is_exit_2_before_any_work(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LG_T_ADMIN", raising=False)
    monkeypatch.setenv("LG_T_CFO", "cfo-key")
    profile, reports = _profile(tmp_path, ROLES), tmp_path / "reports"
    port_base = free_port_base()
    done = launchgate("run", "--target", str(profile), "--reports-dir", str(reports), "--port-base", str(port_base))
    line = refused_before_work(done, reports, port_base)
    assert line == f"launchgate: {profile}: [auth.roles] admin: $LG_T_ADMIN is not set: export it before the run"
    assert "cfo-key" not in done.stdout + done.stderr


def test_known_secrets_come_from_the_variables_secrets_known_env_names(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = _profile(tmp_path, 'mode = "none"\n[secrets]\nknown_env = ["LG_T_JWT"]')
    monkeypatch.setenv("LG_T_JWT", "jwt-signing-secret")
    session = TargetSession(load_target(str(path)), tmp_path, EvidenceWriter(tmp_path, "t"))
    assert session.known_secrets() == ["jwt-signing-secret"]
    monkeypatch.delenv("LG_T_JWT")
    assert load_target(str(path)).unset_variables() == ["[secrets] known_env: $LG_T_JWT is not set"]


def test_a_roles_voter_key_comes_from_the_variable_its_entry_names(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    auth = ROLES + '\nceo = { token_env = "LG_T_CEO", voter_key_env = "LG_T_CEO_VOTER" }'
    path = _profile(tmp_path, auth)
    for name in ("LG_T_ADMIN", "LG_T_CFO", "LG_T_CEO"):
        monkeypatch.setenv(name, "x")
    monkeypatch.delenv("LG_T_CEO_VOTER", raising=False)
    assert load_target(str(path)).unset_variables() == ["[auth.roles] ceo: $LG_T_CEO_VOTER is not set"]
    monkeypatch.setenv("LG_T_CEO_VOTER", "0x" + "11" * 32)
    session = TargetSession(load_target(str(path)), tmp_path, EvidenceWriter(tmp_path, "t"))
    assert session.voter_key("ceo") == "0x" + "11" * 32


def test_pytest_features_stops_at_an_unset_variable_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI runs `pytest features/` directly: the same line and exit 2, before any scenario."""
    monkeypatch.delenv("LG_T_ADMIN", raising=False)
    profile = _profile(tmp_path, ROLES)
    done = pytest_features(f"--target={profile}", run_dir=tmp_path / "run")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"launchgate: {profile}: [auth.roles] admin: $LG_T_ADMIN is not set: export it before the run" in (
        done.stdout + done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
