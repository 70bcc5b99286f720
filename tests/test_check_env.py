"""`launchgate check-env`: a dotenv file against framework §3, never printing a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from launchgate.cli import main
from launchgate.envcheck import check_file

LIVE_KEY = "sk_live_4f9a8b7c6d5e4f3a2b1c"
SANDBOX_KEY = "sk_test_9a8b7c6d5e4f3a2b"
DB_PASSWORD = "pg-pass-Zq81x"
# A 371OS .env as the public repository's services read it (371os-contract.md, Environment).
MOCK_371OS = f"""# enhanced-mail-conduit
NODE_ENV=development
STATUS_NETWORK_API_KEY={SANDBOX_KEY}
STATUS_NETWORK_ENDPOINT=https://testnet.status.network/api
BLOCKCHAIN_NETWORK_ID=status-testnet
PROXIEDMAIL_API_KEY="sandbox_proxiedmail_key"
EMAIL_SERVICE_MODE=demo
DATABASE_URL=postgresql://app:{DB_PASSWORD}@localhost:5432/os371
LOG_LEVEL=debug
"""
PRODUCTION = f"""NODE_ENV=production
export STATUS_NETWORK_API_KEY={LIVE_KEY}
STATUS_NETWORK_ENDPOINT=https://api.status.network/v1
BLOCKCHAIN_NETWORK_ID=1
PROXIEDMAIL_API_KEY='live_proxiedmail_81f2a9'
EMAIL_SERVICE_MODE=live
DATABASE_URL=postgresql://app:{DB_PASSWORD}@db.prod.internal:5432/os371
LOG_LEVEL=warn   # quiet
"""


def env_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check-env", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_mock_env_is_clean_against_mock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--profile", "mock", str(env_file(tmp_path, MOCK_371OS)))
    assert code == 0, out
    assert "matches the mock column" in out


def test_a_mock_env_against_production_names_every_gap_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env_file(tmp_path, MOCK_371OS)
    code, out, err = run(capsys, "--profile", "production", str(path))
    assert code == 1
    lines = out.splitlines()
    by_name = {line.split(": ")[1]: line for line in lines}
    assert set(by_name) == {"NODE_ENV", "STATUS_NETWORK_API_KEY", "STATUS_NETWORK_ENDPOINT", "BLOCKCHAIN_NETWORK_ID",
                            "PROXIEDMAIL_API_KEY", "EMAIL_SERVICE_MODE", "DATABASE_URL", "LOG_LEVEL"}
    assert by_name["NODE_ENV"] == f"{path}:2: NODE_ENV: is 'development'; the production environment needs " \
                                  "NODE_ENV=production"
    assert "a sandbox/test key of 24 characters" in by_name["STATUS_NETWORK_API_KEY"]
    assert "PostgreSQL on a loopback host" in by_name["DATABASE_URL"]
    assert "'status-testnet', a testnet; production uses mainnet" in by_name["BLOCKCHAIN_NETWORK_ID"]
    for secret in (SANDBOX_KEY, "sandbox_proxiedmail_key", DB_PASSWORD, "testnet.status.network"):
        assert secret not in out + err, f"check-env printed a secret value: {secret}"
    assert "8 finding(s)" in err


def test_a_production_env_is_clean_and_the_reverse_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env_file(tmp_path, PRODUCTION)
    code, out, _ = run(capsys, str(path))  # --profile production is the default
    assert code == 0, out
    code, out, err = run(capsys, "--profile", "mock", str(path))
    assert code == 1
    assert "STATUS_NETWORK_API_KEY: holds a live key of 28 characters; the mock environment uses sandbox" in out
    assert "BLOCKCHAIN_NETWORK_ID: is '1', mainnet" in out
    assert LIVE_KEY not in out + err and DB_PASSWORD not in out + err


def test_missing_settings_and_bad_lines_are_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ("NODE_ENV=production\nSTATUS_NETWORK_API_KEY=your_status_network_api_key_here\n"
            "PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n"
            "CHAIN_ID=5\nnot a setting token=abc\nNODE_ENV=production\n")
    path = env_file(tmp_path, text)
    findings = {f.name: f for f in check_file(path, "production")}
    assert findings["STATUS_NETWORK_API_KEY"].problem.startswith("is a placeholder")
    assert "well-known development key" in findings["PRIVATE_KEY"].problem
    assert "chain id 5 is Goerli, shut down" in findings["CHAIN_ID"].problem
    assert findings["line 5"].problem.startswith("is not NAME=VALUE")
    assert "set twice (lines 1 and 6)" in findings["NODE_ENV"].problem
    for missing in ("PROXIEDMAIL_API_KEY", "DATABASE_URL", "LOG_LEVEL"):
        assert findings[missing].line is None and "not set" in findings[missing].problem
    code, out, _ = run(capsys, str(path))
    assert code == 1 and "abc" not in out


@pytest.mark.parametrize("kind", ["missing", "directory", "binary", "latin-1"])
def test_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    path = tmp_path / ".env"
    if kind == "directory":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"NODE_ENV=production\n\x00\x01")
    elif kind == "latin-1":
        path.write_bytes("NODE_ENV=caf\xe9\n".encode("latin-1"))
    code, out, err = run(capsys, str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"launchgate: {path}")
