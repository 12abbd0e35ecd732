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
from integrations.hubspot.mapping import (
    HubSpotObject,
    RejectedRecord,
    Stage,
    instant,
    stages_of,
)
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
SEARCH_PAGE = 200  # search's largest page
SEARCH_CAP = 10_000  # results one search query can page through (beyond: HTTP 400)
SEARCHES_PER_SECOND = 5
# The property each object's last change is stamped in (search filters and sorts on it).
MODIFIED = {
    "contact": "lastmodifieddate",
    "company": "hs_lastmodifieddate",
    "deal": "hs_lastmodifieddate",
}
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
        # A tenth of a second to spare: HubSpot counts a search when it arrives.
        self.search_limiter = RateLimiter(SEARCHES_PER_SECOND, 1.1)

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    def _token(self, refused: str | None) -> str:
        if not self.oauth:
            if refused is not None:
                raise AuthenticationFailed("authentication failed: HubSpot refused the token")
            return secrets.resolve(self.credentials["token"])
        with self.transport.lock:  # the prefetching reader and the writer share the token
            # Both may be refused the same expired token: one refresh serves both.
            expiring = time.time() > self.expires_at - 60
            if not self.access_token or expiring or refused == self.access_token:
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
        data = self.transport.token_call(
            "POST", self.transport.base_url + "/oauth/v1/token", form=form
        )
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

    def search(
        self,
        kind: str,
        properties: Sequence[str],
        filters: list[dict[str, str]],
        sort: str,
        after: int = 0,
    ) -> tuple[list[HubSpotObject], int | None]:
        """POST /crm/v3/objects/{type}/search: one page sorted ascending on `sort`, and the
        offset of the next page (None at the end)."""
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": SEARCH_PAGE,
            "after": str(after),
        }
        data = self.transport.call(
            "POST",
            f"/crm/v3/objects/{PLURAL[kind]}/search",
            body=body,
            limiters=[self.search_limiter],
        ).data
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise SyncError(f"HubSpot: a {kind} search page without results")
        following = ((data.get("paging") or {}).get("next") or {}).get("after")
        try:
            next_after = int(str(following)) if following not in (None, "") else None
        except (TypeError, ValueError):
            raise SyncError(f"HubSpot: a {kind} search page with a bad next offset") from None
        return [_parsed(kind, item) for item in data["results"]], next_after

    def changed(
        self, kind: str, properties: Sequence[str], since_ms: int
    ) -> Iterator[list[HubSpotObject]]:
        """Every record whose last change is at or after `since_ms`, in ascending order of
        it, page by page, past search's cap of 10,000 results a query: before a page would
        cross it, a new query starts at the last stamp seen (its records come again: one
        upsert each); when one stamp alone holds a whole query, its records are walked by
        `hs_object_id`, then the search goes on after that stamp."""
        stamp_property = MODIFIED[kind]
        wanted = list(dict.fromkeys([*properties, stamp_property, "hs_object_id"]))
        operator, stamp = "GTE", since_ms
        tie_after: int | None = None  # walking one stamp's records by id, after this id
        while True:
            if tie_after is None:
                filters, sort = [_filter(stamp_property, operator, stamp)], stamp_property
            else:
                filters = [
                    _filter(stamp_property, "EQ", stamp),
                    _filter("hs_object_id", "GT", tie_after),
                ]
                sort = "hs_object_id"
            after: int | None = 0
            stamps: list[int] = []
            ids: list[int] = []
            while after is not None and after + SEARCH_PAGE <= SEARCH_CAP:
                page, after = self.search(kind, wanted, filters, sort, after)
                if not page and after is not None:
                    raise SyncError(f"HubSpot: an empty {kind} search page says more follow")
                if page:
                    yield page
                stamps.extend(stamp_ms(item, stamp_property) for item in page)
                ids.extend(_numeric_id(item) for item in page)
            if after is None:  # this query is exhausted
                if tie_after is None:
                    return
                operator, tie_after = "GT", None  # the tied stamp is done: go on after it
            elif tie_after is not None:
                tie_after = max(ids)  # more records share the stamp: go on by id
            elif min(stamps) == max(stamps):
                # One stamp fills a whole query: walk its records by id from the start
                # (those already read come again, one upsert each).
                stamp, tie_after = stamps[0], 0
            else:
                operator, stamp = "GTE", max(stamps)

    def highest_stamp(self, kind: str) -> int | None:
        """The newest last-change stamp of `kind` (search, sorted descending, 1 result);
        a full listing's cursor: records changed while it lists have a later one."""
        stamp_property = MODIFIED[kind]
        body = {
            "filterGroups": [{"filters": [_filter(stamp_property, "GTE", 0)]}],
            "sorts": [{"propertyName": stamp_property, "direction": "DESCENDING"}],
            "properties": [stamp_property],
            "limit": 1,
        }
        data = self.transport.call(
            "POST",
            f"/crm/v3/objects/{PLURAL[kind]}/search",
            body=body,
            limiters=[self.search_limiter],
        ).data
        results = (data or {}).get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise SyncError(f"HubSpot: a {kind} search page without results")
        return stamp_ms(_parsed(kind, results[0]), stamp_property) if results else None

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


def _filter(name: str, operator: str, value: int) -> dict[str, str]:
    return {"propertyName": name, "operator": operator, "value": str(value)}


def stamp_ms(item: HubSpotObject, name: str) -> int:
    """A record's last-change stamp in epoch milliseconds (search filters take those)."""
    raw = item.text(name)
    if not raw:
        raise SyncError(f"HubSpot sent a {item.kind} ({item.id}) without {name}")
    try:
        return int(instant(raw).timestamp() * 1000)
    except ValueError:
        raise SyncError(f"HubSpot sent a {item.kind} ({item.id}) with a bad {name}") from None


def _numeric_id(item: HubSpotObject) -> int:
    if not item.id.isdigit():
        raise SyncError(f"HubSpot sent a {item.kind} whose id is not a number: {item.id[:40]}")
    return int(item.id)


def _parsed(kind: str, item: Any) -> HubSpotObject:
    try:
        return HubSpotObject.parse(kind, item)
    except RejectedRecord as exc:
        raise SyncError(f"HubSpot sent a malformed {kind}: {exc}") from None
