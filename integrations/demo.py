"""The demo's connections: one per vendor sandbox that `bin/demo` starts beside the product
(integrations/sandboxes.py; tests/contract_servers/, which follow each vendor's API
documentation): a HubSpot portal, a Salesforce org and a Marketo instance holding one
company, an Account Engagement business unit. An ops admin syncs them from the
connections page like real ones."""

from __future__ import annotations

from urllib.parse import urlsplit

from integrations.connections import add_connection, set_credentials
from integrations.models import Connection
from integrations.sandboxes import BY_VENDOR, DEFAULT_PORT, SANDBOXES, Sandbox

DEMO_CONNECTION = BY_VENDOR["hubspot"].name
DEMO_SANDBOX_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def _url(first: str, sandbox: Sandbox) -> str:
    parts = urlsplit(first)
    port = (parts.port or DEFAULT_PORT) + sandbox.offset
    return f"{parts.scheme}://{parts.hostname}:{port}"


def ensure_sandbox_connection(sandbox: Sandbox, url: str) -> tuple[Connection, bool]:
    """The sandbox's connection, created once (its runs and cursors kept on a reload)."""
    base_url = url if sandbox.vendor != "salesforce" else ""
    login_url = url if sandbox.vendor in ("salesforce", "pardot") else ""
    found = Connection.objects.filter(name=sandbox.name).first()
    if found is not None:
        changed = [
            name
            for name, value in (("base_url", base_url), ("login_url", login_url))
            if value and getattr(found, name) != value
        ]
        for name in changed:
            setattr(found, name, base_url if name == "base_url" else login_url)
        if changed:
            found.save(update_fields=changed)
        set_credentials(found, sandbox.credentials)
        return found, False
    created = add_connection(
        sandbox.name,
        sandbox.vendor,
        sandbox.credentials,
        base_url=base_url,
        login_url=login_url,
        business_unit_id=sandbox.business_unit_id,
    )
    return created, True


def ensure_demo_connections(first_url: str = DEMO_SANDBOX_URL) -> list[tuple[Connection, bool]]:
    """Every sandbox's connection; `first_url` is the HubSpot sandbox's, the others listen
    on the ports after it."""
    return [ensure_sandbox_connection(sandbox, _url(first_url, sandbox)) for sandbox in SANDBOXES]


def ensure_demo_connection(base_url: str = DEMO_SANDBOX_URL) -> tuple[Connection, bool]:
    """The HubSpot sandbox's connection alone."""
    return ensure_sandbox_connection(BY_VENDOR["hubspot"], base_url)
