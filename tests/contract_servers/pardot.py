"""An Account Engagement (Pardot) API v5 on 127.0.0.1, with the Salesforce login endpoint
beside it, for the connector's tests and benchmark.

Follows the vendor's public documentation (Salesforce Developers, "Account Engagement API"),
not our connector (docs/connectors.md section 6 says what the connector needs; where the two
differ this server follows the vendor):

- "Authentication" (guide/authentication.html): a Salesforce OAuth access token from
  `/services/oauth2/token` (connected app with scope `pardot_api`) sent as
  `Authorization: Bearer`, plus the header `Pardot-Business-Unit-Id` on every call; a business
  unit id "begins with 0Uv and is 18 characters long". The token answer follows Salesforce
  Help "OAuth 2.0 Refresh Token Flow": access_token, instance_url, id, token_type Bearer,
  issued_at, signature, scope, and no expires_in; a bad refresh token is a 400
  `{"error": "invalid_grant", "error_description": "expired access/refresh token"}`.
- "Error Codes and Messages" (guide/error-codes.html): v5 errors are `{"code", "message"}`;
  the codes and their messages used here are 5, 7, 13, 16, 23, 49, 60, 66 ("You have exceeded
  your concurrent request limit..."), 122 ("Daily API rate limit met"), 180, 181 ("A required
  header is missing"), 182 ("Invalid header value"), 183 ("An internal error occurred, please
  try your request again": try again), 184 ("access_token is invalid, unknown, or malformed"),
  192, 198, 201 ("Business Unit specified in Pardot-Business-Unit-Id header not found or
  inactive"; also the answer for the wrong host, pi.pardot.com vs pi.demo.pardot.com),
  209 (more than 3 distinct fields with filters), 210 ("Page token has expired.", tokens live
  4 hours), 211 ("Page token is invalid."). The page gives no HTTP status per code: see
  STATUS below (400 unless said otherwise; 184 is served as 401).
- "Version 5 Overview" (guide/version5overview.html): queries are `GET
  /api/v5/objects/{collection}`; `fields` is required and only those fields come back (dot
  notation reaches a related object: `campaign.name`); `limit` defaults to 200, at most 1000;
  `orderBy` is a comma list of `field [ASC|DESC]`; `deleted` is `false` (default), `true`
  (the recycle bin only) or `all`, for objects that have a recycle bin; answers are
  `{"nextPageToken", "nextPageUrl", "values"}`; a request with `nextPageToken` may carry
  `fields` and nothing else (a 400 otherwise); a token sequence stops after 100,000 records
  with the header `Pardot-Warning: 203;Record count for nextPageToken sequence has been
  exceeded. No page token returned.`; datetimes are ISO 8601 with an offset
  (`2026-04-01T00:00:00+09:00`, the `+` URL-encoded) and come back in the API user's time
  zone; reads may lag writes by up to 60 s (not simulated); daily allocation (Growth 25,000,
  Plus 50,000, Advanced/Premium 100,000 calls, code 122) and at most 5 concurrent requests
  per business unit (code 66).
- Object pages "Lifecycle History" (lifecycle-history-v5.html: id, prospectId,
  previousStageId, nextStageId, secondsElapsed, createdAt; no `updatedAt`; sortable by `id`
  and `createdAt` only) and "Visitor Activity" (visitor-activity-v5.html: `createdAt` is when
  it happened; `prospectId`, empty for an anonymous visitor; the numeric `type` and its
  `typeName`; no recycle bin, so no `deleted` parameter). "Prospect", "Campaign", "User" and
  "Lifecycle Stage" field names (prospect owner `assignedToId`, CRM links `salesforceLeadId` /
  `salesforceContactId`, `isDeleted`) as clients of those pages use them (below).

How they were read: the stored copies of developer.salesforce.com (authentication,
error-codes, version5overview, lifecycle-history-v5, visitor-activity-v5) give each page's
opening; the rest of "Error Codes" and "Version 5 Overview" (the token rules, Pardot-Warning
values, limits) was read in API Evangelist's transcription of those pages
(github.com/api-evangelist/pardot: errors/pardot-error-codes.yml,
conventions/pardot-conventions.yml, rate-limits/pardot-rate-limits.yml), and the v5 field
and filter names were checked against Airbyte's source-pardot manifest (v5 field lists) and
amp-labs/connectors (per-object `updatedAtAfterOrEqualTo` / `createdAtAfterOrEqualTo`).

Filter names are the v5 ones (`idGreaterThan`, `createdAtAfterOrEqualTo`,
`updatedAtBefore`, `prospectId`, `prospectIdGreaterThan`, ...). Where the pages were silent
this server picks and says so: the code of a missing `fields` (13), of an unknown field
(180), of a bad parameter (5), of a bad timestamp (7), of a call without any Authorization
header (49 "Access Denied", as a third-party probe of pi.pardot.com reported); unknown
parameters are refused rather than ignored; the order of checks (token, business unit, daily
allocation, concurrency); an id tie-break is implied in every orderBy; a page token
remembers the query (so `fields` may be left off a token call, and nextPageUrl carries the
token only); the 100,000 cap is exact (the last page of a sequence is cut at the cap);
visitor activities and lifecycle histories of a prospect in the recycle bin stay listed (no
page says they disappear; the product drops them itself); an undelete moves `updatedAt`.

Faults a test asks for are served once each (after the authentication and limit checks):
"66", "122", "183", "184" (also expires every access token), "210" / "211" (only on a request
carrying a nextPageToken), "500", "502" (an HTML body), "cut" (a third of the body, then the
socket is shut), "not-json".
"""

from __future__ import annotations

import base64
import bisect
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

KINDS = (
    "prospects",
    "campaigns",
    "users",
    "lifecycle-stages",
    "lifecycle-histories",
    "visitor-activities",
)

# Readable fields per object (v5 names).
FIELDS: dict[str, tuple[str, ...]] = {
    "prospects": (
        "id", "email", "firstName", "lastName", "company", "jobTitle", "source", "campaignId",
        "score", "grade", "industry", "employees", "country", "assignedToId", "lifecycleStageId",
        "salesforceId", "salesforceLeadId", "salesforceContactId", "convertedAt", "isDeleted",
        "createdAt", "updatedAt",
    ),
    "campaigns": (
        "id", "name", "cost", "folderId", "parentCampaignId", "salesforceId", "isDeleted",
        "createdAt", "updatedAt",
    ),
    "users": (
        "id", "email", "username", "firstName", "lastName", "jobTitle", "role", "isDeleted",
        "createdAt", "updatedAt",
    ),
    "lifecycle-stages": ("id", "name", "position", "isLocked", "matchType", "createdAt",
                         "updatedAt"),
    "lifecycle-histories": ("id", "prospectId", "previousStageId", "nextStageId",
                            "secondsElapsed", "createdAt"),
    "visitor-activities": (
        "id", "prospectId", "visitorId", "visitId", "type", "typeName", "details", "emailId",
        "emailTemplateId", "listEmailId", "fileId", "formId", "formHandlerId", "landingPageId",
        "customRedirectId", "campaignId", "createdAt", "updatedAt",
    ),
}  # fmt: skip
DATE_FIELDS = frozenset({"createdAt", "updatedAt", "convertedAt"})
RECYCLE_BIN = frozenset({"prospects", "campaigns", "users"})
# Related objects reachable with dot notation: name -> (id field, collection).
RELATIONS: dict[str, dict[str, tuple[str, str]]] = {
    "prospects": {"campaign": ("campaignId", "campaigns"), "assignedTo": ("assignedToId", "users")},
    "campaigns": {},
    "users": {},
    "lifecycle-stages": {},
    "lifecycle-histories": {
        "prospect": ("prospectId", "prospects"),
        "previousStage": ("previousStageId", "lifecycle-stages"),
        "nextStage": ("nextStageId", "lifecycle-stages"),
    },
    "visitor-activities": {
        "prospect": ("prospectId", "prospects"),
        "campaign": ("campaignId", "campaigns"),
    },
}
SORTABLE: dict[str, tuple[str, ...]] = {
    kind: ("id", "createdAt") if kind == "lifecycle-histories" else ("id", "createdAt", "updatedAt")
    for kind in KINDS
}
# Filtered fields per object: integer fields (equality and GreaterThan/LessThan variants),
# datetime fields (equality and After/Before variants) and plain equality fields.
INT_FILTERS: dict[str, tuple[str, ...]] = {
    "prospects": ("id",),
    "campaigns": ("id",),
    "users": ("id",),
    "lifecycle-stages": ("id",),
    "lifecycle-histories": ("id", "prospectId"),
    "visitor-activities": ("id", "prospectId", "type"),
}
EQUAL_FILTERS: dict[str, tuple[str, ...]] = {
    "prospects": ("email",),
    "campaigns": ("name",),
    "users": ("email",),
    "lifecycle-stages": ("name",),
    "lifecycle-histories": (),
    "visitor-activities": (),
}
INT_OPS = {
    "": lambda a, b: a == b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}
DATE_OPS = {
    "": lambda a, b: a == b,
    "After": lambda a, b: a > b,
    "AfterOrEqualTo": lambda a, b: a >= b,
    "Before": lambda a, b: a < b,
    "BeforeOrEqualTo": lambda a, b: a <= b,
}
# Visitor activity types used by the product (the vendor's "Visitor Activity" type table).
TYPE_NAMES = {
    1: "Click",
    2: "View",
    4: "Success",
    6: "Email",
    11: "Open",
    20: "Visit",
    24: "Attended Webinar",
    29: "Event Checked In",
}
MESSAGES = {
    5: "Invalid query parameters",
    7: "Invalid timestamp",
    13: "One or more required parameters are missing",
    16: "Invalid ID",
    23: "Invalid value specified for limit",
    49: "Access Denied",
    60: "Invalid HTTP request method",
    66: "You have exceeded your concurrent request limit. Please wait, before trying again",
    122: "Daily API rate limit met",
    180: "One or more of the specified fields are invalid",
    181: "A required header is missing",
    182: "Invalid header value",
    183: "An internal error occurred, please try your request again",
    184: "access_token is invalid, unknown, or malformed",
    192: "Object specified does not exist",
    198: "Endpoint not found",
    201: "Business Unit specified in Pardot-Business-Unit-Id header not found or inactive.",
    209: "Too many fields have filters: The max number of 3 distinct fields with filters was "
    "exceeded for this query.",
    210: "Page token has expired.",
    211: "Page token is invalid.",
}
# HTTP status per code. The vendor documents none per code ("Error Codes" gives 400 for bad
# requests, 404 for a missing record, 405 for a refused operation); 184 as 401 follows the
# product spec (docs/connectors.md section 6); everything else is 400. A test may change it.
STATUS: dict[int, int] = {49: 401, 184: 401, 192: 404, 198: 404, 60: 405}
WARNING_203 = (
    "203;Record count for nextPageToken sequence has been exceeded. No page token returned."
)
WARNING_201 = "201;Record In Recycle Bin"
BU_SHAPE = re.compile(r"0Uv[0-9A-Za-z]{15}")


@dataclass
class Fault:
    path: str  # a regular expression over the request path
    kind: str  # 66, 122, 183, 184, 210, 211, 500, 502, cut, not-json
    times: int = 1
    skip: int = 0  # matching requests served normally before the fault


class ApiError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.message = MESSAGES[code] + (f" {detail}" if detail else "")


@dataclass
class Query:
    kind: str
    fields: list[str]
    limit: int
    order: list[tuple[str, int]]  # (field, +1 ascending / -1 descending); id last
    filters: list[tuple[str, str, Any]]  # (field, operator suffix, value)
    deleted: str  # false, true, all
    sequence: int = 0  # records this token sequence has delivered before this page


@dataclass
class PageToken:
    query: Query
    after: tuple[int, ...]  # sort key (signed) of the last record delivered
    issued: float = field(default_factory=time.monotonic)


class _Index:
    """One object's records sorted by (field value, id), kept up to date lazily: small
    batches of changes are applied in place, a large batch (seeding) sorts again."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.keys: list[tuple[int, int]] = []
        self.pending: list[tuple[tuple[int, int] | None, tuple[int, int] | None]] = []
        self.stale = True

    def change(self, old: tuple[int, int] | None, new: tuple[int, int] | None) -> None:
        if not self.stale and old != new:
            self.pending.append((old, new))
            if len(self.pending) > 2000:
                self.stale, self.pending = True, []

    def view(self, records: dict[int, dict[str, Any]]) -> list[tuple[int, int]]:
        if self.stale:
            self.keys = sorted((_sortable(r.get(self.name)), i) for i, r in records.items())
            self.stale, self.pending = False, []
        for old, new in self.pending:
            if old is not None:
                at = bisect.bisect_left(self.keys, old)
                if at < len(self.keys) and self.keys[at] == old:
                    del self.keys[at]
            if new is not None:
                bisect.insort(self.keys, new)
        self.pending = []
        return self.keys


class PardotContractServer:
    """`with PardotContractServer() as pd:` -> pd.base_url serves both the Salesforce login
    (`/services/oauth2/token`) and the Account Engagement API (`/api/v5/objects/...`)."""

    token_ttl = 4 * 3600.0  # seconds a page token lives (code 210 after)

    def __init__(
        self,
        client_id: str = "pd-client",
        client_secret: str = "pd-secret",
        refresh_token: str = "pd-refresh",
        business_unit_id: str = "0Uv5j000000CaXXCAZ",
        max_concurrent: int = 5,
        daily_limit: int = 25_000,
        sequence_cap: int = 100_000,
        user_tz: str = "Asia/Tokyo",
        latency: float = 0.0,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token, self.business_unit_id = refresh_token, business_unit_id
        self.max_concurrent, self.daily_limit = max_concurrent, daily_limit
        self.sequence_cap, self.latency = sequence_cap, latency
        self.tz = ZoneInfo(user_tz)
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int, int | None]] = []
        self.calls_today = 0
        self.in_flight = 0
        self.max_in_flight = 0  # the most API calls seen in flight at once (for tests)
        self.revoked = False
        self.access_tokens: dict[str, bool] = {}  # token -> still valid
        self.page_tokens: dict[str, PageToken] = {}
        self.records: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.indexes: dict[tuple[str, str], _Index] = {
            (kind, name): _Index(name) for kind in KINDS for name in SORTABLE[kind]
        }
        self.deleted: dict[str, set[int]] = {kind: set() for kind in KINDS}
        self.by_prospect: dict[str, dict[int | None, set[int]]] = {
            "visitor-activities": {},
            "lifecycle-histories": {},
        }
        self.next_id: dict[str, int] = {kind: 1000 for kind in KINDS}
        self.lock = threading.RLock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> PardotContractServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- seeding -----------------------------------------------------------------------

    def put(self, kind: str, id: int | None = None, at: str | None = None, **fields: Any) -> int:
        """Create or change a record; `updatedAt` becomes `at` or now (whole seconds) and a
        new record's `createdAt` defaults to it. Datetime fields take ISO 8601 with an offset.
        Lifecycle histories have no `updatedAt`."""
        if kind not in FIELDS:
            raise ValueError(f"unknown kind {kind}")
        unknown = set(fields) - set(FIELDS[kind])
        if unknown:
            raise ValueError(f"{kind} has no field(s) {sorted(unknown)}")
        moment = _epoch(at) if at else int(time.time())
        with self.lock:
            if id is None:
                id = self.next_id[kind]
            self.next_id[kind] = max(self.next_id[kind], id + 1)
            old = self.records[kind].get(id)
            record = dict(old) if old else self._blank(kind, id)
            for name, value in fields.items():
                record[name] = _epoch(value) if name in DATE_FIELDS and value else value
            if old is None and "createdAt" not in fields:
                record["createdAt"] = moment
            if "updatedAt" in FIELDS[kind] and "updatedAt" not in fields:
                record["updatedAt"] = moment
            if kind == "visitor-activities" and "typeName" not in fields and "type" in fields:
                record["typeName"] = TYPE_NAMES.get(record["type"])
            self._store(kind, old, record)
        return id

    def delete(self, kind: str, id: int, touch: bool = False) -> None:
        """Move a record to the recycle bin; its `updatedAt` moves only if `touch`."""
        self._set_deleted(kind, id, True, touch)

    def undelete(self, kind: str, id: int, touch: bool = True) -> None:
        """Take a record out of the recycle bin (a change: `updatedAt` moves unless told)."""
        self._set_deleted(kind, id, False, touch)

    def link_visitor(self, activity_id: int, prospect_id: int, at: str | None = None) -> None:
        """An anonymous visit becomes the prospect's: prospectId set, updatedAt moves,
        createdAt (when it happened) stays."""
        with self.lock:
            old = self.records["visitor-activities"][activity_id]
            record = dict(old, prospectId=prospect_id)
            record["updatedAt"] = _epoch(at) if at else int(time.time())
            self._store("visitor-activities", old, record)

    def expire_tokens(self) -> None:
        """Every access token issued so far is refused from now on (code 184)."""
        with self.lock:
            self.access_tokens = dict.fromkeys(self.access_tokens, False)

    def revoke(self) -> None:
        """The refresh token is refused from now on (invalid_grant)."""
        with self.lock:
            self.revoked = True
            self.access_tokens = dict.fromkeys(self.access_tokens, False)

    def seed_lifecycle_stages(self, at: str | None = None) -> dict[int, int]:
        """The default stages (Visitor 0, Prospect 1, MQL 2, SQL 3, Won 4): position -> id."""
        names = ("Visitor", "Prospect", "Marketing Qualified Lead", "Sales Qualified Lead",
                 "Won Opportunity")  # fmt: skip
        return {
            position: self.put(
                "lifecycle-stages",
                id=10 + position,
                at=at,
                name=name,
                position=position,
                isLocked=True,
            )
            for position, name in enumerate(names)
        }

    def _blank(self, kind: str, id: int) -> dict[str, Any]:
        record: dict[str, Any] = dict.fromkeys(FIELDS[kind])
        record["id"] = id
        if kind in RECYCLE_BIN:
            record["isDeleted"] = False
        return record

    def _set_deleted(self, kind: str, id: int, deleted: bool, touch: bool) -> None:
        if kind not in RECYCLE_BIN:
            raise ValueError(f"{kind} has no recycle bin")
        with self.lock:
            old = self.records[kind][id]
            record = dict(old, isDeleted=deleted)
            if touch:
                record["updatedAt"] = int(time.time())
            self._store(kind, old, record)

    def _store(self, kind: str, old: dict[str, Any] | None, record: dict[str, Any]) -> None:
        id = record["id"]
        self.records[kind][id] = record
        for name in SORTABLE[kind]:
            before = None if old is None else (_sortable(old.get(name)), id)
            self.indexes[(kind, name)].change(before, (_sortable(record.get(name)), id))
        (self.deleted[kind].add if record.get("isDeleted") else self.deleted[kind].discard)(id)
        if kind in self.by_prospect:
            if old is not None:
                self.by_prospect[kind].get(old["prospectId"], set()).discard(id)
            self.by_prospect[kind].setdefault(record["prospectId"], set()).add(id)

    # --- serving -----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle and delayed
                # ACKs add ~40 ms to every small answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._serve(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server._serve(self, self.rfile.read(length))

            def do_PATCH(self) -> None:
                self.do_POST()

            def do_DELETE(self) -> None:
                server._serve(self, None)

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        url = urllib.parse.urlsplit(handler.path)
        admitted = False
        try:
            if url.path == "/services/oauth2/token":
                fault = self._fault_for(url.path, {})
                status, payload, headers = self._login(handler.command, body)
                code = None
            else:
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                status, payload, headers, fault, code, admitted = self._api(
                    handler, url.path, query
                )
            if fault in ("500", "502"):
                status, headers, code = int(fault), {"Content-Type": "text/html"}, None
                payload = f"<html><body><h1>{fault} Server Error</h1></body></html>".encode()
            elif fault == "not-json":
                status, payload = 200, b'{"nextPageToken": null, "values": [{"id": 1'
            self._respond(handler, url.path, status, payload, headers, code, fault == "cut")
        finally:
            if admitted:
                with self.lock:
                    self.in_flight -= 1

    def _respond(
        self,
        handler: BaseHTTPRequestHandler,
        path: str,
        status: int,
        payload: Any,
        headers: dict[str, str],
        code: int | None,
        cut: bool,
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with self.lock:
            self.requests.append((handler.command, path, status, code))
        handler.send_response(status)
        if "Content-Type" not in headers:
            handler.send_header("Content-Type", "application/json;charset=UTF-8")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if cut:
            handler.wfile.write(data[: len(data) // 3])
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        handler.wfile.write(data)

    def _fault_for(self, path: str, query: dict[str, str]) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.times <= 0 or not re.search(fault.path, path):
                    continue
                if fault.kind in ("210", "211") and "nextPageToken" not in query:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                return fault.kind
        return None

    def _login(self, method: str, body: bytes | None) -> tuple[int, Any, dict[str, str]]:
        """Salesforce "OAuth 2.0 Refresh Token Flow" (form fields)."""
        if method != "POST":
            return 405, {"error": "invalid_request", "error_description": "must use HTTP POST"}, {}
        form = dict(urllib.parse.parse_qsl((body or b"").decode()))
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "grant type not supported"}, {}  # fmt: skip
        if form.get("client_id") != self.client_id:
            return 400, {"error": "invalid_client_id",
                         "error_description": "client identifier invalid"}, {}  # fmt: skip
        if form.get("client_secret") != self.client_secret:
            return 400, {"error": "invalid_client",
                         "error_description": "invalid client credentials"}, {}  # fmt: skip
        if self.revoked or form.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant",
                         "error_description": "expired access/refresh token"}, {}  # fmt: skip
        with self.lock:
            token = f"00D5j000000PdAb!AQ{len(self.access_tokens) + 1:04d}{secrets.token_hex(24)}"
            self.access_tokens[token] = True
        issued = str(int(time.time() * 1000))
        identity = f"{self.base_url}/id/00D5j000000PdAbEAK/0055j000000PdUsAAC"
        signature = base64.b64encode(
            hmac.new(
                self.client_secret.encode(), (identity + issued).encode(), hashlib.sha256
            ).digest()
        ).decode()
        return (
            200,
            {
                "access_token": token,
                "signature": signature,
                "scope": "pardot_api refresh_token api",
                "instance_url": self.base_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued,
            },
            {},
        )

    def _api(
        self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str]
    ) -> tuple[int, Any, dict[str, str], str | None, int | None, bool]:
        """(status, payload, headers, fault, Pardot code, admitted to the in-flight count)."""
        try:
            self._authenticate(handler)
        except ApiError as exc:
            return *_error(exc), None, exc.code, False
        with self.lock:
            if self.calls_today >= self.daily_limit:
                return *_error(ApiError(122)), None, 122, False
            self.calls_today += 1
            if self.in_flight >= self.max_concurrent:
                return *_error(ApiError(66)), None, 66, False
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.latency:
            time.sleep(self.latency)
        fault = self._fault_for(path, query)
        if fault in ("66", "122", "183", "184", "210", "211"):
            if fault == "184":
                self.expire_tokens()
            return *_error(ApiError(int(fault))), None, int(fault), True
        try:
            status, payload, headers = self._route(handler.command, path, query)
        except ApiError as exc:
            return *_error(exc), fault, exc.code, True
        return status, payload, headers, fault, None, True

    def _authenticate(self, handler: BaseHTTPRequestHandler) -> None:
        auth = handler.headers.get("Authorization")
        if not auth:
            raise ApiError(49)
        token = auth.removeprefix("Bearer ").strip()
        with self.lock:
            if not auth.startswith("Bearer ") or not self.access_tokens.get(token):
                raise ApiError(184)
        unit = handler.headers.get("Pardot-Business-Unit-Id")
        if unit is None:
            raise ApiError(181, "Pardot-Business-Unit-Id")
        if not BU_SHAPE.fullmatch(unit):
            raise ApiError(182, "Pardot-Business-Unit-Id")
        if unit != self.business_unit_id:
            raise ApiError(201)

    def _route(
        self, method: str, path: str, query: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        match = re.fullmatch(r"/api/v5/objects/([a-z-]+)(?:/(\d+))?", path)
        if not match or match[1] not in FIELDS:
            raise ApiError(198, path)
        if method != "GET":
            raise ApiError(60)
        kind = match[1]
        if match[2] is not None:
            return self._read(kind, int(match[2]), query)
        return self._query(kind, query)

    # --- reads and queries ---------------------------------------------------------------

    def _read(self, kind: str, id: int, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        fields = self._fields(kind, query)
        unknown = set(query) - {"fields", "deleted"}
        if unknown:
            raise ApiError(5, ", ".join(sorted(unknown)))
        with self.lock:
            record = self.records[kind].get(id)
            if record is None:
                raise ApiError(192)
            if record.get("isDeleted") and query.get("deleted") not in ("true", "all"):
                status, payload = _error(ApiError(192))[:2]
                return status, payload, {"Pardot-Warning": WARNING_201}
            return 200, self._render(kind, record, fields), {}

    def _query(self, kind: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        headers: dict[str, str] = {}
        after: tuple[int, ...] | None = None
        if "nextPageToken" in query:
            extra = set(query) - {"nextPageToken", "fields"}
            if extra:
                raise ApiError(5, "only fields may accompany nextPageToken, not "
                               + ", ".join(sorted(extra)))  # fmt: skip
            with self.lock:
                token = self.page_tokens.get(query["nextPageToken"])
            if token is None or token.query.kind != kind:
                raise ApiError(211)
            if time.monotonic() - token.issued > self.token_ttl:
                raise ApiError(210)
            spec, after = token.query, token.after
            if "fields" in query:
                spec = dataclasses.replace(spec, fields=self._fields(kind, query))
        else:
            spec = self._parse(kind, query)
        room = min(spec.limit, self.sequence_cap - spec.sequence)
        with self.lock:
            page: list[dict[str, Any]] = []
            more = False
            for record in self._ordered(spec, after):
                if len(page) == room:
                    more = True
                    break
                page.append(record)
            values = [self._render(kind, record, spec.fields) for record in page]
            next_token = None
            if more and spec.sequence + len(page) >= self.sequence_cap:
                headers["Pardot-Warning"] = WARNING_203
            elif more:
                next_token = secrets.token_urlsafe(24)
                carried = dataclasses.replace(spec, sequence=spec.sequence + len(page))
                self.page_tokens[next_token] = PageToken(carried, _key(page[-1], spec.order))
        next_url = None
        if next_token is not None:
            next_url = f"{self.base_url}/api/v5/objects/{kind}?nextPageToken={next_token}"
        return (
            200,
            {"nextPageToken": next_token, "nextPageUrl": next_url, "values": values},
            headers,
        )

    def _fields(self, kind: str, query: dict[str, str]) -> list[str]:
        if not query.get("fields", "").strip():
            raise ApiError(13, "fields")
        names = [name.strip() for name in query["fields"].split(",") if name.strip()]
        bad = []
        for name in names:
            head, _, tail = name.partition(".")
            if tail:
                target = RELATIONS[kind].get(head)
                if target is None or tail not in FIELDS[target[1]]:
                    bad.append(name)
            elif name not in FIELDS[kind]:
                bad.append(name)
        if bad:
            raise ApiError(180, ", ".join(bad))
        return list(dict.fromkeys(names))

    def _parse(self, kind: str, query: dict[str, str]) -> Query:
        fields = self._fields(kind, query)
        try:
            limit = int(query.get("limit", "200"))
        except ValueError:
            raise ApiError(23, query["limit"]) from None
        if not 1 <= limit <= 1000:
            raise ApiError(23, "must be a positive integer up to 1000")
        deleted = query.get("deleted", "false")
        if "deleted" in query and (
            kind not in RECYCLE_BIN or deleted not in ("true", "false", "all")
        ):
            raise ApiError(5, f"deleted={deleted}")
        order = self._order(kind, query.get("orderBy", "id"))
        filters: list[tuple[str, str, Any]] = []
        for name, raw in query.items():
            if name in ("fields", "limit", "deleted", "orderBy"):
                continue
            filters.append(self._filter(kind, name, raw))
        if len({name for name, _, _ in filters}) > 3:
            raise ApiError(209)
        return Query(kind, fields, limit, order, filters, deleted)

    def _order(self, kind: str, raw: str) -> list[tuple[str, int]]:
        order: list[tuple[str, int]] = []
        for part in raw.split(","):
            words = part.split()
            if not words or len(words) > 2 or words[0] not in SORTABLE[kind]:
                raise ApiError(5, f"orderBy={raw}")
            if len(words) == 2 and words[1].upper() not in ("ASC", "DESC"):
                raise ApiError(5, f"orderBy={raw}")
            sign = -1 if len(words) == 2 and words[1].upper() == "DESC" else 1
            order.append((words[0], sign))
        names = [name for name, _ in order]
        if len(set(names)) != len(names) or "id" in names[:-1] or len(order) > 2:
            raise ApiError(5, f"orderBy={raw}: a field, then optionally id")
        if names[-1] != "id":
            order.append(("id", order[0][1]))
        return order

    def _filter(self, kind: str, name: str, raw: str) -> tuple[str, str, Any]:
        for base in INT_FILTERS[kind]:
            suffix = name.removeprefix(base)
            if name.startswith(base) and suffix in INT_OPS:
                try:
                    return base, suffix, int(raw)
                except ValueError:
                    raise ApiError(16, f"{name}={raw}") from None
        for base in ("createdAt", "updatedAt"):
            suffix = name.removeprefix(base)
            if name.startswith(base) and suffix in DATE_OPS and base in FIELDS[kind]:
                try:
                    moment = dt.datetime.fromisoformat(raw)
                except ValueError:
                    raise ApiError(7, f"{name}={raw}") from None
                if moment.tzinfo is None:
                    raise ApiError(7, f"{name}={raw}: a UTC offset is required (+ as %2B)")
                return base, suffix, moment.timestamp()
        if name in EQUAL_FILTERS[kind]:
            return name, "", raw
        raise ApiError(5, name)

    def _ordered(self, spec: Query, after: tuple[int, ...] | None) -> Iterator[dict[str, Any]]:
        """The query's records in its order, after the sort key `after`."""
        records = self.records[spec.kind]
        checks = [_check(name, op, value) for name, op, value in spec.filters]
        if spec.deleted == "false" and spec.kind in RECYCLE_BIN:
            checks.append(lambda r: not r["isDeleted"])
        elif spec.deleted == "true":
            checks.append(lambda r: bool(r["isDeleted"]))
        candidates: set[int] | None = None
        if spec.deleted == "true":
            candidates = self.deleted[spec.kind]
        for name, op, value in spec.filters:
            if name == "prospectId" and op == "" and spec.kind in self.by_prospect:
                candidates = self.by_prospect[spec.kind].get(value, set())
            elif name == "id" and op == "":
                candidates = {value} if value in records else set()
        primary, sign = spec.order[0]
        if candidates is not None or spec.order[-1][1] != sign:
            # A small candidate set, or mixed directions: sort the candidates here.
            ids = candidates if candidates is not None else records.keys()
            keyed = sorted((_key(records[i], spec.order), i) for i in ids)
            start = 0 if after is None else bisect.bisect_right(keyed, (after, 1 << 62))
            for _, i in keyed[start:]:
                if all(check(records[i]) for check in checks):
                    yield records[i]
            return
        keys = self.indexes[(spec.kind, primary)].view(records)
        low, high = _bounds(primary, spec.filters)
        if sign > 0:
            start = bisect.bisect_left(keys, (low,)) if low is not None else 0
            if after is not None:
                start = max(start, bisect.bisect_right(keys, (after[0], after[-1])))
            for at in range(start, len(keys)):
                value, i = keys[at]
                if high is not None and value > high:
                    return
                if all(check(records[i]) for check in checks):
                    yield records[i]
        else:
            stop = bisect.bisect_right(keys, (high, 1 << 62)) if high is not None else len(keys)
            if after is not None:
                stop = min(stop, bisect.bisect_left(keys, (-after[0], -after[-1])))
            for at in range(stop - 1, -1, -1):
                value, i = keys[at]
                if low is not None and value < low:
                    return
                if all(check(records[i]) for check in checks):
                    yield records[i]

    def _render(self, kind: str, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in sorted(fields, key=lambda n: (n != "id", n)):
            head, _, tail = name.partition(".")
            if not tail:
                out[name] = self._value(name, record.get(name))
                continue
            id_field, target = RELATIONS[kind][head]
            related = self.records[target].get(record.get(id_field) or -1)
            if related is None:
                out[head] = None
            else:
                out.setdefault(head, {})[tail] = self._value(tail, related.get(tail))
        return out

    def _value(self, name: str, value: Any) -> Any:
        if name in DATE_FIELDS and value is not None:
            return dt.datetime.fromtimestamp(value, self.tz).isoformat(timespec="seconds")
        return value


def _error(exc: ApiError) -> tuple[int, Any, dict[str, str]]:
    return STATUS.get(exc.code, 400), {"code": exc.code, "message": exc.message}, {}


def _epoch(value: str | int | float) -> int:
    """An ISO 8601 instant with an offset (or `Z`) as whole epoch seconds."""
    if isinstance(value, int | float):
        return int(value)
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value}: give a UTC offset")
    return int(moment.timestamp())


def _sortable(value: Any) -> int:
    return -1 if value is None else int(value)


def _key(record: dict[str, Any], order: list[tuple[str, int]]) -> tuple[int, ...]:
    return tuple(sign * _sortable(record.get(name)) for name, sign in order)


def _bounds(name: str, filters: list[tuple[str, str, Any]]) -> tuple[int | None, int | None]:
    """Loose bounds on the sort field from the filters on it (exact checks follow)."""
    low: int | None = None
    high: int | None = None
    for field_name, op, value in filters:
        if field_name != name:
            continue
        if op in ("", "GreaterThan", "GreaterThanOrEqualTo", "After", "AfterOrEqualTo"):
            low = int(value) if low is None else max(low, int(value))
        if op in ("", "LessThan", "LessThanOrEqualTo", "Before", "BeforeOrEqualTo"):
            ceiling = -(-value // 1)
            high = int(ceiling) if high is None else min(high, int(ceiling))
    return low, high


def _check(name: str, op: str, value: Any) -> Callable[[dict[str, Any]], bool]:
    compare = DATE_OPS[op] if name in ("createdAt", "updatedAt") else INT_OPS.get(op, INT_OPS[""])

    def check(record: dict[str, Any]) -> bool:
        actual = record.get(name)
        return actual is not None and bool(compare(actual, value))

    return check
