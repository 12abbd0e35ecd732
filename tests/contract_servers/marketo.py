"""A Marketo Engage REST API on 127.0.0.1, for the connector's tests and benchmark.

Follows Marketo's public developer documentation (Adobe Experience League, "Marketo
Developer" guide; source AdobeDocs/marketo-developer.en, help/rest-api/*.md and
assets/swagger-*.json, read at its August 2026 state), not our connector:

- "Authentication" (rest-api/authentication.md): GET or POST /identity/oauth/token with
  grant_type=client_credentials, client_id, client_secret -> access_token, token_type
  "bearer", expires_in (the REMAINING lifespan, 3599 for a new token), scope. Asking again
  while the token is valid returns the same token and its remaining lifespan. The token
  travels in `Authorization: Bearer`; the `access_token` query parameter "is being
  removed on August 31, 2026" (the date moved from June 2025 through Jan/Mar/Jul 2026);
  this server runs after that date, so a query-parameter token is ignored and the call
  answers 601 like any call without a token (the docs do not say which error; see
  `query_token_accepted`). swagger-identity.json: identity calls are not counted.
- "Error Codes" (rest-api/error-codes.md): response-level errors are HTTP 200 with
  success false and errors [{"code": "<quoted integer>", "message"}]; the codes marked *
  there (601, 602, 604, 605, 608, 611) are "not counted against your daily quota, or your
  rate limit"; 606 "Max rate limit '%s' exceeded with in '%s' secs", 607 "Daily quota
  reached", 615 "Concurrent access limit reached" (10 at a time); HTTP-level only 413
  (body over 1 MB) and 414 (URI over 8 KB: retry as POST with `_method=GET` and the query
  string as an x-www-form-urlencoded body); 401 from the identity endpoint for bad
  client credentials. Record-level 1001 (invalid value / type), 1003 (invalid data),
  1006 (field not found), 1011 (filterType not supported).
- The developer blog archive (help/blog.md, "Handling errors"): "When a formerly valid
  access token is used after its expires_in period has elapsed, the first usage will
  return an error code of 602 ... After this, using the same token will return a 601".
- "REST API" and "Marketo Integration Best Practices": 50,000 calls a day (resets at
  12:00 AM CST), 100 calls per 20 seconds (606), ten concurrent calls (615; "Marketo
  counts calls that are processing and have not yet returned").
- "Leads" (rest-api/leads.md) and "Lead Database": GET /rest/v1/leads.json with filterType
  and up to 300 comma-separated filterValues; `fields` (default id, email, updatedAt,
  createdAt, firstName, lastName); no match -> success with an empty result; "If a
  requested field is not returned, its value is implied to be null" (here: null);
  GET /rest/v1/leads/describe.json -> id, displayName, dataType, rest {name, readOnly};
  GET /rest/v1/lead/{id}.json. Merge: the winner keeps its values unless empty and the
  loser's is not (leads.md "Merge").
- "Paging Tokens" (rest-api/paging-tokens.md) and "Activities" (lead-database/activities):
  GET /rest/v1/activities/pagingtoken.json?sinceDatetime=<ISO 8601, zone as +hh:mm or Z>
  -> nextPageToken (a date-based token, usable for activities and deleted leads);
  GET /rest/v1/activities.json?nextPageToken&activityTypeIds (up to ten, comma-separated
  or repeated) [&leadIds, up to 30][&batchSize, at most and by default 300] -> result
  items id, marketoGUID, leadId, activityDate, activityTypeId, primaryAttributeValueId,
  primaryAttributeValue, attributes [{name, value}] (an empty attribute is omitted);
  "This endpoint always returns nextPageToken"; "The API can return fewer than 300
  activity items while setting moreResult to true"; GET
  /rest/v1/activities/deletedleads.json -> activityTypeId 37 items (swagger-mapi.json:
  "Deletions greater than 14 days old may be pruned" -- not modelled).
- Merge Leads activity (type 32) attributes "Merge IDs", "Master Updated", "Merged in
  Sales", "Merge Source": Adobe Experience Platform's Marketo field mapping
  (AdobeDocs/experience-platform.en, help/sources/connectors/adobe-applications/mapping/
  marketo.md), which reads "Merge IDs" as JSON. Merged-away leads are NOT deleted leads:
  they leave no entry in Get Deleted Leads (Openprise's help centre, "How does Openprise
  handle deleted records": "records that are merged in Marketo are not considered as
  'deleted'"; Marketo's own docs are silent), and "When merging, the default score is
  summed" (docs.marketo.com, merging rules).

What the docs do not fix and this server chose (the connector must not depend on these):
an invalid nextPageToken or sinceDatetime answers 1001; more than ten activityTypeIds,
more than 30 leadIds or 300 filterValues answer 1003; a missing required parameter 701.
Throttled calls (606, 607, 615) are not counted themselves. Activities are selected by the
instant Marketo RECORDED them (`recorded_at`), not by activityDate; a deleted lead's
activities disappear. An empty page has no `result` key. Tokens are opaque base32.

Seeding and knobs: put_lead(id=None, **REST fields) -> id; add_activity(lead_id, type_id,
activity_date, primary, primary_id, attributes, recorded_at, campaign_id) -> marketoGUID;
delete_lead(id); merge(winner, losers, source="Web service API"); expire_tokens();
add_describe_field(name, display_name, data_type, read_only); `clock_skew` (seconds the
server's clock -- Date header, "now" -- runs ahead); `query_token_accepted` (False: the
retired access_token parameter is ignored); `calls_today` (settable); `requests`, a log of
(method, path without query, HTTP status, Marketo error code or ""). Also served:
GET /rest/v1/lead/{id}.json and /rest/v1/activities/types.json (the types above).

Faults a test asks for are served once each (`Fault(path regex, kind, times, skip)`):
"601"/"602" replace the token check (the token stops working, as a revoked or expired one
would); "604", "606", "607", "608", "611", "615", "713", "1003", "500", "502" answer that
code in the JSON envelope (the docs list 500/502 as response-level codes); "http-500",
"http-502", "http-503", "http-504" answer that HTTP status with an HTML body (a gateway);
"414" a plain HTTP 414; "cut" a third of the body and a closed socket; "not-json" an HTTP
200 whose body is not JSON.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import heapq
import json
import math
import random
import re
import socket
import threading
import time
import urllib.parse
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from operator import attrgetter
from typing import Any

IDENTITY_PATH = "/identity/oauth/token"
MAX_URI = 8 * 1024  # "414 ... when the URI of a GET request exceeds 8KB"
MAX_BODY = 1024 * 1024  # "413 ... when the request payload exceeds 1MB"
CST = dt.timezone(dt.timedelta(hours=-6))  # the daily quota "resets daily at 12:00AM CST"
MAX_PAGE = 300
MAX_TYPE_IDS = 10
MAX_LEAD_IDS = 30
MAX_FILTER_VALUES = 300
DEFAULT_LEAD_FIELDS = ("id", "email", "updatedAt", "createdAt", "firstName", "lastName")

MESSAGES = {
    "500": "Internal Server error",
    "502": "Bad Gateway",
    "601": "Access token invalid",
    "602": "Access token expired",
    "604": "Request time-out",
    "605": "HTTP Method not supported",
    "606": "Max rate limit '%s' exceeded with in '%s' secs",
    "607": "Daily quota reached",
    "608": "API Temporarily Unavailable",
    "610": "Requested resource not found",
    "611": "System error",
    "612": "Invalid Content Type",
    "615": "Concurrent access limit reached",
    "713": "Transient Error",
    "1003": "Invalid data",
}
# The codes marked * in "Error Codes": not counted against the quota or the rate limit.
UNCOUNTED = frozenset({"601", "602", "604", "605", "608", "611"})
ENVELOPE_FAULTS = frozenset({"604", "606", "607", "608", "611", "615", "713", "1003", "500", "502"})
HTTP_FAULTS = {"http-500": 500, "http-502": 502, "http-503": 503, "http-504": 504}

# REST name, displayName, dataType, readOnly ("List of standard fields").
LEAD_FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    ("id", "Id", "integer", True),
    ("email", "Email Address", "email", False),
    ("firstName", "First Name", "string", False),
    ("lastName", "Last Name", "string", False),
    ("company", "Company Name", "string", False),
    ("title", "Job Title", "string", False),
    ("phone", "Phone Number", "phone", False),
    ("country", "Country", "string", False),
    ("industry", "Industry", "string", False),
    ("numberOfEmployees", "Num Employees", "integer", False),
    ("leadSource", "Lead Source", "string", False),
    ("leadStatus", "Lead Status", "string", False),
    ("leadScore", "Lead Score", "integer", False),
    ("originalSourceType", "Original Source Type", "string", True),
    ("sfdcLeadId", "SFDC Lead ID", "string", True),
    ("sfdcContactId", "SFDC Contact ID", "string", True),
    ("sfdcAccountId", "SFDC Account ID", "string", True),
    ("createdAt", "Created At", "datetime", True),
    ("updatedAt", "Updated At", "datetime", True),
)

# id -> (name, primary attribute, attributes): the types the connector reads.
ACTIVITY_TYPES: dict[int, tuple[str, str | None, tuple[str, ...]]] = {
    1: ("Visit Webpage", "Webpage ID", ("Client IP Address", "Query Parameters",
        "Referrer URL", "Search Engine", "Search Query", "User Agent", "Webpage URL",
        "Is Bot Activity", "Bot Activity Pattern")),
    2: ("Fill Out Form", "Webform ID", ("Client IP Address", "Form Fields",
        "Query Parameters", "Referrer URL", "User Agent", "Webpage ID")),
    10: ("Open Email", "Mail ID", ("Campaign Run ID", "Device", "Is Mobile Device",
         "Platform", "User Agent", "Is Bot Activity", "Bot Activity Pattern")),
    11: ("Click Email", "Mail ID", ("Campaign Run ID", "Device", "Is Mobile Device", "Link",
         "Link ID", "Platform", "User Agent", "Is Bot Activity", "Bot Activity Pattern")),
    12: ("New Lead", None, ("Created Date", "Form Name", "Lead Source", "List Name",
         "SFDC Type", "Source Type")),
    13: ("Change Data Value", "Attribute Name", ("New Value", "Old Value", "Reason", "Source")),
    22: ("Change Score", "Score Name", ("Change Value", "New Value", "Old Value", "Reason")),
    32: ("Merge Leads", "Lead ID", ("Merge IDs", "Master Updated", "Merged in Sales",
         "Merge Source")),
    37: ("Delete Lead", "Lead ID", ("Remove from CRM",)),
    104: ("Change Status in Progression", "Program ID", ("Acquired By", "New Status",
          "New Status ID", "Old Status", "Old Status ID", "Program Member ID", "Reason",
          "Success")),
}  # fmt: skip


@dataclass
class Fault:
    path: str  # a regular expression over the request path (no query string)
    kind: str  # see the module docstring
    times: int = 1
    skip: int = 0  # matching requests served normally before the fault


@dataclass(slots=True)
class Activity:
    id: int
    key: tuple[int, int]  # (recorded at, microseconds since the epoch; id): the log order
    lead_id: int
    type_id: int
    activity_date: str
    primary: str | None
    primary_id: int | None
    attributes: list[dict[str, Any]]
    campaign_id: int | None
    guid: str
    deleted: bool = False

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": self.id,
            "marketoGUID": self.guid,
            "leadId": self.lead_id,
            "activityDate": self.activity_date,
            "activityTypeId": self.type_id,
        }
        if self.campaign_id is not None:
            item["campaignId"] = self.campaign_id
        if self.primary_id is not None:
            item["primaryAttributeValueId"] = self.primary_id
        if self.primary is not None:
            item["primaryAttributeValue"] = self.primary
        item["attributes"] = self.attributes
        return item


@dataclass(slots=True)
class DeletedLead:
    id: int
    key: tuple[int, int]
    lead_id: int
    name: str
    activity_date: str
    deleted: bool = False  # never: the same paging code reads both logs

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "marketoGUID": str(self.id),
            "leadId": self.lead_id,
            "activityDate": self.activity_date,
            "activityTypeId": 37,
            "primaryAttributeValueId": self.lead_id,
            "primaryAttributeValue": self.name,
            "attributes": [],
        }


KEY = attrgetter("key")


class _Log:
    """Records in recorded order. Appends in order are O(1); a record recorded "in the past"
    marks the log unsorted and the next read sorts it (nearly sorted: cheap)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.keys: list[tuple[int, int]] = []
        self.dirty = False

    def add(self, item: Any) -> None:
        if self.keys and item.key < self.keys[-1]:
            self.dirty = True
        self.items.append(item)
        self.keys.append(item.key)

    def after(self, cursor: tuple[int, int]) -> Iterator[Any]:
        if self.dirty:
            self.items.sort(key=KEY)
            self.keys = [item.key for item in self.items]
            self.dirty = False
        start = bisect.bisect_right(self.keys, cursor)
        return map(self.items.__getitem__, range(start, len(self.items)))


@dataclass
class _Token:
    expires_at: float  # server clock
    reported: bool = False  # its expiry was told once (602); from then on 601


class _Error(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, "Invalid data"))
        self.code = code
        self.message = str(self)


def _invalid(value: str, kind: str) -> _Error:
    return _Error("1001", f"Invalid value '{value}'. Required of type '{kind}'")


def _blank(name: str) -> _Error:
    return _Error("701", f"{name} cannot be blank")


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json;charset=UTF-8"
    code: str = ""  # the Marketo error code, for the request log
    fault: str | None = None


class MarketoContractServer:
    """`with MarketoContractServer() as mk:` -> mk.base_url (REST and identity alike)."""

    def __init__(
        self,
        client_id: str = "mk-client",
        client_secret: str = "mk-secret",
        calls_per_window: int = 100,
        window: float = 20.0,
        max_concurrent: int = 10,
        daily_quota: int = 50_000,
        token_ttl: float = 3600,
        page_size: int = 300,
        latency: float = 0.0,
        sparse: bool = False,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.calls_per_window, self.window = calls_per_window, window
        self.max_concurrent, self.daily_quota = max_concurrent, daily_quota
        self.token_ttl, self.latency, self.sparse = token_ttl, latency, sparse
        self.page_size = max(1, min(page_size, MAX_PAGE))
        self.clock_skew = 0.0  # seconds the server's clock (Date header, "now") runs ahead
        self.query_token_accepted = False  # retired by Marketo on 2026-08-31
        self.scope = "apis@kpi-bridge.example"
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int, str]] = []
        self.calls_today = 0
        self.lock = threading.RLock()
        self.rng = random.Random(2026)  # sparse pages: deterministic for one request order
        self.leads: dict[int, dict[str, Any]] = {}
        self.merged_into: dict[int, int] = {}  # loser -> winner
        self.describe: dict[str, dict[str, Any]] = {}
        for number, (name, label, kind, read_only) in enumerate(LEAD_FIELDS, start=1):
            self.add_describe_field(name, label, kind, read_only, field_id=number)
        self._tokens: dict[str, _Token] = {}
        self._current_token: str | None = None
        self._sent: deque[float] = deque()  # monotonic instants of counted calls
        self._in_flight = 0
        self._quota_day = self._cst_day()
        self._next_lead = 1000
        self._next_id = 0
        self._salt = 0
        self._request_number = 0
        self._by_type: dict[int, _Log] = {}
        self._by_lead: dict[int, list[Activity]] = {}
        self._deleted = _Log()
        self._deleted_ids: set[int] = set()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> MarketoContractServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def now(self) -> float:
        return time.time() + self.clock_skew

    # --- seeding -----------------------------------------------------------------------

    def add_describe_field(
        self,
        name: str,
        display_name: str | None = None,
        data_type: str = "string",
        read_only: bool = False,
        field_id: int | None = None,
    ) -> None:
        """A (custom) lead field, as Describe Lead lists it."""
        with self.lock:
            self.describe[name] = {
                "id": field_id or 1000 + len(self.describe),
                "displayName": display_name or name,
                "dataType": data_type,
                "rest": {"name": name, "readOnly": read_only},
            }

    def put_lead(self, id: int | None = None, **fields: Any) -> int:
        """Create or update a lead; fields by REST name. updatedAt moves to now unless given;
        createdAt is now for a new lead unless given."""
        unknown = [name for name in fields if name not in self.describe]
        if unknown:
            raise KeyError(f"not lead fields (add_describe_field first): {unknown}")
        now = _iso(self.now())
        with self.lock:
            if id is None:
                self._next_lead += 1
                id = self._next_lead
            self._next_lead = max(self._next_lead, id)
            self.merged_into.pop(id, None)
            self._deleted_ids.discard(id)
            lead = self.leads.setdefault(id, {"id": id, "createdAt": now})
            lead["updatedAt"] = now
            for name, value in fields.items():
                lead[name] = _normal(self.describe[name]["dataType"], value)
            self._by_lead.setdefault(id, [])
            return id

    def add_activity(
        self,
        lead_id: int,
        type_id: int,
        activity_date: str | dt.datetime | float,
        primary: str | None = None,
        primary_id: int | None = None,
        attributes: dict[str, Any] | None = None,
        recorded_at: str | dt.datetime | float | None = None,
        campaign_id: int | None = None,
    ) -> str:
        """Record an activity (returns its marketoGUID). It is "recorded" at `recorded_at`
        or now: paging tokens select by that instant, not by activityDate. An activity of a
        merged-away lead goes to the winner; one of a deleted lead is never listed."""
        with self.lock:
            lead_id = self._winner(lead_id)
            if lead_id not in self.leads and lead_id not in self._deleted_ids:
                raise KeyError(f"no lead {lead_id}")
            self._next_id += 1
            recorded = _instant(recorded_at) if recorded_at is not None else self.now()
            activity = Activity(
                id=self._next_id,
                key=(_micros(recorded), self._next_id),
                lead_id=lead_id,
                type_id=type_id,
                activity_date=_canonical(activity_date),
                primary=primary,
                primary_id=primary_id,
                attributes=[
                    {"name": name, "value": value}
                    for name, value in (attributes or {}).items()
                    if value is not None and value != ""
                ],
                campaign_id=campaign_id,
                guid=str(self._next_id),
                deleted=lead_id not in self.leads,
            )
            self._by_type.setdefault(type_id, _Log()).add(activity)
            if not activity.deleted:
                self._by_lead.setdefault(lead_id, []).append(activity)
            return activity.guid

    def delete_lead(self, lead_id: int) -> None:
        """Gone from leads.json, its activities from activities.json; a Get Deleted Leads
        entry recorded now."""
        with self.lock:
            lead = self.leads.pop(lead_id)
            self._deleted_ids.add(lead_id)
            for activity in self._by_lead.pop(lead_id, []):
                activity.deleted = True
            self._next_id += 1
            now = self.now()
            name = " ".join(str(lead[n]) for n in ("firstName", "lastName") if lead.get(n))
            self._deleted.add(
                DeletedLead(
                    id=self._next_id,
                    key=(_micros(now), self._next_id),
                    lead_id=lead_id,
                    name=name or str(lead.get("email") or ""),
                    activity_date=_iso(now),
                )
            )

    def merge(self, winner: int, losers: list[int], source: str = "Web service API") -> None:
        """Merge Leads: the losers leave leads.json (and are not deleted leads), their
        activities carry the winner's leadId, empty winner fields take a loser's value, the
        scores add up, and a Merge Leads activity (32) is recorded on the winner now."""
        with self.lock:
            target = self.leads[winner]
            for loser in losers:
                gone = self.leads.pop(loser)
                for name, value in gone.items():
                    if name in ("id", "createdAt", "updatedAt"):
                        continue
                    if name == "leadScore" and value is not None:
                        target[name] = (target.get(name) or 0) + value
                    elif target.get(name) in (None, "") and value not in (None, ""):
                        target[name] = value
                moved = self._by_lead.pop(loser, [])
                for activity in moved:
                    activity.lead_id = winner
                self._by_lead.setdefault(winner, []).extend(moved)
                self.merged_into[loser] = winner
                for old, new in self.merged_into.items():
                    if new == loser:
                        self.merged_into[old] = winner
            now = self.now()
            target["updatedAt"] = _iso(now)
            name = " ".join(str(target[n]) for n in ("firstName", "lastName") if target.get(n))
            self.add_activity(
                winner, 32, now, primary=name or str(target.get("email") or winner),
                primary_id=winner, recorded_at=now,
                attributes={
                    "Merge IDs": json.dumps(list(losers), separators=(",", ":")),
                    "Master Updated": True, "Merged in Sales": False, "Merge Source": source,
                },
            )  # fmt: skip

    def expire_tokens(self) -> None:
        """Every token issued so far is past its expires_in: next use 602, then 601."""
        with self.lock:
            past = self.now() - 1
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, past)

    def _winner(self, lead_id: int) -> int:
        return self.merged_into.get(lead_id, lead_id)

    # --- serving -----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

            def log_message(self, *args: object) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                return super().date_time_string(server.now() if timestamp is None else timestamp)

            def do_GET(self) -> None:
                server._serve(self)

            def do_POST(self) -> None:
                server._serve(self)

            def do_PUT(self) -> None:
                server._serve(self)

            def do_DELETE(self) -> None:
                server._serve(self)

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        if len(handler.path.encode()) > MAX_URI or length > MAX_BODY:
            status = 414 if length <= MAX_BODY else 413
            answer = _Answer(status, b"Request-URI Too Long" if status == 414 else b"Too Large",
                             "text/plain")  # fmt: skip
            handler.close_connection = True
        else:
            body = handler.rfile.read(length) if length else b""
            try:
                answer = self._answer(handler, url.path, url.query, body)
            except Exception as error:  # a bug here still answers as Marketo would
                answer = self._envelope_error("611", str(error))
        with self.lock:
            self.requests.append((handler.command, url.path, answer.status, answer.code))
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            if answer.fault == "cut":
                handler.wfile.write(answer.body[: len(answer.body) // 3])
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            handler.wfile.write(answer.body)
        except OSError:
            handler.close_connection = True

    def _fault_for(self, path: str, kinds: Callable[[str], bool]) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and kinds(fault.kind) and re.search(fault.path, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return fault.kind
        return None

    def _request_id(self) -> str:
        with self.lock:
            self._request_number += 1
            number = self._request_number
        return f"{number:x}#{int(self.now() * 1000):x}"

    def _envelope_error(self, code: str, message: str | None = None) -> _Answer:
        payload = {
            "requestId": self._request_id(),
            "success": False,
            "errors": [{"code": code, "message": message or MESSAGES.get(code, "Error")}],
        }
        return _Answer(200, json.dumps(payload).encode(), code=code)

    def _answer(
        self, handler: BaseHTTPRequestHandler, path: str, raw_query: str, body: bytes
    ) -> _Answer:
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        method = handler.command
        if method == "POST" and query.get("_method") == ["GET"]:
            kind = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if path != IDENTITY_PATH and kind != "application/x-www-form-urlencoded":
                return self._envelope_error("612")
            for name, values in urllib.parse.parse_qs(
                body.decode(), keep_blank_values=True
            ).items():
                query.setdefault(name, []).extend(values)
            method = "GET"
        if path == IDENTITY_PATH:
            return self._identity_answer(handler, query, body)
        token = self._bearer(handler, query)
        fault = self._fault_for(path, lambda kind: kind in ("601", "602"))
        if fault is not None:
            with self.lock:
                if fault == "601":
                    self._tokens.pop(token or "", None)
                elif token in self._tokens:
                    self._tokens[token].expires_at = self.now() - 1
                    self._tokens[token].reported = True
            return self._envelope_error(fault)
        if (refused := self._check_token(token)) is not None:
            return self._envelope_error(refused)
        throttled, stamp = self._take_slot()
        if throttled is not None:
            return throttled
        answer: _Answer | None = None
        try:
            if self.latency:
                time.sleep(self.latency)
            fault = self._fault_for(path, lambda kind: kind not in ("601", "602"))
            if fault is not None:
                answer = self._faulted(fault, stamp)
            if answer is None:
                answer = self._rest(method, path, query)
                answer.fault = fault
            return answer
        finally:
            with self.lock:
                self._in_flight -= 1
                if answer is not None and answer.code in UNCOUNTED:
                    self._uncount(stamp)

    def _identity_answer(
        self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]], body: bytes
    ) -> _Answer:
        """Identity calls take no slot and are not counted; faults still apply."""
        fault = self._fault_for(IDENTITY_PATH, lambda kind: kind not in ("601", "602"))
        spoiled = self._faulted(fault, None) if fault is not None else None
        if spoiled is not None:
            return spoiled
        answer = self._identity(handler, query, body)
        answer.fault = fault
        return answer

    def _faulted(self, fault: str, stamp: float | None) -> _Answer | None:
        """The answer a fault replaces the real one with (None: serve, then spoil it)."""
        if fault in ENVELOPE_FAULTS:
            if fault in ("606", "607", "615") and stamp is not None:
                with self.lock:
                    self._uncount(stamp)
            if fault == "606":
                return self._envelope_error(fault, self._rate_message())
            return self._envelope_error(fault)
        if fault in HTTP_FAULTS:
            status = HTTP_FAULTS[fault]
            page = f"<html><body><h1>{status} Gateway Error</h1></body></html>".encode()
            if stamp is not None:
                with self.lock:
                    self._uncount(stamp)
            return _Answer(status, page, "text/html")
        if fault == "414":
            return _Answer(414, b"Request-URI Too Long", "text/plain")
        if fault == "not-json":
            return _Answer(200, b'<html><body>Service Unavailable</body></html>\n{"requ')
        return None  # "cut" and unknown kinds: the real answer, spoiled on the way out

    def _uncount(self, stamp: float) -> None:
        try:
            self._sent.remove(stamp)
        except ValueError:
            return
        self.calls_today = max(0, self.calls_today - 1)

    def _rate_message(self) -> str:
        return MESSAGES["606"] % (self.calls_per_window, f"{self.window:g}")

    # --- authentication and limits -----------------------------------------------------

    def _identity(
        self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]], body: bytes
    ) -> _Answer:
        params = {name: values[-1] for name, values in query.items()}
        if handler.command == "POST" and body:
            params.update(dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)))
        if params.get("grant_type") != "client_credentials":
            return _oauth_error(400, "invalid_request", "Unsupported grant type")
        if params.get("client_id") != self.client_id:
            return _oauth_error(401, "unauthorized", "No client with requested id")
        if params.get("client_secret") != self.client_secret:
            return _oauth_error(401, "unauthorized", "Bad client credentials")
        with self.lock:
            now = self.now()
            current = self._tokens.get(self._current_token or "")
            if self._current_token is None or current is None or current.expires_at <= now:
                self._current_token = f"{uuid.uuid4()}:kb"
                current = _Token(expires_at=now + self.token_ttl)
                self._tokens[self._current_token] = current
            payload = {
                "access_token": self._current_token,
                "token_type": "bearer",
                "expires_in": max(0, math.ceil(current.expires_at - now) - 1),
                "scope": self.scope,
            }
        return _Answer(200, json.dumps(payload).encode())

    def _bearer(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> str | None:
        header = handler.headers.get("Authorization") or ""
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if self.query_token_accepted and query.get("access_token"):
            return query["access_token"][-1]
        return None

    def _check_token(self, token: str | None) -> str | None:
        """None when the token may call; else 601 (unknown, missing) or 602 (expired, told
        once; "after this, using the same token will return a 601")."""
        with self.lock:
            known = self._tokens.get(token or "")
            if known is None:
                return "601"
            if known.expires_at <= self.now():
                if known.reported:
                    return "601"
                known.reported = True
                return "602"
        return None

    def _cst_day(self) -> int:
        return dt.datetime.fromtimestamp(self.now(), CST).toordinal()

    def _take_slot(self) -> tuple[_Answer | None, float]:
        """615 / 606 / 607, or a concurrency slot plus one counted call (its stamp)."""
        with self.lock:
            if (day := self._cst_day()) != self._quota_day:
                self._quota_day, self.calls_today = day, 0
            if self._in_flight >= self.max_concurrent:
                return self._envelope_error("615"), 0.0
            moment = time.monotonic()
            while self._sent and self._sent[0] <= moment - self.window:
                self._sent.popleft()
            if len(self._sent) >= self.calls_per_window:
                return self._envelope_error("606", self._rate_message()), 0.0
            if self.calls_today >= self.daily_quota:
                return self._envelope_error("607"), 0.0
            self._in_flight += 1
            if self._sent and moment <= self._sent[-1]:
                moment = math.nextafter(self._sent[-1], math.inf)  # each stamp is unique
            self._sent.append(moment)
            self.calls_today += 1
        return None, moment

    # --- the REST resources ------------------------------------------------------------

    def _rest(self, method: str, path: str, query: dict[str, list[str]]) -> _Answer:
        if method != "GET":
            return self._envelope_error("610")
        try:
            if path == "/rest/v1/leads.json":
                result: Any = self._leads_by_filter(query)
            elif path == "/rest/v1/leads/describe.json":
                with self.lock:
                    result = [dict(item) for item in self.describe.values()]
            elif match := re.fullmatch(r"/rest/v1/lead/(\d+)\.json", path):
                result = self._leads_by_id([int(match.group(1))], _fields(query, self.describe))
            elif path == "/rest/v1/activities/types.json":
                result = [_activity_type(number) for number in sorted(ACTIVITY_TYPES)]
            elif path == "/rest/v1/activities/pagingtoken.json":
                return self._ok({"nextPageToken": self._paging_token(query)})
            elif path == "/rest/v1/activities.json":
                return self._ok(self._activities(query))
            elif path == "/rest/v1/activities/deletedleads.json":
                return self._ok(self._deleted_leads(query))
            else:
                return self._envelope_error("610")
        except _Error as error:
            return self._envelope_error(error.code, error.message)
        return self._ok({"result": result})

    def _ok(self, fields: dict[str, Any]) -> _Answer:
        payload = {"requestId": self._request_id(), "success": True, **fields}
        return _Answer(200, json.dumps(payload).encode())

    def _leads_by_filter(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        filter_type = _one(query, "filterType")
        values = [v.strip() for v in _one(query, "filterValues").split(",") if v.strip()]
        if len(values) > MAX_FILTER_VALUES:
            raise _Error("1003", f"Invalid data: at most {MAX_FILTER_VALUES} filterValues")
        wanted = _fields(query, self.describe)
        if filter_type == "id":
            ids: list[int] = []
            for value in values:
                if not re.fullmatch(r"-?\d+", value):
                    raise _invalid(value, "integer")
                ids.append(int(value))
            return self._leads_by_id(list(dict.fromkeys(ids)), wanted)
        if filter_type == "email":
            emails = {value.lower() for value in values}
            with self.lock:
                found = [
                    number
                    for number, lead in self.leads.items()
                    if str(lead.get("email") or "").lower() in emails
                ]
            return self._leads_by_id(found, wanted)
        raise _Error("1011", f"Field '{filter_type}' not supported")

    def _leads_by_id(self, ids: list[int], wanted: list[str]) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {"id": number} | {name: self.leads[number].get(name) for name in wanted}
                for number in ids
                if number in self.leads
            ]

    def _paging_token(self, query: dict[str, list[str]]) -> str:
        since = _one(query, "sinceDatetime")
        try:
            moment = _parse_since(since)
        except ValueError:
            raise _invalid(since, "datetime") from None
        with self.lock:
            return self._encode((_micros(moment), -1))

    def _encode(self, cursor: tuple[int, int]) -> str:
        self._salt += 1  # a new string every time, as Marketo's are
        payload = f"{cursor[0]}.{cursor[1]}.{self._salt}"
        text = f"{payload}.{zlib.crc32(payload.encode()):08x}"
        return base64.b32encode(text.encode()).decode()

    @staticmethod
    def _decode(token: str) -> tuple[int, int]:
        try:
            text = base64.b32decode(token.strip().encode()).decode()
            micros, seq, salt, check = text.split(".")
            if f"{zlib.crc32(f'{micros}.{seq}.{salt}'.encode()):08x}" != check:
                raise ValueError(token)
            return int(micros), int(seq)
        except ValueError:
            raise _invalid(token, "nextPageToken") from None

    def _batch(self, query: dict[str, list[str]]) -> int:
        raw = query.get("batchSize", [""])[-1]
        if raw == "":
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise _invalid(raw, "integer")
        return min(int(raw), self.page_size)

    def _activities(self, query: dict[str, list[str]]) -> dict[str, Any]:
        cursor = self._decode(_one(query, "nextPageToken"))
        types = _integers(query, "activityTypeIds")
        if not types:
            raise _blank("activityTypeIds")
        if len(types) > MAX_TYPE_IDS:
            raise _Error("1003", f"Invalid data: at most {MAX_TYPE_IDS} activityTypeIds")
        lead_ids = _integers(query, "leadIds")
        if len(lead_ids) > MAX_LEAD_IDS:
            raise _Error("1003", f"Invalid data: at most {MAX_LEAD_IDS} leadIds")
        if query.get("listId"):
            raise _Error("1003", "Invalid data: listId is not modelled by this server")
        batch = self._batch(query)
        wanted = set(types)
        with self.lock:
            source: Iterator[Activity]
            if lead_ids:
                mine = [
                    activity
                    for lead in dict.fromkeys(lead_ids)
                    for activity in self._by_lead.get(lead, [])
                    if activity.type_id in wanted and activity.key > cursor
                ]
                source = iter(sorted(mine, key=KEY))
            else:
                logs = [self._by_type[number] for number in wanted if number in self._by_type]
                source = heapq.merge(*(log.after(cursor) for log in logs), key=KEY)
            return self._page(source, cursor, batch)

    def _deleted_leads(self, query: dict[str, list[str]]) -> dict[str, Any]:
        cursor = self._decode(_one(query, "nextPageToken"))
        batch = self._batch(query)
        with self.lock:
            return self._page(self._deleted.after(cursor), cursor, batch)

    def _page(self, source: Iterator[Any], cursor: tuple[int, int], batch: int) -> dict[str, Any]:
        """Up to `batch` visible records after the cursor; sparse: sometimes fewer or none
        while more remain (moreResult true). Called under the lock."""
        limit = batch
        if self.sparse:
            draw = self.rng.random()
            if draw < 0.2:
                limit = 0
            elif draw < 0.45 and batch > 1:
                limit = self.rng.randint(1, batch - 1)
        page: list[dict[str, Any]] = []
        more = False
        for record in source:
            if record.deleted:
                if len(page) < limit:
                    cursor = record.key  # an invisible record is passed by
                continue
            if len(page) == limit:
                more = True
                break
            page.append(record.as_json())
            cursor = record.key
        answer: dict[str, Any] = {"nextPageToken": self._encode(cursor), "moreResult": more}
        if page:
            answer["result"] = page
        return answer


# --- helpers ----------------------------------------------------------------------------


def _oauth_error(status: int, error: str, description: str) -> _Answer:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return _Answer(status, body, code="")


def _one(query: dict[str, list[str]], name: str) -> str:
    values = [value for value in query.get(name, []) if value.strip()]
    if not values:
        raise _blank(name)
    return values[-1]


def _integers(query: dict[str, list[str]], name: str) -> list[int]:
    """A comma-separated list, or the parameter repeated (the docs show both)."""
    numbers: list[int] = []
    for value in query.get(name, []):
        for part in value.split(","):
            if not part.strip():
                continue
            if not re.fullmatch(r"\s*\d+\s*", part):
                raise _invalid(part, "integer")
            numbers.append(int(part))
    return numbers


def _fields(query: dict[str, list[str]], describe: dict[str, Any]) -> list[str]:
    raw = ",".join(query.get("fields", []))
    names = [name.strip() for name in raw.split(",") if name.strip()] or list(DEFAULT_LEAD_FIELDS)
    for name in names:
        if name not in describe:
            raise _Error("1006", f"Field '{name}' not found")
    return [name for name in dict.fromkeys(names) if name != "id"]


def _activity_type(number: int) -> dict[str, Any]:
    name, primary, attributes = ACTIVITY_TYPES[number]
    item: dict[str, Any] = {"id": number, "name": name, "description": name}
    if primary:
        item["primaryAttribute"] = {"name": primary, "dataType": "string"}
    item["attributes"] = [{"name": attribute, "dataType": "string"} for attribute in attributes]
    return item


def _normal(data_type: str, value: Any) -> Any:
    if value is None:
        return None
    if data_type == "datetime":
        return _iso(_instant(value))
    return value


def _instant(value: str | dt.datetime | float) -> float:
    """Epoch seconds of an ISO 8601 instant (a zone is required unless it is a date)."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = _parse_datetime(value)
    if value.tzinfo is None:
        raise ValueError(f"an instant needs a time zone: {value!r}")
    return value.timestamp()


def _parse_datetime(text: str) -> dt.datetime:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})?", text):
        raise ValueError(text)
    return dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def _parse_since(text: str) -> float:
    """sinceDatetime: ISO 8601; without a zone, UTC (the docs only advise a zone)."""
    moment = _parse_datetime(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _canonical(value: str | dt.datetime | float) -> str:
    """An instant as Marketo writes activityDate: 2026-04-02T01:00:00Z."""
    if isinstance(value, str) and CANONICAL.fullmatch(value):
        return value
    return _iso(_instant(value))


CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _micros(epoch: float) -> int:
    return round(epoch * 1_000_000)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
