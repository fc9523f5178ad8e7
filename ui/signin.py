"""Sign-in to the dashboard that holds under attack, and sessions that end.

Gradio keeps the sign-in form, its cookie and its `tokens` table; csagent decides:
- **who may try, and how fast.** A password check (argon2, 64 MiB each) runs at most
  `HASH_SLOTS` at a time and at most `MAX_WAITING` wait for a slot (beyond: HTTP 429, nothing
  allocated), so a flood of sign-ins cannot exhaust memory. An address's failed attempts beyond
  `FREE_FAILURES` are served one at a time after an exponential pause (backoff, never a lock:
  the right password still works, and the owner signing in from elsewhere is not slowed).
- **what a failure tells.** Every refusal (unknown name, wrong password, slowed address) is
  answered no sooner than `ANSWER_FLOOR_S` after the check began: no timing tells who exists.
- **how long a session lives.** Idle and absolute lifetimes; a session ends at logout, when its
  account's password changes, and when the account is removed (read from the database at most
  every `RECHECK_S`, so `csagent users passwd` in another process ends it too).
- **who may call the dashboard.** The session cookie is `SameSite=Lax` (and `Secure` behind TLS);
  CORS is closed but to `CSAGENT_CORS_ALLOW_ORIGINS`; a state-changing request from another
  origin is refused with 403.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
from sqlalchemy.orm import Session, sessionmaker

from store.users import authenticate, password_hash_of

HASH_SLOTS = 2
MAX_WAITING = 32
FREE_FAILURES = 5  # failed attempts an address makes at full speed within FAILURE_WINDOW_S
FAILURE_WINDOW_S = 900.0
BACKOFF_BASE_S = 0.5  # then 0.5 s, 1 s, 2 s... before each further attempt from that address
BACKOFF_MAX_S = 30.0
ANSWER_FLOOR_S = 0.5
MAX_ADDRESSES = 10_000  # addresses remembered (oldest forgotten first)
MAX_SESSIONS = 10_000
RECHECK_S = 2.0  # how stale "the password has not changed" may be for an open session

# The client address of the sign-in being answered (set by DashboardGuard, read by the check).
CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("csagent_client", default="?")


class SignInThrottle:
    """Failed sign-ins per client address, and the pause before that address's next attempt."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._turns: dict[str, asyncio.Lock] = {}
        self.waiting = 0

    def _recent(self, address: str) -> list[float]:
        now = self._clock()
        recent = [t for t in self._failures.get(address, []) if now - t < FAILURE_WINDOW_S]
        if recent:
            self._failures[address] = recent
            self._failures.move_to_end(address)
        else:
            self._failures.pop(address, None)
        return recent

    def slowed(self, address: str) -> bool:
        """Whether this address's attempts are served one at a time, after a pause."""
        return len(self._recent(address)) >= FREE_FAILURES

    def pause(self, address: str) -> float:
        """Seconds this address waits before its next attempt is checked."""
        recent = self._recent(address)
        extra = len(recent) - FREE_FAILURES
        if extra < 0:
            return 0.0
        due = recent[-1] + min(BACKOFF_BASE_S * 2**extra, BACKOFF_MAX_S)
        return max(0.0, due - self._clock())

    def failed(self, address: str) -> None:
        self._failures.setdefault(address, []).append(self._clock())
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def turn(self, address: str) -> asyncio.Lock:
        """One attempt at a time per slowed address (concurrent guesses do not share a pause)."""
        if address not in self._turns:
            if len(self._turns) > MAX_ADDRESSES:
                self._turns = {a: lock for a, lock in self._turns.items() if lock.locked()}
            self._turns[address] = asyncio.Lock()
        return self._turns[address]


def check_login(sessions: sessionmaker[Session], throttle: SignInThrottle | None = None) -> Any:
    """Gradio's sign-in check: argon2 against the accounts table, off the event loop, bounded
    and slowed as the module says."""
    throttle = throttle or SignInThrottle()
    slots = anyio.CapacityLimiter(HASH_SLOTS)

    def verify(username: str, password: str) -> bool:
        with sessions.begin() as session:
            return authenticate(session, username.strip().lower(), password) is not None

    async def attempt(username: str, password: str, address: str) -> bool:
        started = time.monotonic()
        ok = await anyio.to_thread.run_sync(verify, username, password, limiter=slots)
        if ok:
            throttle.succeeded(address)
            return True
        throttle.failed(address)
        await asyncio.sleep(max(0.0, ANSWER_FLOOR_S - (time.monotonic() - started)))
        return False

    async def login(username: str, password: str) -> bool:
        address = CLIENT.get()
        if throttle.slowed(address):
            # One attempt at a time from a slowed address, each after its pause (computed once
            # the previous attempt has ended): a burst cannot share one pause.
            async with throttle.turn(address):
                await asyncio.sleep(throttle.pause(address))
                return await attempt(username, password, address)
        return await attempt(username, password, address)

    login.throttle = throttle  # type: ignore[attr-defined]
    return login


@dataclass
class _Session:
    username: str
    started: float
    seen: float
    checked: float  # when the account's password was last compared
    password: str  # a digest of the account's password hash when the session began


def _digest(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()


class SessionTokens(MutableMapping[str, str]):
    """Gradio's `app.tokens` (token -> user name) with lifetimes and revocation. Gradio asks
    `get(token)` for who is signed in (checked here); indexing and iteration (its logout) are
    plain lookups that neither extend nor end a session."""

    def __init__(
        self, sessions: sessionmaker[Session], idle_s: float, max_s: float,
        recheck_s: float = RECHECK_S, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._db = sessions
        self._idle_s, self._max_s, self._recheck_s = idle_s, max_s, recheck_s
        self._clock = clock
        self._live: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    def _password(self, username: str) -> str | None:
        with self._db() as session:
            found = password_hash_of(session, username)
        return _digest(found) if found else None

    def __setitem__(self, token: str, username: str) -> None:
        name = username.strip().lower()  # as accounts are stored (Gradio keeps what was typed)
        now = self._clock()
        entry = _Session(name, now, now, now, self._password(name) or "")
        with self._lock:
            self._live[token] = entry
            while len(self._live) > MAX_SESSIONS:
                self._live.popitem(last=False)

    def get(self, token: Any, default: Any = None) -> Any:
        """The signed-in user of `token`, or `default` when its session has ended: idle or too
        old, or its account's password changed or the account is gone (read from the database
        at most every `recheck_s`, so a request rarely waits on it)."""
        with self._lock:
            entry = self._live.get(token)
        if entry is None:
            return default
        now = self._clock()
        ended = now - entry.seen > self._idle_s or now - entry.started > self._max_s
        if not ended and now - entry.checked >= self._recheck_s:
            ended = self._password(entry.username) != entry.password
            entry.checked = now
        if ended:
            with self._lock:
                self._live.pop(token, None)
            return default
        entry.seen = now
        return entry.username

    def __getitem__(self, token: str) -> str:
        with self._lock:
            return self._live[token].username

    def __delitem__(self, token: str) -> None:
        with self._lock:
            del self._live[token]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._live))

    def __len__(self) -> int:
        return len(self._live)


def _origin_of(value: str) -> str:
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}".lower()


class DashboardGuard:
    """ASGI middleware in front of the dashboard (`prefix`): the Origin check, the sign-in's
    client address and 429 when too many wait, and the session cookie's SameSite/Secure."""

    def __init__(
        self, app: Any, prefix: str, allowed_origins: list[str], throttle: SignInThrottle
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.allowed = {_origin_of(o) for o in allowed_origins}
        self.throttle = throttle

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == self.prefix or path.startswith(self.prefix + "/")
        ):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        https = scope.get("scheme") == "https"
        origin = headers.get("origin")
        if origin and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            own = _origin_of(f"{'https' if https else 'http'}://{headers.get('host', '')}")
            if _origin_of(origin) != own and _origin_of(origin) not in self.allowed:
                detail = (
                    f"requests from {origin} are not accepted (this server is {own}: behind a "
                    "proxy, pass the Host header on; another site of yours goes in "
                    "CSAGENT_CORS_ALLOW_ORIGINS)"
                )
                await _json(send, 403, {"detail": detail})
                return
        if path.rstrip("/") != self.prefix + "/login":
            await self.app(scope, receive, send)
            return
        if self.throttle.waiting >= MAX_WAITING:
            await _json(
                send, 429, {"detail": "too many sign-ins at once: try again in a few seconds"},
                [(b"retry-after", b"5")],
            )  # fmt: skip
            return
        client = scope.get("client")
        CLIENT.set(client[0] if client else "?")

        async def send_cookie(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, _cookie(v, https) if k.lower() == b"set-cookie" else v)
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        self.throttle.waiting += 1  # from arrival to answer: a burst is counted before parsing
        try:
            await self.app(scope, receive, send_cookie)
        finally:
            self.throttle.waiting -= 1


def _cookie(value: bytes, https: bool) -> bytes:
    """A session cookie as csagent sets it: SameSite=Lax (Gradio says None), Secure behind TLS
    or where Gradio asked for it."""
    parts = [p.strip() for p in value.decode("latin-1").split(";")]
    secure = https or any(p.lower() == "secure" for p in parts[1:])
    kept = [p for p in parts if p.lower().split("=")[0] not in ("samesite", "secure")]
    kept += ["SameSite=Lax", *(["Secure"] if secure else [])]
    return "; ".join(kept).encode("latin-1")


async def _json(
    send: Any, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
