"""The demo's connection: a HubSpot portal served by the local sandbox that `bin/demo`
starts beside the product (tests/contract_servers/hubspot.py, which follows HubSpot's API
documentation). An ops admin syncs it from the connections page like a real portal."""

from __future__ import annotations

from integrations.connections import add_connection, set_credentials
from integrations.models import Connection

DEMO_CONNECTION = "hubspot-sandbox"
DEMO_SANDBOX_URL = "http://127.0.0.1:8765"
DEMO_SANDBOX_TOKEN = "pat-demo-sandbox"  # noqa: S105 - the local sandbox's, public


def ensure_demo_connection(base_url: str = DEMO_SANDBOX_URL) -> tuple[Connection, bool]:
    """The demo connection, created once (its runs and cursors kept on a reload)."""
    found = Connection.objects.filter(name=DEMO_CONNECTION).first()
    if found is not None:
        if found.base_url != base_url:
            found.base_url = base_url
            found.save(update_fields=["base_url"])
        set_credentials(found, {"token": DEMO_SANDBOX_TOKEN})
        return found, False
    created = add_connection(
        DEMO_CONNECTION, "hubspot", {"token": DEMO_SANDBOX_TOKEN}, base_url=base_url
    )
    return created, True
