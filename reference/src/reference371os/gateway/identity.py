"""Who is calling the gateway: a bearer JWT checked locally, or an API key the platform vouches for."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from reference371os.kit.auth import INTERNAL_HEADER, ROLES, Caller, decode_token

API_KEY_HEADER = "x-api-key"
VERIFY_PATH = "/internal/api-keys/verify"
KEY_CACHE_TTL_S = 60.0
KEY_CACHE_SIZE = 4096


class AuthError(Exception):
    """The caller sent credentials and they are wrong: a 401."""


class AuthUnavailableError(Exception):
    """The platform could not be asked about an API key: a 502/504, never a silent anonymity."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__("platform timed out" if timed_out else "platform unreachable")
        self.timed_out = timed_out


class TtlLru:
    """A bounded LRU of positive answers that expire, keyed by a digest (raw keys are not retained)."""

    def __init__(self, ttl_s: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Caller]] = OrderedDict()

    def get(self, key: str) -> Caller | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, caller = item
        if expires <= self._clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return caller

    def put(self, key: str, caller: Caller) -> None:
        self._items[key] = (self._clock() + self.ttl_s, caller)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def caller_from_verify_body(body: Any) -> Caller | None:
    """The caller in platform's answer `{"success": true, "user_id", "role", "email", "key_id"}`."""
    if not isinstance(body, dict) or body.get("success") is not True:
        return None
    user_id, role = body.get("user_id"), body.get("role")
    if not user_id or role not in ROLES:
        return None
    return Caller(str(user_id), str(role), str(body.get("email") or ""))


Verifier = Callable[[str], Awaitable[Caller | None]]


class Authenticator:
    def __init__(self, jwt_secret: str, verify_key: Verifier, cache: TtlLru | None = None) -> None:
        self._jwt_secret = jwt_secret
        self._verify_key = verify_key
        self._cache = cache or TtlLru(KEY_CACHE_TTL_S, KEY_CACHE_SIZE)
        # One platform call per key at a time: a burst of requests with a new key waits on the first.
        self._inflight: dict[str, asyncio.Task[Caller | None]] = {}

    async def authenticate(self, headers: Mapping[str, str]) -> Caller | None:
        """The caller, None when anonymous; raises AuthError for bad credentials."""
        auth = headers.get("authorization")
        if auth is not None:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError("unsupported authorization: send 'Authorization: Bearer <token>'")
            caller = decode_token(self._jwt_secret, token.strip())
            if caller is None:
                raise AuthError("invalid or expired token")
            return caller
        key = headers.get(API_KEY_HEADER)
        if key is not None:
            caller = await self._api_key_caller(key.strip())
            if caller is None:
                raise AuthError("invalid API key")
            return caller
        return None

    async def _api_key_caller(self, key: str) -> Caller | None:
        if not key:
            return None
        digest = hashlib.sha256(key.encode()).hexdigest()
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        task = self._inflight.get(digest)
        if task is None:
            task = asyncio.create_task(self._verify_key(key))
            self._inflight[digest] = task
            task.add_done_callback(lambda t: self._settled(digest, t))
        # shield: one waiter's cancellation (client went away) must not cancel the others' answer.
        caller = await asyncio.shield(task)
        if caller is not None:
            self._cache.put(digest, caller)
        return caller

    def _settled(self, digest: str, task: asyncio.Task[Caller | None]) -> None:
        self._inflight.pop(digest, None)
        if not task.cancelled():
            task.exception()  # marks a failure as seen even when every waiter has gone away


def platform_key_verifier(client: Callable[[], httpx.AsyncClient], platform_url: str, internal_token: str) -> Verifier:
    """Asks platform `POST /internal/api-keys/verify {key}`; 2xx with a caller is a yes, anything else a no."""
    url = platform_url + VERIFY_PATH
    headers = {INTERNAL_HEADER: internal_token}

    async def verify(key: str) -> Caller | None:
        try:
            reply = await client().post(url, json={"key": key}, headers=headers, timeout=5.0)
        except httpx.TimeoutException as exc:
            raise AuthUnavailableError(timed_out=True) from exc
        except httpx.TransportError as exc:
            raise AuthUnavailableError(timed_out=False) from exc
        if reply.status_code >= 500:
            raise AuthUnavailableError(timed_out=False)
        if not reply.is_success:
            return None
        try:
            return caller_from_verify_body(reply.json())
        except ValueError:
            return None

    return verify
