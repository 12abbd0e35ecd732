"""Login throttling (django-axes, settings): wrong passwords pause the account, and pause
the address, each on its own; a right password while paused is still refused; ops admins
lift a lock with axes_reset_username."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"


def _try(client: Client, username: str, password: str, address: str = "203.0.113.7") -> int:
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )
    return response.status_code


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password=PASSWORD)


def test_it_pauses_an_account_after_too_many_wrong_passwords(client: Client, alice: User) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    answers = [_try(client, "alice", f"wrong-{i}", f"198.51.100.{i}") for i in range(limit)]
    assert answers[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert answers[-1] == 429
    # Paused: from another address, and with the right password too.
    assert _try(client, "alice", PASSWORD, "192.0.2.99") == 429
    page = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.98",
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert page.status_code == 429
    assert "ログイン" in page.content.decode()
    call_command("axes_reset_username", "alice", stdout=StringIO())
    assert _try(client, "alice", PASSWORD, "192.0.2.99") == 302


def test_it_pauses_an_address_that_tries_many_accounts(client: Client, alice: User) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    answers = [_try(client, f"user{i}", "wrong", "203.0.113.50") for i in range(limit)]
    assert answers[-1] == 429
    assert _try(client, "alice", PASSWORD, "203.0.113.50") == 429
    assert _try(client, "alice", PASSWORD, "203.0.113.51") == 302  # another address


def test_a_right_password_resets_the_count(client: Client, alice: User) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    for i in range(limit - 1):
        assert _try(client, "alice", f"wrong-{i}") == 200
    assert _try(client, "alice", PASSWORD) == 302
    client.logout()
    assert _try(client, "alice", "wrong-again") == 200
