"""Writes of connections (services): add, remove, change credentials, rotate keys. What
each vendor needs is checked here, once, for the command line and for admin alike
(docs/connectors.md section 1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from funnel import ingest
from funnel.choices import SourceKind
from funnel.ingest.lookups import ReservedSource, check_source_name
from integrations import secrets
from integrations.models import HTTP_URL, SECRET_NAMES, Connection, Vendor


@dataclass(frozen=True)
class VendorNeeds:
    """Credentials a vendor needs: any one of `alternatives` (each a set of names)."""

    alternatives: tuple[frozenset[str], ...]
    source_kind: str = SourceKind.MA
    base_url: str = ""  # the vendor's default; empty: the connection must name one
    login_url: str = ""
    business_unit: bool = False


OAUTH = frozenset({"client_id", "client_secret", "refresh_token"})
NEEDS = {
    Vendor.HUBSPOT: VendorNeeds((frozenset({"token"}), OAUTH), base_url="https://api.hubapi.com"),
    Vendor.SALESFORCE: VendorNeeds(
        (OAUTH,), source_kind=SourceKind.SFA, login_url="https://login.salesforce.com"
    ),
    Vendor.MARKETO: VendorNeeds((frozenset({"client_id", "client_secret"}),)),
    Vendor.PARDOT: VendorNeeds(
        (OAUTH,),
        base_url="https://pi.pardot.com",
        login_url="https://login.salesforce.com",
        business_unit=True,
    ),
}


class ConnectionProblem(ValueError):
    """A connection that cannot be stored as asked; the message says which option."""


def _check_url(option: str, url: str) -> None:
    try:
        HTTP_URL(url)
    except ValidationError:
        raise ConnectionProblem(f"{option}: '{url}' is not an http(s) URL") from None


def check_credentials(vendor: str, values: Mapping[str, str]) -> None:
    needs = NEEDS[Vendor(vendor)]
    given = {name for name, value in values.items() if value}
    if not any(option <= given for option in needs.alternatives):
        wanted = " or ".join(
            " + ".join(f"--{name.replace('_', '-')}" for name in sorted(option))
            for option in needs.alternatives
        )
        raise ConnectionProblem(f"a {vendor} connection needs {wanted}")


def add_connection(
    name: str,
    vendor: str,
    credentials: Mapping[str, str],
    base_url: str = "",
    login_url: str = "",
    business_unit_id: str = "",
    sync_every_minutes: int = 60,
) -> Connection:
    """A new connection; its source is created with it, so records land under `name`."""
    if vendor not in Vendor.values:
        raise ConnectionProblem(f"--vendor: one of {', '.join(Vendor.values)}")
    needs = NEEDS[Vendor(vendor)]
    name = name.strip()
    if not name:
        raise ConnectionProblem("NAME: a connection needs a name (its source name)")
    try:
        check_source_name(name)
    except ReservedSource as exc:
        raise ConnectionProblem(f"NAME: {exc}") from None
    if Connection.objects.filter(name=name).exists():
        raise ConnectionProblem(f"a connection named '{name}' exists already")
    base_url = base_url or needs.base_url
    login_url = login_url or needs.login_url
    if not base_url and vendor == Vendor.MARKETO:
        raise ConnectionProblem("--base-url: a marketo connection needs its instance's REST host")
    for option, url in (("--base-url", base_url), ("--login-url", login_url)):
        if url:
            _check_url(option, url)
    if needs.business_unit and not business_unit_id:
        raise ConnectionProblem(f"--business-unit-id: a {vendor} connection needs one")
    if sync_every_minutes < 5:
        raise ConnectionProblem("--every: at least 5 minutes")
    stored = {key: value for key, value in credentials.items() if key in SECRET_NAMES and value}
    check_credentials(vendor, stored)
    with transaction.atomic():
        ingest.get_or_create_source(name, needs.source_kind)
        return Connection.objects.create(
            name=name,
            vendor=vendor,
            base_url=base_url,
            login_url=login_url,
            business_unit_id=business_unit_id,
            credentials=secrets.encrypt(stored),
            sync_every_minutes=sync_every_minutes,
        )


def set_credentials(connection: Connection, changes: Mapping[str, str]) -> None:
    """Replace the credentials named in `changes` (an empty value keeps the stored one)."""
    values = secrets.decrypt(connection.credentials)
    values.update({key: value for key, value in changes.items() if value})
    check_credentials(connection.vendor, values)
    connection.credentials = secrets.encrypt(values)
    connection.save(update_fields=["credentials", "updated_at"])


def remove_connection(name: str) -> None:
    """The connection and its cursors go; the records it synced stay under its source."""
    deleted, _ = Connection.objects.filter(name=name).delete()
    if not deleted:
        raise ConnectionProblem(f"no connection named '{name}'")


def rotate_keys() -> int:
    """Re-encrypt every connection's credentials with the first key; returns how many."""
    count = 0
    with transaction.atomic():
        for connection in Connection.objects.select_for_update().exclude(credentials=""):
            connection.credentials = secrets.rotate(connection.credentials)
            connection.save(update_fields=["credentials"])
            count += 1
    return count
