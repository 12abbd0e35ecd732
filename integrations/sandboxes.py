"""The demo's vendor sandboxes (tests/contract_servers/sandbox.py, started by bin/demo)
and their credentials, public on purpose: nothing behind them is a real vendor. Plain
values, no Django: the sandbox process reads them too."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PORT = 8765


@dataclass(frozen=True)
class Sandbox:
    name: str  # the demo connection's (its source)
    vendor: str
    offset: int  # port after the first sandbox's
    credentials: dict[str, str] = field(default_factory=dict)
    business_unit_id: str = ""


SANDBOXES = (
    Sandbox("hubspot-sandbox", "hubspot", 0, {"token": "pat-demo-sandbox"}),
    Sandbox(
        "salesforce-sandbox",
        "salesforce",
        1,
        {
            "client_id": "sf-demo",
            "client_secret": "sf-demo-secret",
            "refresh_token": "sf-demo-refresh",
        },
    ),
    Sandbox(
        "marketo-sandbox", "marketo", 2, {"client_id": "mk-demo", "client_secret": "mk-demo-secret"}
    ),
    Sandbox(
        "pardot-sandbox",
        "pardot",
        3,
        {
            "client_id": "pd-demo",
            "client_secret": "pd-demo-secret",
            "refresh_token": "pd-demo-refresh",
        },
        business_unit_id="0Uv5j000000DemoCAA",
    ),
)
BY_VENDOR = {sandbox.vendor: sandbox for sandbox in SANDBOXES}
