"""The dashboard's sign-in and sessions as an attacker would try them, on a served app: a flood of
sign-ins with made-up names, guesses at one account, another web origin, an old session after a
password change, logout and lifetimes."""

from __future__ import annotations

import resource
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import Simulator, free_port, serve
from pydantic import SecretStr

from store.db import session_scope
from store.settings import Settings
from store.users import add_user, remove_user, set_password
from ui.signin import ANSWER_FLOOR_S, BACKOFF_BASE_S, FREE_FAILURES, RECHECK_S

pytestmark = [pytest.mark.e2e]
OWNER = ("bea", "a long correct password")


@pytest.fixture
def web(db_url: str, mirakl_sim: Simulator) -> Iterator[str]:
    yield from _web(mirakl_sim)


def _web(sim: Simulator, **overrides: Any) -> Iterator[str]:
    from cli.web import create_web_app

    with session_scope() as session:
        add_user(session, *OWNER)
    settings = Settings(**{
        "api_key": SecretStr("k"), "reviewer_api_key": SecretStr("rk"),
        "internal_api_key": SecretStr("ik"), "processing": "store", "mirakl_base_url": sim.api,
        **overrides,
    })  # fmt: skip
    app = create_web_app(settings, queue_worker=False, poll=False)
    with serve(app, lifespan="on", port=free_port()) as url:
        yield url


def sign_in(
    url: str, username: str, password: str, address: str = "10.0.0.9", **headers: str
) -> httpx.Response:
    # Loopback is a trusted proxy for uvicorn: X-Forwarded-For is the client's address.
    return httpx.post(
        f"{url}/ui/login", data={"username": username, "password": password},
        headers={"X-Forwarded-For": address, **headers}, timeout=120,
    )  # fmt: skip


def signed_in(url: str, cookies: httpx.Cookies) -> bool:
    answer = httpx.get(f"{url}/ui/gradio_api/login_check", cookies=cookies)
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def test_a_flood_of_sign_ins_stays_within_memory_and_the_owner_still_signs_in(web: str) -> None:
    """40 sign-ins at once with made-up names (each password check is argon2, 64 MiB): the
    checks run a few at a time, and the owner's sign-in right after succeeds."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    answers: list[int] = []

    def attacker(n: int) -> None:
        answers.append(sign_in(web, f"nobody-{n}", "guess", address=f"10.1.{n}.1").status_code)

    flood = [threading.Thread(target=attacker, args=(n,)) for n in range(40)]
    for t in flood:
        t.start()
    for t in flood:
        t.join()
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    print(f"40 concurrent sign-ins: peak RSS grew {grew:.0f} MB; answers {sorted(set(answers))}")
    assert set(answers) <= {400, 429} and len(answers) == 40
    assert grew < 600, grew  # it grew by about 2 GB with a check per request
    assert sign_in(web, *OWNER).status_code == 200


def test_guesses_slow_the_guessing_address_but_never_lock_the_owner_out(web: str) -> None:
    attacker = "10.2.0.1"
    times = []
    for _ in range(FREE_FAILURES + 2):
        started = time.perf_counter()
        assert sign_in(web, OWNER[0], "wrong", address=attacker).status_code == 400
        times.append(time.perf_counter() - started)
    # The attempts beyond the free ones waited (backoff), the first ones did not.
    assert max(times[:FREE_FAILURES]) < min(times[FREE_FAILURES:])
    # The owner, from their own address, signs in at once; from the attacker's, after a pause.
    assert sign_in(web, *OWNER, address="10.2.0.2").status_code == 200
    assert sign_in(web, *OWNER, address=attacker).status_code == 200


def test_unknown_names_and_wrong_passwords_take_the_same_time(web: str) -> None:
    def median(name: str, address: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            assert sign_in(web, name, "wrong", address=address).status_code == 400
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    unknown, wrong = median("nobody", "10.3.0.1"), median(OWNER[0], "10.3.0.2")
    print(f"unknown name {unknown:.3f} s, wrong password {wrong:.3f} s")
    assert min(unknown, wrong) >= ANSWER_FLOOR_S
    assert abs(unknown - wrong) < 0.2


def test_the_session_cookie_is_lax_and_another_origin_is_refused(web: str) -> None:
    answer = sign_in(web, *OWNER)
    cookies = answer.headers.get_list("set-cookie")
    assert cookies and all("SameSite=Lax" in c and "SameSite=None" not in c for c in cookies)
    evil = {"Origin": "https://evil.example", "Cookie": "; ".join(
        f"{k}={v}" for k, v in answer.cookies.items())}  # fmt: skip
    # A state-changing request from another site is refused...
    post = httpx.post(f"{web}/ui/gradio_api/queue/join", json={}, headers=evil)
    assert post.status_code == 403 and "evil.example" in post.json()["detail"]
    # ...and a read does not get CORS headers that let that site see the answer.
    read = httpx.get(f"{web}/ui/config", headers=evil)
    assert "access-control-allow-origin" not in read.headers
    preflight = httpx.options(
        f"{web}/ui/gradio_api/queue/join",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers.get("access-control-allow-origin") != "https://evil.example"
    # The dashboard's own origin works.
    own = httpx.post(f"{web}/ui/gradio_api/queue/join", json={}, headers={**evil, "Origin": web})
    assert own.status_code != 403


def test_a_session_ends_at_a_password_change_removal_and_logout(web: str) -> None:
    first = sign_in(web, *OWNER).cookies
    second = sign_in(web, *OWNER).cookies
    assert signed_in(web, first) and signed_in(web, second)
    with session_scope() as session:
        set_password(session, OWNER[0], "a new long password")
    assert ended(web, first) and ended(web, second)

    third = sign_in(web, OWNER[0], "a new long password").cookies
    assert signed_in(web, third)
    httpx.get(f"{web}/ui/logout", cookies=third)
    assert not signed_in(web, third)

    fourth = sign_in(web, OWNER[0], "a new long password").cookies
    with session_scope() as session:
        remove_user(session, OWNER[0])
    assert ended(web, fourth)


def ended(url: str, cookies: httpx.Cookies) -> bool:
    """The session ends within the few seconds a session's account is re-read after."""
    deadline = time.monotonic() + RECHECK_S + 5
    while time.monotonic() < deadline:
        if not signed_in(url, cookies):
            return True
        time.sleep(0.2)
    return False


def test_a_name_typed_with_capitals_signs_in_and_logout_ends_only_what_it_should(
    web: str,
) -> None:
    cookies = sign_in(web, " BEA", OWNER[1]).cookies
    assert signed_in(web, cookies)  # accounts are lower case; the name may be typed otherwise
    other = sign_in(web, *OWNER).cookies
    httpx.get(f"{web}/ui/logout", cookies=cookies)  # ends every session of the account
    assert not signed_in(web, cookies) and not signed_in(web, other)
    assert httpx.get(f"{web}/ui/logout").status_code < 500  # signed out already: no error


def test_a_burst_from_a_slowed_address_is_served_one_at_a_time(web: str) -> None:
    attacker = "10.4.0.1"
    for _ in range(FREE_FAILURES):
        assert sign_in(web, OWNER[0], "wrong", address=attacker).status_code == 400
    time.sleep(BACKOFF_BASE_S * 2)  # the first pause has passed: a burst might share it
    burst = [
        threading.Thread(
            target=sign_in, args=(web, OWNER[0], "guess"), kwargs={"address": attacker}
        )
        for _ in range(3)
    ]
    started = time.perf_counter()
    for t in burst:
        t.start()
    for t in burst:
        t.join()
    took = time.perf_counter() - started
    # One at a time, each after its pause (then 1 s, then 2 s; about 4 s in all), not three
    # checks at once (about 0.5 s).
    print(f"3 guesses at once from a slowed address: {took:.1f} s")
    assert took > 2 * ANSWER_FLOOR_S + BACKOFF_BASE_S * 2 + BACKOFF_BASE_S * 4 - 0.5


def test_sessions_end_when_idle(db_url: str, mirakl_sim: Simulator) -> None:
    for url in _web(mirakl_sim, dashboard_session_idle_s=1.0):
        cookies = sign_in(url, *OWNER).cookies
        assert signed_in(url, cookies)
        time.sleep(1.5)
        assert not signed_in(url, cookies)


def test_behind_tls_both_session_cookies_are_secure() -> None:
    from ui.signin import _cookie

    unsecure = b"access-token-unsecure-x=t; HttpOnly; Path=/"
    secure = b"access-token-x=t; HttpOnly; Path=/; SameSite=none; Secure"
    assert _cookie(unsecure, https=True).endswith(b"SameSite=Lax; Secure")
    assert _cookie(secure, https=False).endswith(b"SameSite=Lax; Secure")
    assert _cookie(unsecure, https=False).endswith(b"SameSite=Lax")  # plain http on loopback
