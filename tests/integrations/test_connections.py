"""Connections (integrations/connections.py, secrets.py, the `connections` command, admin):
credentials encrypted at rest, never printed or rendered back, keys rotated, what each
vendor needs checked with a message naming the option (docs/connectors.md section 1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db
from django.test import Client

from funnel.models import Source
from integrations import secrets
from integrations.models import Connection

pytestmark = pytest.mark.django_db
TOKEN = "pat-na1-0123456789abcdef-SECRET"


def _run(*args: str) -> str:
    out = StringIO()
    call_command("connections", *args, stdout=out)
    return out.getvalue()


def _stored_text() -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_connection")
        return " ".join(row[0] for row in cursor.fetchall())


def test_it_adds_a_connection_with_its_source_and_encrypts_the_token() -> None:
    assert "added hs (hubspot)" in _run("add", "hs", "--vendor", "hubspot", "--token", TOKEN)
    stored = Connection.objects.get(name="hs")
    assert stored.base_url == "https://api.hubapi.com"  # the vendor's default
    assert Source.objects.filter(name="hs").exists()  # records land under the name
    assert TOKEN not in _stored_text() and "SECRET" not in _stored_text()
    assert secrets.decrypt(stored.credentials) == {"token": TOKEN}


def test_list_says_which_secrets_are_set_never_their_values() -> None:
    _run("add", "hs", "--vendor", "hubspot", "--token", TOKEN)
    _run(
        "add",
        "sf",
        "--vendor",
        "salesforce",
        "--client-id",
        "env:SF_ID",
        "--client-secret",
        "s3cr3t-value",
        "--refresh-token",
        "r3fr3sh-value",
    )
    listed = _run("list")
    assert "hs\thubspot\thttps://api.hubapi.com\tenabled, every 60 min\ttoken=set" in listed
    assert "client_id=env:SF_ID, client_secret=set, refresh_token=set" in listed
    for secret in (TOKEN, "s3cr3t-value", "r3fr3sh-value"):
        assert secret not in listed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vendor", "hubspot"], "needs --token or --client-id + --client-secret"),
        (["--vendor", "salesforce", "--client-id", "x"], "needs --client-id + --client-secret"),
        (["--vendor", "marketo", "--client-id", "a", "--client-secret", "b"], "--base-url"),
        (
            ["--vendor", "hubspot", "--token", "t", "--base-url", "ftp://example.com"],
            "--base-url: 'ftp://example.com' is not an http(s) URL",
        ),
        (
            [
                "--vendor",
                "pardot",
                "--client-id",
                "a",
                "--client-secret",
                "b",
                "--refresh-token",
                "c",
            ],
            "--business-unit-id",
        ),
        (["--vendor", "hubspot", "--token", "t", "--every", "1"], "at least 5 minutes"),
    ],
)
def test_it_refuses_an_incomplete_connection_naming_the_option(
    args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        _run("add", "x", *args)
    assert not Connection.objects.exists() and not Source.objects.filter(name="x").exists()


def test_remove_keeps_the_synced_records_source() -> None:
    _run("add", "hs", "--vendor", "hubspot", "--token", TOKEN)
    assert "removed hs" in _run("remove", "hs")
    assert not Connection.objects.exists()
    assert Source.objects.filter(name="hs").exists()
    with pytest.raises(CommandError, match="no connection named 'hs'"):
        _run("remove", "hs")


def test_keys_rotate_without_losing_a_secret(settings: pytest.FixtureRequest) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CONNECTION_SECRET_KEYS = [old]  # type: ignore[attr-defined]
    _run("add", "hs", "--vendor", "hubspot", "--token", TOKEN)
    before = Connection.objects.get().credentials
    settings.CONNECTION_SECRET_KEYS = [new, old]  # type: ignore[attr-defined]
    assert "re-encrypted 1 connection(s)" in _run("rotate-keys")
    after = Connection.objects.get().credentials
    assert after != before
    settings.CONNECTION_SECRET_KEYS = [new]  # type: ignore[attr-defined]  # old one dropped
    assert secrets.decrypt(after) == {"token": TOKEN}
    with pytest.raises(secrets.SecretsUnavailable, match="do not open"):
        secrets.decrypt(before)


def test_a_production_server_without_a_key_refuses_to_store_secrets(
    settings: pytest.FixtureRequest,
) -> None:
    settings.EMBEDDED = False  # type: ignore[attr-defined]
    settings.CONNECTION_SECRET_KEYS = []  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="CONNECTION_SECRET_KEYS is not set"):
        _run("add", "hs", "--vendor", "hubspot", "--token", TOKEN)


def test_an_env_reference_is_read_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    assert secrets.resolve("env:HS_TOKEN") == TOKEN
    monkeypatch.delenv("HS_TOKEN")
    with pytest.raises(secrets.SecretsUnavailable, match="HS_TOKEN is not set"):
        secrets.resolve("env:HS_TOKEN")


def test_admin_never_renders_a_secret_and_keeps_it_when_left_empty(
    client: Client, role_user: Callable[[str], User]
) -> None:
    _run("add", "hs", "--vendor", "hubspot", "--token", TOKEN)
    stored = Connection.objects.get()
    client.force_login(role_user("ops_admin"))
    page = client.get(f"/admin/integrations/connection/{stored.pk}/change/").content.decode()
    assert TOKEN not in page and "token=set" in page
    response = client.post(
        f"/admin/integrations/connection/{stored.pk}/change/",
        {
            "name": "hs",
            "vendor": "hubspot",
            "base_url": "https://api.hubapi.com",
            "login_url": "",
            "business_unit_id": "",
            "sync_every_minutes": "30",
            "enabled": "on",
            "token": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    stored.refresh_from_db()
    assert stored.sync_every_minutes == 30
    assert secrets.decrypt(stored.credentials) == {"token": TOKEN}
