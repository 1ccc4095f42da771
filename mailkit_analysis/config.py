"""Credentials and endpoints: where the toolkit reads them, in what order.

Order of precedence for each value: an explicit argument, then the process environment
(``MAILKIT_CLIENT_ID``, ``MAILKIT_CLIENT_MD5``, ``MAILKIT_JSON_URL``, ``MAILKIT_RPC_URL``),
then a ``.env`` file in the working directory. The ``.env`` file is read, never loaded
into ``os.environ``, so it cannot leak into child processes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


from .errors import ConfigError
from .redaction import Secret

__all__ = [
    "Credentials",
    "Endpoints",
    "DEFAULT_JSON_URL",
    "DEFAULT_RPC_URL",
    "load_credentials",
    "load_endpoints",
]

DEFAULT_JSON_URL = "https://api.mailkit.eu/json.fcgi"
DEFAULT_RPC_URL = "https://api.mailkit.eu/rpc.fcgi"


@dataclass(frozen=True)
class Credentials:
    """A Mailkit API ID and its MD5 code.

    Parameters
    ----------
    client_id : int
        The API ID (Mailkit: Profile / Integration).
    client_md5 : Secret
        The MD5 code; masked in ``repr``/``str`` and never written anywhere.
    """

    client_id: int
    client_md5: Secret

    def __post_init__(self):
        if not isinstance(self.client_md5, Secret):
            object.__setattr__(self, "client_md5", Secret(self.client_md5))

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id}, client_md5=***)"

    __str__ = __repr__


@dataclass(frozen=True)
class Endpoints:
    """The two Mailkit endpoints, one per transport."""

    json_url: str = DEFAULT_JSON_URL
    rpc_url: str = DEFAULT_RPC_URL


def _settings(env: Mapping[str, str] | None, dotenv_path: str | os.PathLike | None) -> dict:
    """Merge the ``.env`` file under the environment (the environment wins)."""
    path = Path(dotenv_path) if dotenv_path is not None else Path.cwd() / ".env"
    merged: dict[str, str] = {}
    if path.is_file():
        from dotenv import dotenv_values  # only when there is a file to read (most runs have none)

        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ if env is None else env)
    return merged


def _parse_client_id(value, source: str) -> int:
    try:
        text = str(value).strip()
        client_id = int(text)
    except (TypeError, ValueError):
        raise ConfigError(
            f"The Mailkit API ID from {source} is not a whole number (Profile / Integration shows it)"
        ) from None
    if client_id <= 0:
        raise ConfigError(f"The Mailkit API ID from {source} must be a positive number")
    return client_id


def load_credentials(
    client_id: int | str | None = None,
    client_md5: str | Secret | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | os.PathLike | None = None,
    required: bool = True,
) -> Credentials | None:
    """Read credentials: explicit arguments, then the environment, then ``.env``.

    Parameters
    ----------
    client_id, client_md5 : optional
        Explicit values; each wins over any other source.
    env : mapping, optional
        Environment to read instead of ``os.environ`` (tests).
    dotenv_path : path, optional
        ``.env`` file to read; default ``.env`` in the working directory.
    required : bool, default True
        Raise :class:`ConfigError` when nothing is found; otherwise return ``None``.

    Returns
    -------
    Credentials or None
    """
    settings = _settings(env, dotenv_path)
    id_source = "the argument"
    if client_id is None:
        client_id, id_source = settings.get("MAILKIT_CLIENT_ID") or None, "MAILKIT_CLIENT_ID"
    if client_md5 is None:
        client_md5 = settings.get("MAILKIT_CLIENT_MD5") or None
    if client_id is None and client_md5 is None:
        if required:
            raise ConfigError(
                "No Mailkit credentials: set MAILKIT_CLIENT_ID and MAILKIT_CLIENT_MD5 "
                "(or put them in a .env file). They are in Mailkit under Profile / Integration."
            )
        return None
    if client_id is None or client_md5 is None:
        missing = "MAILKIT_CLIENT_ID" if client_id is None else "MAILKIT_CLIENT_MD5"
        raise ConfigError(f"{missing} is not set; both the API ID and the MD5 code are needed")
    md5 = client_md5 if isinstance(client_md5, Secret) else Secret(str(client_md5).strip())
    if not md5:
        raise ConfigError("MAILKIT_CLIENT_MD5 is empty")
    return Credentials(_parse_client_id(client_id, id_source), md5)


def load_endpoints(
    json_url: str | None = None,
    rpc_url: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | os.PathLike | None = None,
) -> Endpoints:
    """Endpoints: explicit arguments, then ``MAILKIT_JSON_URL`` / ``MAILKIT_RPC_URL``, then Mailkit's."""
    settings = _settings(env, dotenv_path)
    return Endpoints(
        json_url or settings.get("MAILKIT_JSON_URL") or DEFAULT_JSON_URL,
        rpc_url or settings.get("MAILKIT_RPC_URL") or DEFAULT_RPC_URL,
    )
