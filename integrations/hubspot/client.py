"""HubSpot's CRM API, one typed function per endpoint (docs/connectors.md section 3),
through the one HTTP seam (integrations/transport.py).

Errors (HubSpot "Error handling" and "API usage guidelines and limits"): 429 waits
Retry-After when sent, else backs off; policyName DAILY stops the run; 423, 477 and 5xx are
retried; 401 with category EXPIRED_AUTHENTICATION refreshes an OAuth token once; other 401s
and 403 (missing scopes) fail the run with HubSpot's message. Requests are paced under the
burst limit (190 per 10 s for a private app, 110 for OAuth) and search under 5 per second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from integrations import secrets
from integrations.hubspot.mapping import HubSpotObject, RejectedRecord, Stage, stages_of
from integrations.models import Connection
from integrations.transport import (
    Answer,
    AuthenticationFailed,
    QuotaExhausted,
    RateLimiter,
    SyncError,
    TokenExpired,
    Transient,
    Transport,
    Vendor,
    message_of,
    retry_after,
)

PAGE = 100  # list endpoints' largest page
ASSOCIATION_BATCH = 1000
BURST_PRIVATE_APP, BURST_OAUTH, BURST_WINDOW = 190, 110, 10.0
PLURAL = {"contact": "contacts", "company": "companies", "deal": "deals"}


class HubSpotVendor(Vendor):
    name = "HubSpot"

    def classify(self, answer: Answer) -> None:
        data = answer.data if isinstance(answer.data, dict) else {}
        if answer.status == 429:
            if data.get("policyName") == "DAILY":
                raise QuotaExhausted("HubSpot's daily API limit is used up; the next run resumes")
            raise Transient("HubSpot: rate limited (429)", retry_after(answer.headers))
        if answer.status in (423, 477) or answer.status >= 500:
            raise Transient(f"HubSpot: HTTP {answer.status}")
        if answer.status == 401:
            if data.get("category") == "EXPIRED_AUTHENTICATION":
                raise TokenExpired()
            raise AuthenticationFailed(f"authentication failed: {message_of(data)}")
        if answer.status == 403:
            raise SyncError(f"HubSpot refused the request (missing scopes?): {message_of(data)}")
        if answer.status >= 400:
            raise SyncError(f"HubSpot: HTTP {answer.status}: {message_of(data)}")


class HubSpotClient:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.credentials = secrets.decrypt(connection.credentials)
        self.oauth = not self.credentials.get("token")
        burst = BURST_OAUTH if self.oauth else BURST_PRIVATE_APP
        self.access_token = ""
        self.expires_at = 0.0
        self.transport = Transport(
            connection.base_url.rstrip("/"),
            HubSpotVendor(),
            limiters=[RateLimiter(burst, BURST_WINDOW)],
            token=self._token,
        )

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    def _token(self, refresh: bool) -> str:
        if not self.oauth:
            if refresh:
                raise AuthenticationFailed("authentication failed: HubSpot refused the token")
            return secrets.resolve(self.credentials["token"])
        if refresh or not self.access_token or time.time() > self.expires_at - 60:
            self._refresh()
        return self.access_token

    def _refresh(self) -> None:
        """OAuth: POST /oauth/v1/token with the refresh token (HubSpot "Refresh an access
        token"); a refused refresh fails the run."""
        form = {
            "grant_type": "refresh_token",
            "client_id": secrets.resolve(self.credentials["client_id"]),
            "client_secret": secrets.resolve(self.credentials["client_secret"]),
            "refresh_token": secrets.resolve(self.credentials["refresh_token"]),
        }
        self.transport.requests_made += 1
        response = self.transport.session.post(
            self.transport.base_url + "/oauth/v1/token", data=form, timeout=(10, 60)
        )
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code != 200 or "access_token" not in data:
            raise AuthenticationFailed(f"authentication failed: {message_of(data)}")
        self.access_token = str(data["access_token"])
        self.expires_at = time.time() + float(data.get("expires_in", 1800))

    # --- endpoints --------------------------------------------------------------------

    def account(self) -> dict[str, Any]:
        """GET /account-info/v3/details: the test call."""
        data = self.transport.call("GET", "/account-info/v3/details").data
        return data if isinstance(data, dict) else {}

    def pages(
        self, kind: str, properties: Sequence[str], archived: bool = False
    ) -> Iterator[list[HubSpotObject]]:
        """GET /crm/v3/objects/{type}, page by page to the end (paging.next.after)."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {
                "limit": PAGE,
                "properties": ",".join(properties),
                "archived": "true" if archived else "false",
            }
            if after:
                params["after"] = after
            data = self.transport.call("GET", f"/crm/v3/objects/{PLURAL[kind]}", params).data
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise SyncError(f"HubSpot: a {kind} page without results")
            yield [_parsed(kind, item) for item in data["results"]]
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def deal_associations(
        self, deal_ids: Sequence[str], to: str
    ) -> dict[str, list[tuple[str, list[str]]]]:
        """POST /crm/v4/associations/deals/{to}/batch/read: per deal, (id, labels) of the
        associated objects; 207 with NO_ASSOCIATIONS_FOUND means none."""
        found: dict[str, list[tuple[str, list[str]]]] = {deal: [] for deal in deal_ids}
        for start in range(0, len(deal_ids), ASSOCIATION_BATCH):
            batch = deal_ids[start : start + ASSOCIATION_BATCH]
            body = {"inputs": [{"id": deal} for deal in batch]}
            data = self.transport.call(
                "POST", f"/crm/v4/associations/deals/{PLURAL[to]}/batch/read", body=body
            ).data
            for result in (data or {}).get("results", []):
                deal = str((result.get("from") or {}).get("id", ""))
                for target in result.get("to", []):
                    labels = [str(t.get("label") or "") for t in target.get("associationTypes", [])]
                    found.setdefault(deal, []).append((str(target.get("toObjectId")), labels))
        return found

    def stages(self) -> dict[str, Stage]:
        return stages_of(self.transport.call("GET", "/crm/v3/pipelines/deals").data)

    def owners(self) -> dict[str, str]:
        """Owner id -> display name (`last first` in Japanese, as names are shown)."""
        from integrations.hubspot.mapping import display_name

        names: dict[str, str] = {}
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE, **({"after": after} if after else {})}
            data = self.transport.call("GET", "/crm/v3/owners", params).data or {}
            for owner in data.get("results", []):
                name = display_name(owner.get("firstName") or "", owner.get("lastName") or "")
                names[str(owner.get("id"))] = name or str(owner.get("email") or owner.get("id"))
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return names


def _parsed(kind: str, item: Any) -> HubSpotObject:
    try:
        return HubSpotObject.parse(kind, item)
    except RejectedRecord as exc:
        raise SyncError(f"HubSpot sent a malformed {kind}: {exc}") from None
