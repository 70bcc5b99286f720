"""The platform service (identity, social, feedback) and the Postiz sandbox, over real HTTP to a running stack.

Mail is read from the real SMTP sink; encryption at rest is checked on the raw database row and file.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from tests.conftest import RunningStack

PASSWORD = "correct horse battery"
TOKEN_HEADER = "x-371os-verification-token"


# -- helpers ------------------------------------------------------------------------------------------


def unique_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@testers.example"


def platform(stack: RunningStack, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=stack.url("platform"), headers=headers, timeout=15)


def postiz(stack: RunningStack, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.Client(base_url=stack.url("postiz"), headers=headers, timeout=15)


def verification_token(stack: RunningStack, email: str) -> str:
    """The token from the verification mail the sink received for `email`."""
    (mail,) = stack.sink.wait_for(email, count=1, timeout=15)
    headers = {k.lower(): v for k, v in mail["headers"].items()}
    assert mail["mail_from"] == "noreply@371os.local"
    token = headers[TOKEN_HEADER]
    assert token in mail["body"], "the verification token is in the mail body as well as its header"
    return token


def signup(stack: RunningStack, email: str, name: str = "Tester") -> dict[str, Any]:
    with platform(stack) as api:
        reply = api.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": name})
    assert reply.status_code == 201, reply.text
    return reply.json()["user"]


def verified_user(stack: RunningStack, tag: str = "user") -> tuple[dict[str, Any], str]:
    """A signed-up, verified, logged-in user: (user, JWT)."""
    email = unique_email(tag)
    signup(stack, email)
    token = verification_token(stack, email)
    with platform(stack) as api:
        assert api.post("/api/auth/verify", json={"token": token}).status_code == 200
        reply = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    return body["user"], body["token"]


def login(stack: RunningStack, email: str, password: str) -> httpx.Response:
    with platform(stack) as api:
        return api.post("/api/auth/login", json={"email": email, "password": password})


def query_platform_db(stack: RunningStack, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(stack.stack.database_url("platform"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


def sqlite_files(stack: RunningStack) -> list[Path]:
    """The platform's SQLite database and its WAL, where fresh writes live; [] on PostgreSQL."""
    url = stack.stack.database_url("platform")
    if not url.startswith("sqlite:///"):
        return []
    db = Path(url.removeprefix("sqlite:///"))
    return [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]


# -- health ---------------------------------------------------------------------------------------------


def test_health_checks_db_mail_and_postiz(stack: RunningStack) -> None:
    body = httpx.get(f"{stack.url('platform')}/health", timeout=5).json()
    assert body["status"] == "operational"
    assert {name: dep["status"] for name, dep in body["dependencies"].items()} == {
        "db": "up",
        "mail": "up",
        "postiz": "up",
    }
    sandbox = httpx.get(f"{stack.url('postiz')}/health", timeout=5).json()
    assert sandbox["dependencies"] == {"db": {"status": "up"}}


# -- identity -------------------------------------------------------------------------------------------


def test_signup_mail_verify_login(stack: RunningStack) -> None:
    email = unique_email("alice")
    user = signup(stack, email.upper(), name="Alice")
    assert user["email"] == email, "emails are stored lower-case"
    assert (user["role"], user["verified"]) == ("member", False)

    unverified = login(stack, email, PASSWORD)
    assert unverified.status_code == 403, unverified.text

    token = verification_token(stack, email)
    with platform(stack) as api:
        verified = api.post("/api/auth/verify", json={"token": token})
        assert verified.status_code == 200, verified.text
        assert verified.json()["user"]["verified"] is True
        assert api.post("/api/auth/verify", json={"token": "not-a-token-at-all"}).status_code == 400

    reply = login(stack, email, PASSWORD)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["success"] is True and body["user"]["id"] == user["id"]
    with platform(stack, body["token"]) as api:
        me = api.get("/api/auth/me").json()["user"]
    assert (me["email"], me["role"], me["verified"]) == (email, "member", True)
    assert "password" not in str(me)


def test_onboarding_works_through_the_gateway(stack: RunningStack) -> None:
    email = unique_email("public")
    with httpx.Client(base_url=stack.gateway, timeout=15) as gateway:
        reply = gateway.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Pat"})
        assert reply.status_code == 201, reply.text
        assert gateway.post("/api/auth/verify", json={"token": verification_token(stack, email)}).status_code == 200
        logged_in = gateway.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert logged_in.status_code == 200, logged_in.text
        me = gateway.get("/api/auth/me", headers={"Authorization": f"Bearer {logged_in.json()['token']}"})
        assert me.status_code == 200 and me.json()["user"]["email"] == email
        assert gateway.post("/internal/api-keys/verify", json={"key": "lg_x"}).status_code in (403, 404)


def test_a_user_closes_their_own_account(stack: RunningStack) -> None:
    user, token = verified_user(stack, "leaving")
    with httpx.Client(base_url=stack.gateway, timeout=15) as gateway:
        assert gateway.delete("/api/auth/account").status_code == 401
        closed = gateway.delete("/api/auth/account", headers={"Authorization": f"Bearer {token}"})
        assert closed.status_code == 200 and closed.json()["deleted"] == user["email"], closed.text
        assert gateway.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert login(stack, user["email"], PASSWORD).status_code == 401


def test_wrong_password_and_unknown_email_look_the_same(stack: RunningStack) -> None:
    _user, _token = verified_user(stack, "bob")
    email = _user["email"]
    wrong = login(stack, email, "not the password")
    unknown = login(stack, unique_email("ghost"), "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]


def test_signup_rejects_duplicates_and_bad_fields(stack: RunningStack) -> None:
    email = unique_email("dup")
    signup(stack, email)
    with platform(stack) as api:
        again = api.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Again"})
        assert again.status_code == 409, again.text
        bad = api.post("/api/auth/signup", json={"email": "not-an-email", "password": "short", "name": "X"})
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["fields"]} == {"email", "password"}


def test_seeded_staff_can_log_in(stack: RunningStack) -> None:
    for role, password in stack.secrets.role_passwords.items():
        reply = login(stack, f"{role}@371os.local", password)
        assert reply.status_code == 200, f"{role}: {reply.text}"
        assert reply.json()["user"]["role"] == role


def test_api_key_is_shown_once_stored_hashed_and_verified_internally(stack: RunningStack) -> None:
    user, token = verified_user(stack, "keys")
    with platform(stack, token) as api:
        created = api.post("/api/auth/tokens", json={"name": "ci"})
        assert created.status_code == 201, created.text
        key = created.json()["token"]["key"]
        assert key.startswith("lg_") and len(key) > 30
        listed = api.get("/api/auth/tokens").json()["tokens"]
    assert [t["name"] for t in listed] == ["ci"]
    assert key not in str(listed), "the key is shown only once"

    rows = query_platform_db(stack, "SELECT key_hash FROM platform_api_keys WHERE user_id = :u", u=user["id"])
    assert [r[0] for r in rows] == [hashlib.sha256(key.encode()).hexdigest()]

    internal = {"X-LG-Internal": stack.secrets.internal_token}
    with platform(stack) as api:
        answer = api.post("/internal/api-keys/verify", json={"key": key}, headers=internal)
        assert answer.status_code == 200, answer.text
        assert {k: answer.json()[k] for k in ("user_id", "role", "email")} == {
            "user_id": user["id"],
            "role": "member",
            "email": user["email"],
        }
        assert api.post("/internal/api-keys/verify", json={"key": key}).status_code == 401
        wrong = api.post("/internal/api-keys/verify", json={"key": key}, headers={"X-LG-Internal": "guess"})
        assert wrong.status_code == 401
        unknown = api.post("/internal/api-keys/verify", json={"key": "lg_" + "x" * 40}, headers=internal)
        assert unknown.status_code == 404
        admin = api.post("/internal/api-keys/verify", json={"key": stack.secrets.admin_api_key}, headers=internal)
        assert admin.status_code == 200 and admin.json()["role"] == "admin"

    # End to end: the gateway accepts the key and the platform knows who it belongs to.
    through_gateway = httpx.get(f"{stack.gateway}/api/auth/me", headers={"X-API-Key": key}, timeout=15)
    assert through_gateway.status_code == 200, through_gateway.text
    assert through_gateway.json()["user"]["id"] == user["id"]


def test_role_change_is_admin_only(stack: RunningStack) -> None:
    user, token = verified_user(stack, "promote")
    path = f"/api/auth/users/{user['id']}/role"
    with platform(stack, token) as api:
        assert api.post(path, json={"role": "cfo"}).status_code == 403
        assert api.get("/api/auth/users/stats").status_code == 403
    with platform(stack) as api:
        assert api.post(path, json={"role": "cfo"}).status_code == 401
    with platform(stack, stack.token("admin")) as api:
        changed = api.post(path, json={"role": "cfo"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["user"]["role"] == "cfo"
        assert api.post(path, json={"role": "emperor"}).status_code == 422
        assert api.post("/api/auth/users/no-such-user/role", json={"role": "cfo"}).status_code == 404
        stats = api.get("/api/auth/users/stats").json()
    assert stats["total"] >= stats["verified"] >= 5  # four staff accounts and this user
    assert stats["by_role"]["cfo"] >= 2
    assert login(stack, user["email"], PASSWORD).json()["user"]["role"] == "cfo"


def test_mutating_routes_need_a_caller(stack: RunningStack) -> None:
    with platform(stack) as api:
        for path, body in (
            ("/api/auth/tokens", {"name": "x"}),
            ("/api/social/integrations", {"provider": "postiz", "apiKey": "sandbox_whatever"}),
            ("/api/social/posts", {"content": "hi", "platforms": ["x"]}),
            ("/api/feedback", {"tester": "t", "rating": 5}),
        ):
            assert api.post(path, json=body).status_code == 401, path


# -- social ---------------------------------------------------------------------------------------------


def test_integration_key_is_encrypted_at_rest(stack: RunningStack) -> None:
    user, token = verified_user(stack, "social")
    secret = "sandbox_" + uuid.uuid4().hex
    with platform(stack, token) as api:
        reply = api.post("/api/social/integrations", json={"provider": "postiz", "apiKey": secret})
        assert reply.status_code == 201, reply.text
        assert secret not in reply.text, "the key is never echoed"
        assert reply.json()["integration"]["apiKey"].endswith(secret[-4:])
        assert secret not in api.get("/api/social/integrations").text

    ((stored, fmt),) = query_platform_db(
        stack, "SELECT secret, secret_format FROM platform_integrations WHERE user_id = :u", u=user["id"]
    )
    assert fmt == "fernet" and secret not in stored
    assert Fernet(stack.secrets.fernet_key.encode()).decrypt(stored.encode()).decode() == secret
    for path in sqlite_files(stack):
        assert secret.encode() not in path.read_bytes(), f"{path.name} holds the key in plain text"


@pytest.mark.slow
def test_plaintext_keys_fault_stores_the_key_readably(make_stack: Any) -> None:
    faulty: RunningStack = make_stack(faults=["plaintext-keys"])
    secret = "sandbox_" + uuid.uuid4().hex
    with platform(faulty, faulty.token("member", "plain-user")) as api:
        assert api.post("/api/social/integrations", json={"provider": "postiz", "apiKey": secret}).status_code == 201
    ((stored, fmt),) = query_platform_db(
        faulty, "SELECT secret, secret_format FROM platform_integrations WHERE user_id = 'plain-user'"
    )
    assert (stored, fmt) == (secret, "plain")


def test_social_post_is_published_in_the_sandbox(stack: RunningStack) -> None:
    user_id = f"poster-{uuid.uuid4().hex[:8]}"
    with platform(stack, stack.token("member", user_id)) as api:
        reply = api.post(
            "/api/social/posts", json={"content": "Launch day for 371OS", "platforms": ["twitter", "linkedin"]}
        )
        assert reply.status_code == 201, reply.text
        post = reply.json()["post"]
        assert (post["status"], post["keySource"]) == ("published", "default")
        assert [p["id"] for p in api.get("/api/social/posts").json()["posts"]] == [post["id"]]
        relayed = api.get(f"/api/social/posts/{post['id']}/metrics")
        assert relayed.status_code == 200, relayed.text

    with postiz(stack, stack.secrets.postiz_api_key) as sandbox:
        listed = {p["id"]: p for p in sandbox.get("/posts").json()["posts"]}
        direct = sandbox.get(f"/posts/{post['postizId']}/metrics").json()
    assert listed[post["postizId"]]["status"] == "published"
    assert listed[post["postizId"]]["content"] == "Launch day for 371OS"
    assert relayed.json()["metrics"] == direct["metrics"]
    assert {m["platform"] for m in direct["metrics"]} == {"twitter", "linkedin"}
    assert all(m["impressions"] > 0 for m in direct["metrics"])

    with platform(stack, stack.token("member", "someone-else")) as api:
        assert api.get(f"/api/social/posts/{post['id']}/metrics").status_code == 404


def test_social_post_with_a_wrong_key_names_the_upstream_status(stack: RunningStack) -> None:
    with platform(stack, stack.token("member", f"wrongkey-{uuid.uuid4().hex[:8]}")) as api:
        api.post("/api/social/integrations", json={"provider": "postiz", "apiKey": "sandbox_wrong_key_0000"})
        reply = api.post("/api/social/posts", json={"content": "will fail", "platforms": ["twitter"]})
        assert reply.status_code == 502
        assert "401" in reply.json()["error"]
        (post,) = api.get("/api/social/posts").json()["posts"]
    assert post["status"] == "failed"


def test_social_post_validates_its_body(stack: RunningStack) -> None:
    with platform(stack, stack.token("member")) as api:
        reply = api.post("/api/social/posts", json={"content": "x" * 2001, "platforms": []})
    assert reply.status_code == 422
    assert {f["field"] for f in reply.json()["fields"]} == {"content", "platforms"}


def test_sandbox_refuses_a_wrong_or_missing_key(stack: RunningStack) -> None:
    right = stack.secrets.postiz_api_key
    for auth in (None, "Bearer sandbox_not_the_key", f"Basic {right}", f"Bearer {right}x"):
        headers = {"Authorization": auth} if auth else {}
        with httpx.Client(base_url=stack.url("postiz"), headers=headers, timeout=15) as sandbox:
            assert sandbox.get("/posts").status_code == 401, auth
            assert sandbox.post("/posts", json={"content": "x"}).status_code == 401
            assert sandbox.post("/posts/publish", json={"id": "pz_1"}).status_code == 401
            assert sandbox.get("/posts/pz_1/metrics").status_code == 401


def test_sandbox_speaks_both_post_shapes(stack: RunningStack) -> None:
    with postiz(stack, stack.secrets.postiz_api_key) as sandbox:
        # The 371OS plugin publishes in one call with `text` and `platforms`.
        one_call = sandbox.post("/posts/publish", json={"text": "plugin post", "platforms": ["twitter"]})
        assert one_call.status_code == 200 and one_call.json()["status"] == "published"
        draft = sandbox.post("/posts", json={"content": "draft", "integrations": [{"id": "mastodon"}]})
        assert draft.status_code == 201 and draft.json()["status"] == "draft"
        metrics = sandbox.get(f"/posts/{draft.json()['id']}/metrics").json()
        assert metrics["totals"]["impressions"] == 0, "nobody has seen a draft"
        assert sandbox.post("/posts/publish", json={"id": "pz_missing"}).status_code == 404
        assert sandbox.post("/posts", json={"platforms": ["x"]}).status_code == 422


# -- feedback -------------------------------------------------------------------------------------------


def test_feedback_summary(stack: RunningStack) -> None:
    scenario = f"beta-{uuid.uuid4().hex[:8]}"
    answers: list[dict[str, Any]] = [
        {"tester": "t1", "rating": 5},
        {"tester": "t2", "rating": 4},
        {"tester": "t3", "rating": 2},
        {"tester": "t4", "positive": True},
        {"tester": "t5", "positive": False, "rating": 5, "comment": "pretty, but it lost my draft"},
    ]
    with platform(stack, stack.token("member", "uat-desk")) as api:
        for answer in answers:
            reply = api.post("/api/feedback", json={**answer, "scenario": scenario})
            assert reply.status_code == 201, reply.text
        missing = api.post("/api/feedback", json={"tester": "t6", "scenario": scenario})
        assert missing.status_code == 422 and missing.json()["fields"][0]["field"] == "rating"
        assert api.post("/api/feedback", json={"tester": "t6", "rating": 6}).status_code == 422
        assert api.get("/api/feedback").status_code == 403
    with platform(stack, stack.token("admin")) as api:
        body = api.get("/api/feedback", params={"scenario": scenario}).json()
    assert body["summary"] == {"responses": 5, "positive": 3, "positive_share": 0.6, "testers": 5}
    assert [f["positive"] for f in body["feedback"]] == [True, True, False, True, False]


# -- durability -----------------------------------------------------------------------------------------


def test_kill_9_loses_nothing_committed(stack: RunningStack) -> None:
    user, token = verified_user(stack, "durable")
    tester = f"durable-{uuid.uuid4().hex[:8]}"
    with platform(stack, token) as api:
        key = stack.secrets.postiz_api_key
        assert api.post("/api/social/integrations", json={"provider": "postiz", "apiKey": key}).status_code == 201
        assert api.post("/api/feedback", json={"tester": tester, "rating": 5}).status_code == 201

    stack.stack.kill("platform")  # SIGKILL: no shutdown hook runs
    stack.stack.start_service("platform")

    assert login(stack, user["email"], PASSWORD).status_code == 200
    with platform(stack, token) as api:
        reply = api.post("/api/social/posts", json={"content": "after restart", "platforms": ["x"]})
        assert reply.status_code == 201, reply.text
        assert reply.json()["post"]["keySource"] == "integration", "the sealed key survived the restart"
    with platform(stack, stack.token("admin")) as api:
        assert any(f["tester"] == tester for f in api.get("/api/feedback").json()["feedback"])
