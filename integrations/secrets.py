"""Connection credentials, encrypted at rest (cryptography's Fernet).

Keys come from CONNECTION_SECRET_KEYS: Fernet keys separated by commas, newest first. The
first encrypts; every key decrypts, so a key is rotated by putting a new one in front,
running `manage.py connections rotate-keys` (re-encrypts every connection with it) and then
dropping the old one. The embedded mode (SQLite, no key set) derives a key from SECRET_KEY;
a production server without CONNECTION_SECRET_KEYS refuses to store or read credentials.

A credential may be a reference `env:VAR`, stored as such and read from the environment
when used. Values are never logged, printed or shown back: `describe` says which are set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENV_PREFIX = "env:"


class SecretsUnavailable(ImproperlyConfigured):
    """No key to encrypt with, or the stored credentials do not open with the keys set."""


def _keys() -> list[bytes]:
    keys = [key.strip().encode() for key in settings.CONNECTION_SECRET_KEYS if key.strip()]
    if keys:
        return keys
    if settings.EMBEDDED:
        digest = hashlib.sha256(f"kpi-bridge-connections:{settings.SECRET_KEY}".encode()).digest()
        return [base64.urlsafe_b64encode(digest)]
    raise SecretsUnavailable(
        "CONNECTION_SECRET_KEYS is not set: generate a key with `python -c "
        '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
    )


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except ValueError:
        raise SecretsUnavailable(
            "CONNECTION_SECRET_KEYS holds a value that is not a Fernet key"
        ) from None


def encrypt(values: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        opened = _fernet().decrypt(token.encode())
    except InvalidToken:
        raise SecretsUnavailable(
            "the stored credentials do not open with CONNECTION_SECRET_KEYS (a key was "
            "dropped before `connections rotate-keys` ran?)"
        ) from None
    values: dict[str, str] = json.loads(opened)
    return values


def rotate(token: str) -> str:
    """The same credentials encrypted with the first key."""
    return _fernet().rotate(token.encode()).decode()


def resolve(value: str) -> str:
    """A credential as used: `env:VAR` is read from the environment now."""
    if value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX) :]
        found = os.environ.get(name)
        if not found:
            raise SecretsUnavailable(f"the environment variable {name} is not set")
        return found
    return value


def describe(values: dict[str, str]) -> str:
    """Which credentials are set, never their values: `token=set, client_id=env:HS_ID`."""
    return ", ".join(
        f"{name}={value if value.startswith(ENV_PREFIX) else 'set'}"
        for name, value in sorted(values.items())
        if value
    )
