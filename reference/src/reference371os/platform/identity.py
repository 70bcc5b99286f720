"""Identity: signup with email verification, login (JWT), API keys, roles, and the seeded staff accounts."""

from __future__ import annotations

import hmac
import re
import uuid
from datetime import UTC, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from reference371os.config import ServiceConfig
from reference371os.kit.auth import INTERNAL_HEADER, Caller, issue_token, require_caller, require_role
from reference371os.kit.db import Database
from reference371os.platform.crypto import (
    check_password,
    hash_password,
    new_api_key,
    new_verification_token,
    sha256_hex,
)
from reference371os.platform.mailer import Mailer, queue_mail
from reference371os.platform.models import Activity, ApiKey, User, now

VERIFICATION_HEADER = "X-371OS-Verification-Token"
VERIFICATION_TTL = timedelta(hours=48)
SEED_ROLES = ("admin", "ceo", "cfo", "clo")
ASSIGNABLE_ROLES = Literal["member", "ceo", "cfo", "clo", "admin"]
BAD_LOGIN = "invalid email or password"
# Deliberately loose: real validation is that the verification mail arrives.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalise_email(value: str) -> str:
    value = value.strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 320:
        raise ValueError("not an email address")
    return value


class SignupBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(min_length=8, max_length=256)
    name: str = Field(min_length=1, max_length=200)

    _email = field_validator("email")(normalise_email)


class LoginBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(min_length=1, max_length=256)


class VerifyBody(BaseModel):
    token: str = Field(min_length=10, max_length=200)


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class RoleBody(BaseModel):
    role: ASSIGNABLE_ROLES


class KeyBody(BaseModel):
    key: str = Field(min_length=1, max_length=200)


def verification_mail(name: str, token: str) -> tuple[str, str]:
    subject = "Verify your 371OS account"
    body = (
        f"Hello {name},\n\n"
        "welcome to 371OS. Confirm your email address to activate your account:\n\n"
        f'  POST /api/auth/verify  {{"token": "{token}"}}\n\n'
        f"Verification token: {token}\n\n"
        "The token is valid for 48 hours. If you did not sign up, ignore this mail.\n"
    )
    return subject, body


def seed_staff(db: Database, config: ServiceConfig) -> None:
    """Creates the staff accounts and the admin API key once; later starts leave them as they are."""
    for role in SEED_ROLES:
        email = f"{role}@371os.local"
        with db.session() as s:
            if s.scalar(select(User.id).where(User.email == email)) is not None:
                continue
        try:
            with db.session() as s:
                s.add(
                    User(
                        id=str(uuid.uuid4()),
                        email=email,
                        name=role.upper() if role != "admin" else "Administrator",
                        password_hash=hash_password(config.secrets.role_passwords[role]),
                        role=role,
                        verified=True,
                        verified_at=now(),
                        seeded=True,
                        created_at=now(),
                    )
                )
        except IntegrityError:
            pass  # another process seeded it first
    key_hash = sha256_hex(config.secrets.admin_api_key)
    with db.session() as s:
        if s.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash)) is not None:
            return
        admin_id = s.scalar(select(User.id).where(User.email == "admin@371os.local"))
    try:
        with db.session() as s:
            s.add(
                ApiKey(
                    id=str(uuid.uuid4()),
                    user_id=admin_id,
                    name="stack admin key",
                    key_hash=key_hash,
                    prefix=config.secrets.admin_api_key[:8],
                    created_at=now(),
                )
            )
    except IntegrityError:
        pass


def build_identity_router(config: ServiceConfig, db: Database, mailer: Mailer) -> APIRouter:
    router = APIRouter()
    # Unknown emails still cost one scrypt, so response time does not tell which emails exist.
    dummy_hash = hash_password("not-a-real-password")

    def load_user(caller: Caller) -> User:
        with db.session() as s:
            user = s.get(User, caller.user_id)
        if user is None:
            raise HTTPException(404, "no user account behind this caller")
        return user

    @router.post("/api/auth/signup", status_code=201)
    def signup(body: SignupBody) -> dict[str, Any]:
        token = new_verification_token()
        subject, text = verification_mail(body.name, token)
        password_hash = hash_password(body.password)
        try:
            with db.session() as s:
                if s.scalar(select(User.id).where(User.email == body.email)) is not None:
                    raise HTTPException(409, f"an account for {body.email} already exists")
                user = User(
                    id=str(uuid.uuid4()),
                    email=body.email,
                    name=body.name,
                    password_hash=password_hash,
                    role="member",
                    verified=False,
                    verification_hash=sha256_hex(token),
                    verification_expires_at=now() + VERIFICATION_TTL,
                    seeded=False,
                    created_at=now(),
                )
                s.add(user)
                s.flush()
                mail = queue_mail(s, body.email, subject, text, {VERIFICATION_HEADER: token})
                mail_id = mail.id
        except IntegrityError as exc:  # a concurrent signup with the same email won the race
            raise HTTPException(409, f"an account for {body.email} already exists") from exc
        sent = mailer.deliver(mail_id, claimed=True)
        return {
            "success": True,
            "user": user.as_dict(),
            "verification": {"email": body.email, "status": "sent" if sent else "queued"},
        }

    @router.post("/api/auth/verify")
    def verify(body: VerifyBody) -> dict[str, Any]:
        with db.session() as s:
            user = s.scalar(select(User).where(User.verification_hash == sha256_hex(body.token)))
            if user is None:
                raise HTTPException(400, "invalid or expired verification token")
            if user.verified:
                return {"success": True, "user": user.as_dict(), "already_verified": True}
            expires = user.verification_expires_at
            if expires is not None and expires.replace(tzinfo=expires.tzinfo or UTC) < now():
                raise HTTPException(400, "invalid or expired verification token")
            user.verified = True
            user.verified_at = now()
            return {"success": True, "user": user.as_dict(), "already_verified": False}

    @router.post("/api/auth/login")
    def login(body: LoginBody) -> dict[str, Any]:
        email = body.email.strip().lower()
        with db.session() as s:
            user = s.scalar(select(User).where(User.email == email))
        if user is None:
            check_password(body.password, dummy_hash)
            raise HTTPException(401, BAD_LOGIN)
        if not check_password(body.password, user.password_hash):
            raise HTTPException(401, BAD_LOGIN)
        if not user.verified:
            raise HTTPException(403, "email address not verified yet: follow the link in the verification mail")
        token = issue_token(config.secrets.jwt_secret, user.id, user.role, user.email)
        try:
            with db.session() as s:
                s.merge(Activity(user_id=user.id, last_login_at=now()))
        except IntegrityError:
            pass  # the same user's concurrent login recorded it a moment ago
        return {"success": True, "token": token, "user": user.as_dict()}

    @router.get("/api/auth/me")
    def me(caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        return {"success": True, "user": load_user(caller).as_dict()}

    @router.delete("/api/auth/account")
    def delete_account(caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        """A user closes their own account: it and its API keys are gone; what it created elsewhere stays."""
        user = load_user(caller)
        with db.session() as s:
            s.execute(delete(ApiKey).where(ApiKey.user_id == user.id))
            s.execute(delete(Activity).where(Activity.user_id == user.id))
            s.execute(delete(User).where(User.id == user.id))
        return {"success": True, "deleted": user.email}

    @router.post("/api/auth/tokens", status_code=201)
    def create_api_key(body: TokenBody, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        user = load_user(caller)
        key = new_api_key()
        row = ApiKey(
            id=str(uuid.uuid4()),
            user_id=user.id,
            name=body.name,
            key_hash=sha256_hex(key),
            prefix=key[:8],
            created_at=now(),
        )
        with db.session() as s:
            s.add(row)
        # The only time the key is shown: the database keeps its sha256.
        return {"success": True, "token": {**row.as_dict(), "key": key}}

    @router.get("/api/auth/tokens")
    def list_api_keys(caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        with db.session() as s:
            rows = s.scalars(select(ApiKey).where(ApiKey.user_id == caller.user_id).order_by(ApiKey.created_at)).all()
        return {"success": True, "tokens": [r.as_dict() for r in rows]}

    @router.delete("/api/auth/tokens/{key_id}")
    def revoke_api_key(key_id: str, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        with db.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None or (row.user_id != caller.user_id and not caller.is_admin):
                raise HTTPException(404, f"API key {key_id} not found")
            if row.revoked_at is None:
                row.revoked_at = now()
            return {"success": True, "token": row.as_dict()}

    @router.get("/api/auth/users/stats")
    def user_stats(caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        require_role(caller, "admin")
        with db.session() as s:
            total = s.scalar(select(func.count(User.id))) or 0
            verified = s.scalar(select(func.count(User.id)).where(User.verified.is_(True))) or 0
            seeded = s.scalar(select(func.count(User.id)).where(User.seeded.is_(True))) or 0
            by_role = dict(s.execute(select(User.role, func.count(User.id)).group_by(User.role)).all())
            onboarded = s.scalar(select(func.count(User.id)).where(User.verified.is_(True), User.seeded.is_(False)))
            weekly = s.scalar(select(func.count(Activity.user_id)).join(User, User.id == Activity.user_id)
                              .where(User.seeded.is_(False), Activity.last_login_at >= now() - timedelta(days=7)))
        return {
            "success": True,
            "total": total,
            "verified": verified,
            "seeded": seeded,
            "signups": total - seeded,
            "by_role": by_role,
            "onboarded": onboarded or 0,  # signed up and verified their address
            "weekly_active": weekly or 0,  # of those, logged in during the last seven days
        }

    @router.post("/api/auth/users/{user_id}/role")
    def change_role(user_id: str, body: RoleBody, caller: Caller = Depends(require_caller)) -> dict[str, Any]:
        require_role(caller, "admin")
        with db.session() as s:
            user = s.get(User, user_id)
            if user is None:
                raise HTTPException(404, f"user {user_id} not found")
            if user.role == "admin" and body.role != "admin":
                admins = s.scalar(select(func.count(User.id)).where(User.role == "admin")) or 0
                if admins <= 1:
                    raise HTTPException(409, "cannot demote the last admin")
            user.role = body.role
            return {"success": True, "user": user.as_dict()}

    def internal_only(internal: str | None = Header(None, alias=INTERNAL_HEADER)) -> None:
        # Only the gateway (holder of the internal token) may resolve keys. A dependency, so a wrong
        # token is a 401 before the body is even looked at.
        if internal is None or not hmac.compare_digest(internal, config.secrets.internal_token):
            raise HTTPException(401, "internal credentials required")

    @router.post("/internal/api-keys/verify", dependencies=[Depends(internal_only)])
    def verify_api_key(body: KeyBody) -> dict[str, Any]:
        with db.session() as s:
            row = s.execute(
                select(ApiKey, User)
                .join(User, User.id == ApiKey.user_id)
                .where(ApiKey.key_hash == sha256_hex(body.key))
            ).first()
        if row is None or row[0].revoked_at is not None:
            raise HTTPException(404, "unknown API key")
        key, user = row
        return {"success": True, "user_id": user.id, "role": user.role, "email": user.email, "key_id": key.id}

    return router
