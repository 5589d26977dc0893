"""Sign-in slow-down by client address and by account, kept in the database: a stranger cannot
lock an account out, a crowd only slows new browsers, parallel guesses are all counted."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from nbcred.service import ServiceContext, users
from nbcred.service.errors import NotAuthenticated, TooManyAttempts
from nbcred.service.signin import ACCOUNT, ADDRESS, Client, account_digest, buckets
from nbcred.service.users import Account, add_user, sign_in
from nbcred.store.models import SignInFailure
from tests.nbcred.web.conftest import PASSWORD, Service, settings_for

START = datetime(2030, 1, 1, tzinfo=UTC)
ADA = "ada@example.org"


@pytest.fixture
def ctx(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceContext]:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # what is tested is the count
    monkeypatch.setattr(users, "_hasher", cheap)
    monkeypatch.setattr(users, "_DUMMY_HASH", cheap.hash("no-such-user"))
    context = ServiceContext.open(settings_for(tmp_path / "home", db_url))
    add_user(context, email=ADA, name="Ada", role="learner", password=PASSWORD)
    yield context
    context.store.engine.dispose()


def attempt(ctx: ServiceContext, password: str, address: str, at: float, email: str = ADA,
            client: Client | None = None) -> str | Account:
    """'refused' (must wait), 'wrong' or the account."""
    try:
        return sign_in(ctx, email=email, password=password, now=START + timedelta(seconds=at),
                       client=client or Client(address))
    except TooManyAttempts:
        return "refused"
    except NotAuthenticated:
        return "wrong"


def test_a_stranger_cannot_lock_an_account_out(ctx: ServiceContext) -> None:
    stranger = [attempt(ctx, "guess-guess", "203.0.113.9", n * 0.1) for n in range(30)]
    assert stranger.count("wrong") == 3 + 1 and stranger.count("refused") == 26  # slowed down
    signed = attempt(ctx, PASSWORD, "198.51.100.7", 3.0)
    assert isinstance(signed, Account) and signed.email == ADA  # the owner, elsewhere: no wait


def test_a_crowd_slows_new_browsers_but_not_a_known_one(ctx: ServiceContext) -> None:
    for n in range(ACCOUNT.free + 2):  # one guess from each of many addresses
        assert attempt(ctx, "guess-guess", f"203.0.113.{n}", n * 10.0) == "wrong"
    at = (ACCOUNT.free + 1) * 10.0 + 1
    try:
        sign_in(ctx, email=ADA, password=PASSWORD, now=START + timedelta(seconds=at),
                client=Client("198.51.100.7"))
        raise AssertionError("guesses from many addresses must slow a new browser down")
    except TooManyAttempts as exc:
        assert 1 <= exc.retry_after <= ACCOUNT.bound  # slowed, never locked
    known = Client("198.51.100.7", device="browser-1", known=frozenset({account_digest(ADA)}))
    assert isinstance(attempt(ctx, PASSWORD, "", at, client=known), Account)
    assert isinstance(attempt(ctx, PASSWORD, "198.51.100.7", at + ACCOUNT.bound + 1), Account)


def test_one_address_trying_many_accounts_is_slowed(ctx: ServiceContext) -> None:
    results = [attempt(ctx, "guess-guess", "203.0.113.9", n * 0.1, email=f"user{n}@example.org")
               for n in range(ADDRESS.free + 3)]
    assert results[: ADDRESS.free] == ["wrong"] * ADDRESS.free
    assert results[-1] == "refused"
    assert isinstance(attempt(ctx, PASSWORD, "198.51.100.7", 3.0), Account)  # others unaffected


def test_parallel_guesses_are_all_counted(ctx: ServiceContext) -> None:
    with ThreadPoolExecutor(8) as pool:  # each thread uses its own database connection
        results = list(pool.map(lambda n: attempt(ctx, "guess-guess", "203.0.113.9", 0.0), range(16)))
    assert results.count("wrong") == 3 and results.count("refused") == 13


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_browser_that_signed_in_before_is_known(quiet_service: Service) -> None:
    browser = TestClient(quiet_service.client.app)
    form = {"email": ADA, "password": PASSWORD, "csrf_token": csrf(browser.get("/signin").text)}
    signed = browser.post("/signin", data=form, follow_redirects=False)
    assert signed.status_code == 303 and "nbcred_device=" in signed.headers.get("set-cookie", "")
    with contextlib.suppress(NotAuthenticated):  # a crowd guesses Ada's password...
        sign_in(quiet_service.ctx, email=ADA, password="guess-guess", client=Client("203.0.113.1"))
    key = buckets(ADA, Client("203.0.113.1"))[2].key
    with quiet_service.ctx.store.session() as session:  # ...from many addresses, just now
        row = session.get(SignInFailure, key)
        assert row is not None and row.failures == 1
        row.failures, row.last_failed_at = ACCOUNT.free + 5, datetime.now(UTC)
    stranger = TestClient(quiet_service.client.app)  # the same address, but never signed in
    form["csrf_token"] = csrf(stranger.get("/signin").text)
    refused = stranger.post("/signin", data=form, follow_redirects=False)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) <= ACCOUNT.bound
    form["csrf_token"] = csrf(browser.get("/signin").text)
    again = browser.post("/signin", data=form, follow_redirects=False)
    assert again.status_code == 303  # the known browser is not slowed by strangers' failures
