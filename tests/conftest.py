"""Shared fixtures: the loopback server, test credentials, quick retry policies, hypothesis profile."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from loopback import (
    FETCHED_AT,
    TEST_CLIENT_ID,
    TEST_MD5,
    LoopbackServer,
    assert_no_secret,
    reference_bytes,
)

from mailkit_analysis import Credentials, MailkitClient, MailkitError, RetryPolicy

# Property tests: no deadline (CI machines are noisy), a modest number of examples so the
# whole suite stays quick. HYPOTHESIS_PROFILE=thorough runs many more.
settings.register_profile(
    "mailkit",
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
    # An absolute path: some tests chdir into tmp_path, and failing examples should persist.
    database=DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parent.parent / ".hypothesis" / "examples")),
)
settings.register_profile("thorough", parent=settings.get_profile("mailkit"), max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mailkit"))


@pytest.fixture
def reference():
    """``reference("response_ok.xml")`` -> the bytes of that example payload."""
    return reference_bytes


@pytest.fixture
def isolated_settings(monkeypatch, tmp_path):
    """Keep a developer's own MAILKIT_* variables and ``.env`` out of a test.

    Modules opt in with ``pytestmark = pytest.mark.usefixtures("isolated_settings")``:
    the working directory becomes the test's ``tmp_path``, so no ``.env`` is found there.
    """
    for name in ("MAILKIT_CLIENT_ID", "MAILKIT_CLIENT_MD5", "MAILKIT_JSON_URL", "MAILKIT_RPC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def md5_never_in_errors(monkeypatch):
    """Record every MailkitError created during a test; none may show the test MD5.

    Covers errors raised and caught inside the toolkit too (retries, worker threads), not
    only the ones a test sees. Yields the list of recorded errors.
    """
    seen: list[MailkitError] = []
    original = MailkitError.__init__

    def recording_init(self, message, **where):
        original(self, message, **where)
        seen.append(self)

    monkeypatch.setattr(MailkitError, "__init__", recording_init)
    yield seen
    monkeypatch.undo()
    for error in seen:
        assert_no_secret(str(error))
        assert_no_secret(repr(error))
        assert_no_secret(str(getattr(error, "excerpt", "")))


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(TEST_CLIENT_ID, TEST_MD5)


@pytest.fixture
def fast_policy() -> RetryPolicy:
    """Two retries with tiny backoff and short timeouts: failure paths finish quickly."""
    return RetryPolicy(retries=2, backoff_factor=0.01, backoff_max=0.05, connect_timeout=2.0, read_timeout=2.0)


@pytest.fixture
def server():
    """A started :class:`LoopbackServer`; script it with ``server.set_script([...])``."""
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def make_client(credentials, fast_policy):
    """``make_client(url, transport="json", **kw)`` -> a MailkitClient closed after the test."""
    made: list[MailkitClient] = []

    def make(url: str, transport: str = "json", **kwargs) -> MailkitClient:
        kwargs.setdefault("policy", fast_policy)
        kwargs.setdefault("clock", lambda: FETCHED_AT)
        client = MailkitClient(kwargs.pop("credentials", credentials), transport=transport, url=url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
