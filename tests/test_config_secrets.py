"""Where credentials come from, and the MD5 code never showing anywhere."""
from __future__ import annotations

import copy
import logging
import os
import pickle

import pytest
from loopback import TEST_CLIENT_ID, TEST_MD5, Reply, assert_no_secret, reference_bytes

from mailkit_analysis import (
    ConfigError,
    MailkitAuthError,
    MailkitClient,
    MailkitError,
    MailkitResponseError,
    RetryPolicy,
    load_credentials,
)
from mailkit_analysis.config import DEFAULT_JSON_URL, DEFAULT_RPC_URL, load_endpoints
from mailkit_analysis.redaction import RedactingFilter, Secret, install_log_redaction, redact

pytestmark = pytest.mark.usefixtures("isolated_settings", "md5_never_in_errors")

ARG_MD5 = "md5-from-args-9c41e7"
ENV_MD5 = "md5-from-env-27fd0b"
FILE_MD5 = "md5-from-file-d5a3c8"


@pytest.fixture
def dotenv(tmp_path):
    path = tmp_path / "settings.env"
    path.write_text(
        f"MAILKIT_CLIENT_ID=333\nMAILKIT_CLIENT_MD5={FILE_MD5}\n"
        "MAILKIT_JSON_URL=http://file.example/json.fcgi\nMAILKIT_RPC_URL=http://file.example/rpc.fcgi\n",
        encoding="utf-8",
    )
    return path


ENV = {"MAILKIT_CLIENT_ID": "222", "MAILKIT_CLIENT_MD5": ENV_MD5}


# --- precedence ------------------------------------------------------------------------------
def test_explicit_arguments_win_over_env_and_file(dotenv):
    creds = load_credentials(111, ARG_MD5, env=ENV, dotenv_path=dotenv)
    assert creds.client_id == 111
    assert creds.client_md5.reveal() == ARG_MD5


def test_env_wins_over_the_file(dotenv):
    creds = load_credentials(env=ENV, dotenv_path=dotenv)
    assert creds.client_id == 222
    assert creds.client_md5.reveal() == ENV_MD5


def test_file_is_used_when_nothing_else_is_set(dotenv):
    creds = load_credentials(env={}, dotenv_path=dotenv)
    assert creds.client_id == 333
    assert creds.client_md5.reveal() == FILE_MD5
    assert "MAILKIT_CLIENT_MD5" not in os.environ  # read, never loaded into the environment


def test_each_value_has_its_own_precedence(dotenv):
    creds = load_credentials(client_id="  444 ", env={"MAILKIT_CLIENT_MD5": ENV_MD5}, dotenv_path=dotenv)
    assert (creds.client_id, creds.client_md5.reveal()) == (444, ENV_MD5)
    creds = load_credentials(env={"MAILKIT_CLIENT_ID": "555"}, dotenv_path=dotenv)
    assert (creds.client_id, creds.client_md5.reveal()) == (555, FILE_MD5)


def test_dotenv_in_the_working_directory_is_the_default(tmp_path, monkeypatch, dotenv):
    (tmp_path / ".env").write_text(dotenv.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_credentials(env={}).client_id == 333


def test_process_environment_is_read_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("MAILKIT_CLIENT_ID", "666")
    monkeypatch.setenv("MAILKIT_CLIENT_MD5", ENV_MD5)
    creds = load_credentials(dotenv_path=tmp_path / "missing.env")
    assert creds.client_id == 666 and creds.client_md5.reveal() == ENV_MD5


def test_endpoints_precedence(dotenv):
    assert load_endpoints(env={}, dotenv_path=dotenv.parent / "none.env").json_url == DEFAULT_JSON_URL
    assert load_endpoints(env={}, dotenv_path=dotenv.parent / "none.env").rpc_url == DEFAULT_RPC_URL
    from_file = load_endpoints(env={}, dotenv_path=dotenv)
    assert from_file.json_url == "http://file.example/json.fcgi" and from_file.rpc_url == "http://file.example/rpc.fcgi"
    from_env = load_endpoints(env={"MAILKIT_JSON_URL": "http://env.example/j"}, dotenv_path=dotenv)
    assert from_env.json_url == "http://env.example/j" and from_env.rpc_url == "http://file.example/rpc.fcgi"
    explicit = load_endpoints("http://arg.example/j", env={"MAILKIT_JSON_URL": "http://env.example/j"}, dotenv_path=dotenv)
    assert explicit.json_url == "http://arg.example/j"


# --- what is refused ----------------------------------------------------------------------------
def _config_error(**kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_credentials(**kwargs)
    assert isinstance(info.value, MailkitError)
    return info.value


def test_missing_credentials(tmp_path):
    error = _config_error(env={}, dotenv_path=tmp_path / "none.env")
    assert "MAILKIT_CLIENT_ID" in str(error) and "Profile / Integration" in str(error)
    assert load_credentials(env={}, dotenv_path=tmp_path / "none.env", required=False) is None


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"env": {"MAILKIT_CLIENT_ID": "1"}}, "MAILKIT_CLIENT_MD5 is not set"),
        ({"env": {"MAILKIT_CLIENT_MD5": ENV_MD5}}, "MAILKIT_CLIENT_ID is not set"),
        ({"env": {"MAILKIT_CLIENT_ID": "1", "MAILKIT_CLIENT_MD5": ""}}, "MAILKIT_CLIENT_MD5 is not set"),
        ({"client_id": 1, "client_md5": "   ", "env": {}}, "empty"),
        ({"env": {"MAILKIT_CLIENT_ID": "abc", "MAILKIT_CLIENT_MD5": ENV_MD5}}, "not a whole number"),
        ({"env": {"MAILKIT_CLIENT_ID": "12.5", "MAILKIT_CLIENT_MD5": ENV_MD5}}, "not a whole number"),
        ({"client_id": "x1", "client_md5": ARG_MD5, "env": {}}, "from the argument is not a whole number"),
        ({"env": {"MAILKIT_CLIENT_ID": "0", "MAILKIT_CLIENT_MD5": ENV_MD5}}, "positive"),
        ({"env": {"MAILKIT_CLIENT_ID": "-4", "MAILKIT_CLIENT_MD5": ENV_MD5}}, "positive"),
    ],
)
def test_bad_or_partial_credentials(tmp_path, kwargs, words):
    error = _config_error(dotenv_path=tmp_path / "none.env", **kwargs)
    assert words in str(error)
    for md5 in (ENV_MD5, ARG_MD5):
        assert_no_secret(str(error), md5)


def test_client_without_credentials_is_a_config_error():
    with pytest.raises(ConfigError):
        MailkitClient(url="http://127.0.0.1:1/json.fcgi")


def test_client_reads_credentials_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAILKIT_CLIENT_ID", "777")
    monkeypatch.setenv("MAILKIT_CLIENT_MD5", ENV_MD5)
    monkeypatch.setenv("MAILKIT_RPC_URL", "http://127.0.0.1:9/rpc.fcgi")
    with MailkitClient(transport="xmlrpc") as client:
        assert client.credentials.client_id == 777
        assert client.url == "http://127.0.0.1:9/rpc.fcgi"
        assert_no_secret(repr(client), ENV_MD5)


# --- the MD5 never prints --------------------------------------------------------------------------
def test_secret_masks_itself():
    secret = Secret(TEST_MD5)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>40}", "%s %r" % (secret, secret),
                 "{}".format(secret), str([secret]), str({"md5": secret})):
        assert_no_secret(text)
        assert "***" in text
    assert secret.reveal() == TEST_MD5
    assert secret == Secret(TEST_MD5) and secret != Secret(TEST_MD5 + "x") and secret != TEST_MD5
    assert bool(secret) and not bool(Secret(""))


def test_credentials_and_client_mask_the_md5(credentials):
    assert isinstance(credentials.client_md5, Secret)
    for text in (repr(credentials), str(credentials), f"{credentials}", f"{credentials!r}", str([credentials]),
                 str(vars(credentials)) if hasattr(credentials, "__dict__") else ""):
        assert_no_secret(text)
    assert str(TEST_CLIENT_ID) in repr(credentials)
    with MailkitClient(credentials, url="http://127.0.0.1:1/json.fcgi") as client:
        for text in (repr(client), str(client), f"{client}", str(vars(client))):
            assert_no_secret(text)
        assert "json" in repr(client)


def test_pickling_a_secret_is_refused(credentials):
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(TEST_MD5))
    with pytest.raises(TypeError):
        pickle.dumps(credentials)
    with pytest.raises(TypeError):
        copy.deepcopy(Secret(TEST_MD5))


def test_logging_credentials_shows_no_md5(credentials, caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("mailkit_analysis.test")
    log.debug("creds %s / %r / md5 %s", credentials, credentials, credentials.client_md5)
    log.info(f"f-string: {credentials} {credentials.client_md5}")
    log.warning("dict %s", {"md5": credentials.client_md5})
    assert len(caplog.records) == 3
    assert_no_secret(caplog.text)


def test_redacting_filter_scrubs_log_records(credentials, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactingFilter())
    log = logging.getLogger("mailkit_analysis.test")
    log.debug("raw %s in args", TEST_MD5)
    log.debug(f"raw {TEST_MD5} in the message")
    log.debug("body %r", {"md5": TEST_MD5})
    assert len(caplog.records) == 3
    assert_no_secret(caplog.text)
    assert caplog.text.count("***") == 3
    for record in caplog.records:
        assert_no_secret(record.getMessage())


def test_redacting_filter_on_a_record_directly(credentials):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call %s with %s", ("f", TEST_MD5), None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "call f with ***"
    untouched = logging.LogRecord("x", logging.INFO, __file__, 1, "nothing %s", ("here",), None)
    RedactingFilter().filter(untouched)
    assert untouched.args == ("here",)


def test_install_log_redaction_filters_every_handler(credentials):
    logger = logging.getLogger("mailkit_analysis.test.install")
    stream = __import__("io").StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        install_log_redaction(logger)
        install_log_redaction(logger)  # idempotent
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
        logger.warning("md5=%s", TEST_MD5)
        assert stream.getvalue().strip() == "md5=***"
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_redact_handles_extra_values_and_short_ones():
    assert redact(f"a {TEST_MD5} b") == "a *** b"
    assert redact("token xyz-123", "xyz-123") == "token ***"
    Secret("abc")  # too short to be an MD5 code: not registered, ordinary text stays readable
    assert redact("abc abc") == "abc abc"


def test_debug_logged_client_run_never_shows_the_md5(server, credentials, caplog):
    caplog.set_level(logging.DEBUG)  # root: urllib3, requests and the toolkit
    echo = f"<html><body>proxy error for md5={TEST_MD5}</body></html>".encode()
    server.set_script(
        [
            Reply(status=503, body=f"busy {TEST_MD5}".encode(), content_type="text/plain"),
            Reply(body=echo, content_type="text/html"),
            Reply(body=reference_bytes("response_error.json"), send_bytes=25),
            Reply(body=reference_bytes("response_error.json")),
            Reply(body=f'{{"error_status": 1, "error": "Unauthorized {TEST_MD5}"}}'.encode()),
        ]
    )
    errors: list[Exception] = []
    policy = RetryPolicy(retries=3, backoff_factor=0.01)
    with MailkitClient(credentials, url=server.json_url, policy=policy) as client:
        result = client.results(678, id_send=12345)
        with pytest.raises(MailkitAuthError) as info:
            client.results(679)
        errors.append(info.value)
    assert result.status == "ERROR"
    assert server.count == 5
    assert TEST_MD5.encode() in server.bodies[0]  # it did travel on the wire, where it belongs
    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3's DEBUG logs were captured"
    assert any(r.name.startswith("mailkit_analysis") for r in caplog.records)
    assert_no_secret(caplog.text)
    for record in caplog.records:
        assert_no_secret(record.getMessage())
        assert_no_secret(repr(record.args))
    for error in errors:
        assert_no_secret(str(error))
        assert_no_secret(repr(error))


def test_xmlrpc_debug_run_never_shows_the_md5(server, credentials, caplog):
    caplog.set_level(logging.DEBUG)
    server.set_script(
        [
            Reply(body=f"<methodResponse><params><param><value><int>{TEST_MD5}</int>".encode(), content_type="text/xml"),
            Reply(body=reference_bytes("response_ok.xml"), content_type="text/xml"),
        ]
    )
    with MailkitClient(credentials, transport="xmlrpc", url=server.rpc_url,
                       policy=RetryPolicy(retries=2, backoff_factor=0.01)) as client:
        assert client.results(5).status == "OK"
    assert server.count == 2
    assert_no_secret(caplog.text)


def test_response_errors_from_an_echoing_server_hide_the_md5(server, credentials):
    server.set_script([Reply(body=f"Bad request\n{TEST_MD5}\n".encode(), content_type="text/plain")])
    with MailkitClient(credentials, url=server.json_url, policy=RetryPolicy(retries=0)) as client:
        with pytest.raises(MailkitResponseError) as info:
            client.results(5)
    assert "Bad request" in info.value.excerpt
    assert_no_secret(str(info.value))
    assert_no_secret(info.value.excerpt)
