"""Who is calling: a user token (JWT) or the gateway's signed forward, and the role checks built on it.

The gateway authenticates (tokens, API keys) and forwards the caller in headers guarded by the internal
token; services decide what the caller may do. Direct calls to a service may carry a user JWT instead.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import jwt
from fastapi import HTTPException, Request

ROLES = ("member", "ceo", "cfo", "clo", "admin", "service")
INTERNAL_HEADER = "X-LG-Internal"
USER_HEADER = "X-LG-User"
ROLE_HEADER = "X-LG-Role"
EMAIL_HEADER = "X-LG-Email"
TOKEN_TTL_S = 12 * 3600


@dataclass(frozen=True)
class Caller:
    user_id: str
    role: str
    email: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "service")


def issue_token(secret: str, user_id: str, role: str, email: str, ttl_s: int = TOKEN_TTL_S) -> str:
    now = int(time.time())
    payload = {"sub": user_id, "role": role, "email": email, "iat": now, "exp": now + ttl_s}
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> Caller | None:
    try:
        data = jwt.decode(token, secret, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    if data.get("role") not in ROLES:
        return None
    return Caller(str(data["sub"]), str(data["role"]), str(data.get("email", "")))


def internal_headers(internal_token: str, caller: Caller) -> dict[str, str]:
    return {
        INTERNAL_HEADER: internal_token,
        USER_HEADER: caller.user_id,
        ROLE_HEADER: caller.role,
        EMAIL_HEADER: caller.email,
    }


def caller_from_request(request: Request) -> Caller | None:
    """The authenticated caller, or None for an anonymous one. A bad token is a 401, not anonymity."""
    config = request.app.state.config
    forwarded = request.headers.get(INTERNAL_HEADER)
    if forwarded is not None:
        if not hmac.compare_digest(forwarded, config.secrets.internal_token):
            raise HTTPException(401, "invalid internal credentials")
        user, role = request.headers.get(USER_HEADER), request.headers.get(ROLE_HEADER)
        if user and role in ROLES:
            return Caller(user, role, request.headers.get(EMAIL_HEADER, ""))
        return None
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        caller = decode_token(config.secrets.jwt_secret, auth[7:].strip())
        if caller is None:
            raise HTTPException(401, "invalid or expired token")
        return caller
    return None


async def optional_caller(request: Request) -> Caller | None:
    return caller_from_request(request)


async def require_caller(request: Request) -> Caller:
    caller = caller_from_request(request)
    if caller is None:
        if request.app.state.open_routes:
            # The open-route fault: this service's mutating routes accept anyone.
            return Caller("anonymous", "admin")
        raise HTTPException(401, "authentication required: send a bearer token or X-API-Key")
    return caller


def require_role(caller: Caller, *roles: str) -> None:
    if caller.role not in roles and not caller.is_admin:
        raise HTTPException(403, f"role {caller.role!r} may not do this; needs one of {', '.join(roles)}")
