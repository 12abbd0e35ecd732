"""Account Engagement (Pardot) API v5, one typed function per use (docs/connectors.md
section 6), through the one HTTP seam (integrations/transport.py).

What Salesforce documents for Account Engagement v5 and this client follows ("Version 5
Overview", "Authentication", "Error Codes and Messages"):
- A Salesforce OAuth access token (refresh-token flow at `{login}/services/oauth2/token`,
  scope `pardot_api`; no `expires_in`) goes as `Authorization: Bearer`, with the header
  `Pardot-Business-Unit-Id` on every call. The API lives at the connection's base URL
  (`https://pi.pardot.com`, or `pi.demo.pardot.com`), not at the token's `instance_url`.
- Errors are `{"code", "message"}`; only the code counts (HTTP statuses are undocumented):
  184 refreshes the token once; 181, 182, 201 and 49 are configuration (the business unit,
  the user) and fail the run with the vendor's message; 66 (over 5 requests in flight per
  business unit) waits at least a second; 122 (the daily allocation) stops the run; 183 and
  HTTP 5xx are retried; 210 and 211 (a page token expired or invalid) restart the query
  after its last record.
- Queries: `fields` is required and only those come back; `limit` at most 1000; answers
  are `{"nextPageToken", "nextPageUrl", "values"}`; a call with a token sends nothing else;
  a token sequence ends after 100,000 records with `Pardot-Warning: 203` and no token: a
  new query starts after the last record. At most 3 distinct fields carry filters;
  timestamps carry their offset (requests URL-encodes the `+`).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrations import secrets
from integrations.models import Connection
from integrations.salesforce.client import SObject, salesforce_login
from integrations.transport import (
    Answer,
    QuotaExhausted,
    SyncError,
    TokenExpired,
    Transient,
    Transport,
    Vendor,
    retry_after,
)
from integrations.values import instant

API = "/api/v5/objects"
PAGE = 1000  # the largest `limit`
CONFIGURATION = {181, 182, 201, 49}  # header missing, bad header, business unit, user


class PageTokenRefused(SyncError):
    """210 (a page token lives 4 hours) or 211 (invalid): restart the query after its last
    record."""


def pardot_error(data: Any) -> tuple[int | None, str]:
    """(code, message) of a v5 error body."""
    if isinstance(data, dict) and isinstance(data.get("code"), int):
        return int(data["code"]), str(data.get("message") or "")[:300]
    return None, ""


class PardotVendor(Vendor):
    name = "Account Engagement"

    def classify(self, answer: Answer) -> None:
        code, message = pardot_error(answer.data)
        if code is None:
            if answer.status < 400:
                if not isinstance(answer.data, dict):
                    raise Transient("Account Engagement: an answer that is not a JSON object")
                return
            super().classify(answer)  # 5xx retried, 401 refused, the rest fails
            return
        if code == 184:
            raise TokenExpired()
        if code == 66:
            wait = retry_after(answer.headers)
            raise Transient(
                "Account Engagement: over the concurrent request limit (66)",
                1.0 if wait is None else wait,
            )
        if code == 122:
            raise QuotaExhausted(
                f"Account Engagement's daily API allocation is used up (122: {message}); "
                "the next run resumes"
            )
        if code == 183 or answer.status >= 500:
            raise Transient(f"Account Engagement: {code} {message}")
        if code in (210, 211):
            raise PageTokenRefused(f"Account Engagement: {code} {message}")
        if code in CONFIGURATION:
            raise SyncError(
                f"Account Engagement refused the business unit or user: {code} {message}"
            )
        raise SyncError(f"Account Engagement: {code} {message}")


@dataclass(frozen=True)
class PardotRecord(SObject):
    """One record of a query answer (the fields asked for), read as Salesforce's records
    are (`text`); `type` names the collection read, or the object kept (`prospect`)."""

    @classmethod
    def parse(cls, sobject: str, data: Any) -> PardotRecord:
        if not isinstance(data, dict) or not isinstance(data.get("id"), int | str):
            raise SyncError(f"Account Engagement sent a {sobject} record without an id")
        return cls(sobject, str(data["id"]), dict(data))

    @property
    def deleted(self) -> bool:
        return self.fields.get("isDeleted") is True

    def stamp(self, name: str) -> dt.datetime:
        raw = self.text(name)
        try:
            return instant(raw)
        except ValueError:
            raise SyncError(
                f"Account Engagement sent a {self.type} record ({self.id}) without a valid "
                f"{name}: {raw[:40]!r}"
            ) from None


def filter_time(moment: dt.datetime) -> str:
    """A filter timestamp: ISO 8601 with its offset (the `+` is URL-encoded when sent)."""
    return moment.isoformat()


class PardotClient:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.credentials = secrets.decrypt(connection.credentials)
        self.login_url = connection.login_url.rstrip("/")
        self.business_unit = connection.business_unit_id
        self.access_token = ""
        self.transport = Transport(
            connection.base_url.rstrip("/") + API, PardotVendor(), token=self._token
        )

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    # --- authentication ------------------------------------------------------------------

    def _token(self, refused: str | None) -> str:
        with self.transport.lock:  # the prefetching reader and the writer share the token
            if not self.access_token or refused == self.access_token:
                self._refresh()
            return self.access_token

    def _refresh(self) -> None:
        """Salesforce "OAuth 2.0 Refresh Token Flow" at the login URL (as the Salesforce
        connector does); only `access_token` is used: the API is at the base URL."""
        data = salesforce_login(self.transport, self.login_url, self.credentials)
        self.access_token = str(data["access_token"])

    # --- calls ---------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, Any]) -> Answer:
        headers = {"Pardot-Business-Unit-Id": self.business_unit}
        return self.transport.call("GET", path, params, headers=headers)

    def lifecycle_stage_names(self) -> list[str]:
        """`lifecycle-stages?fields=id,name`: the test call (one page)."""
        data = self._get("/lifecycle-stages", {"fields": "id,name"}).data
        values = data.get("values") if isinstance(data, dict) else None
        return [str(v.get("name")) for v in values or [] if isinstance(v, dict)]

    def newest(
        self, kind: str, stamp: str, params: Mapping[str, Any] | None = None
    ) -> dt.datetime | None:
        """The highest `stamp` of the query's records now (None when it has none): where the
        incremental reads after a full one start, so what changes while it reads is seen."""
        query = {**(params or {}), "fields": f"id,{stamp}", "orderBy": f"{stamp} DESC", "limit": 1}
        data = self._get(f"/{kind}", query).data
        values = data.get("values") if isinstance(data, dict) else None
        if not isinstance(values, list):
            raise SyncError(f"Account Engagement: a page of {kind} without values")
        if not values:
            return None
        return PardotRecord.parse(kind, values[0]).stamp(stamp)

    def by_id(
        self, kind: str, fields: Sequence[str], params: Mapping[str, Any] | None = None
    ) -> Iterator[list[PardotRecord]]:
        """Every record of the query in id order, page by page; a token sequence that ends
        early (203) or whose token is refused (210, 211) goes on with `idGreaterThan` the
        last id read."""
        fields = _with(fields, "id")
        last: list[PardotRecord] = []
        while True:
            query = {**(params or {}), "orderBy": "id"}
            if last:
                query["idGreaterThan"] = last[0].id
            complete = yield from self._sequence(kind, fields, query, last)
            if complete:
                return

    def by_stamp(
        self,
        kind: str,
        fields: Sequence[str],
        stamp: str,
        since: dt.datetime | None,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[list[PardotRecord]]:
        """Every record of the query with `stamp` at or after `since`, in (stamp, id)
        order, page by page. A sequence that ends early or whose token is refused goes on
        after its last record (T, i): first T's other records by id (`idGreaterThan` i),
        then the records after T."""
        fields = _with(fields, "id", stamp)
        order = {**(params or {}), "orderBy": f"{stamp},id"}
        last: list[PardotRecord] = []
        query = {**order, **({f"{stamp}AfterOrEqualTo": filter_time(since)} if since else {})}
        while True:
            complete = yield from self._sequence(kind, fields, query, last)
            if complete:
                return
            moment = filter_time(last[0].stamp(stamp))
            while True:  # the rest of the last record's stamp, by id
                ties = {
                    **(params or {}),
                    "orderBy": "id",
                    f"{stamp}AfterOrEqualTo": moment,
                    f"{stamp}BeforeOrEqualTo": moment,
                    "idGreaterThan": last[0].id,
                }
                if (yield from self._sequence(kind, fields, ties, last)):
                    break
            query = {**order, f"{stamp}After": moment}

    def _sequence(
        self,
        kind: str,
        fields: Sequence[str],
        query: Mapping[str, Any],
        last: list[PardotRecord],
    ) -> Generator[list[PardotRecord], None, bool]:
        """One token sequence, page by page, keeping its last record in `last`; True when
        it reached the end, False when it ended early (203) or its token was refused."""
        path = f"/{kind}"
        answer = self._get(path, {**query, "fields": ",".join(fields), "limit": PAGE})
        while True:
            data = answer.data
            values = data.get("values") if isinstance(data, dict) else None
            if not isinstance(values, list):
                raise SyncError(f"Account Engagement: a page of {kind} without values")
            page = [PardotRecord.parse(kind, value) for value in values]
            if page:
                last[:] = page[-1:]
                yield page
            token = data.get("nextPageToken") or _token_of(data.get("nextPageUrl"))
            if not token:
                if not answer.headers.get("Pardot-Warning", "").startswith("203"):
                    return True
                if not last:
                    raise SyncError(f"Account Engagement ended a {kind} sequence empty (203)")
                return False
            try:
                answer = self._get(path, {"nextPageToken": token})
            except PageTokenRefused:
                if not last:
                    raise
                return False


def _token_of(url: Any) -> str:
    """The page token a `nextPageUrl` carries (the URL itself is not followed: the bearer
    token goes only to the connection's base URL)."""
    if not isinstance(url, str) or not url:
        return ""
    return (urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("nextPageToken") or [""])[0]


def _with(fields: Sequence[str], *needed: str) -> list[str]:
    return list(dict.fromkeys([*needed, *fields]))
