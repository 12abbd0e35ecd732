"""A HubSpot CRM API on 127.0.0.1, for the connector's tests and benchmark.

Follows HubSpot's public documentation, not our connector:
- CRM objects v3, "List" (GET /crm/v3/objects/{type}): `limit` at most 100, an opaque
  `after` cursor in paging.next.after, `properties` returns only those asked (with
  hs_object_id, createdate and lastmodifieddate), `archived=true` lists only archived
  records; merged-away records are not listed.
- Associations v4, "Batch read" (POST /crm/v4/associations/{from}/{to}/batch/read): at
  most 1,000 inputs; results with toObjectId and associationTypes (label "Primary" for a
  deal's primary company); HTTP 207 with errors NO_ASSOCIATIONS_FOUND for inputs without any.
- Pipelines (GET /crm/v3/pipelines/deals): stage metadata isClosed / probability as strings.
- Owners (GET /crm/v3/owners), account info (GET /account-info/v3/details).
- CRM search (POST /crm/v3/objects/{type}/search, "Search the CRM"): filterGroups (OR of
  groups, AND of filters; EQ, NEQ, GT, GTE, LT, LTE, IN, HAS_PROPERTY), one sort,
  `limit` at most 200, `after` an offset as a string; at most 10,000 results per query
  (an `after` at or beyond it is a 400); 5 searches per second (a 429 with policyName
  SECONDLY); dates compared as epoch milliseconds; archived records never found; the
  index lags writes (a record can be held back from search with `hide_from_search`);
  the order of records that tie on the sort is unspecified (here: scrambled).
- Merges ("Merge contacts", "Merge deals"): the merged-away record disappears from every
  listing and search, the survivor lists its id in `hs_merged_object_ids` and is
  modified, the loser's deal associations move to the survivor.
- OAuth "Refresh an access token" (POST /oauth/v1/token, form fields).
- "API usage guidelines and limits" and "Error handling": X-HubSpot-RateLimit-* headers;
  over the burst limit a 429 with policyName TEN_SECONDLY_ROLLING; 401 with category
  EXPIRED_AUTHENTICATION for an expired OAuth token.
Faults a test asks for are served once each: a 429 with or without Retry-After, a 5xx,
a body cut short, a body that is not JSON, an access token that expires mid-run.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_PROPERTIES = ("hs_object_id", "createdate", "lastmodifieddate")
TYPES = ("contacts", "companies", "deals")


@dataclass
class Fault:
    path: str  # a regular expression over the request path
    kind: str  # 429, 429-retry-after, 500, 502, 503, 403, cut, not-json, expired
    times: int = 1
    skip: int = 0  # matching requests served normally before the fault


@dataclass
class State:
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in TYPES}
    )
    archived: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in TYPES})
    associations: dict[tuple[str, str], dict[str, list[tuple[str, str | None]]]] = field(
        default_factory=dict
    )
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    owners: list[dict[str, Any]] = field(default_factory=list)
    hidden: set[tuple[str, str]] = field(default_factory=set)  # not yet in the search index


class HubSpotContractServer:
    """`with HubSpotContractServer(token="pat-...") as hs:` -> hs.base_url."""

    def __init__(
        self,
        token: str = "pat-test-token",
        oauth: tuple[str, str, str] | None = None,
        burst: int = 190,
        window: float = 10.0,
        search_cap: int = 10_000,
        searches_per_second: int = 5,
    ) -> None:
        self.token, self.oauth, self.burst, self.window = token, oauth, burst, window
        self.search_cap, self.searches_per_second = search_cap, searches_per_second
        self.searched: deque[float] = deque()
        self.sorted_ids: dict[str, tuple[int, list[int]]] = {}  # kind -> (version, ids)
        self.version = 0  # bumped by every write
        self.state = State()
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int]] = []
        self.access_tokens: dict[str, float] = {}  # OAuth token -> expiry (epoch seconds)
        self.sent: deque[float] = deque()
        self.lock = threading.RLock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HubSpotContractServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- seeding -----------------------------------------------------------------------

    def put(self, kind: str, object_id: str, at: str | None = None, **properties: Any) -> None:
        """Create or change a record; its last-change stamp is `at` or now."""
        now = at or time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        with self.lock:
            self.version += 1
            stored = self.state.objects[kind].setdefault(object_id, {})
            stored.update({k: None if v is None else str(v) for k, v in properties.items()})
            stored["hs_object_id"] = object_id
            stored.setdefault("createdate", now)
            stored["lastmodifieddate" if kind == "contacts" else "hs_lastmodifieddate"] = now

    def archive(self, kind: str, object_id: str) -> None:
        with self.lock:
            self.state.archived[kind].add(object_id)

    def delete_for_good(self, kind: str, object_id: str) -> None:
        """A GDPR delete: gone from every listing, archived ones too."""
        with self.lock:
            self.state.objects[kind].pop(object_id, None)
            self.state.archived[kind].discard(object_id)
            self.version += 1

    def merge(self, kind: str, loser: str, survivor: str) -> None:
        with self.lock:
            self.state.objects[kind].pop(loser)
            merged = self.state.objects[kind][survivor].get("hs_merged_object_ids") or ""
            self.put(kind, survivor, hs_merged_object_ids=";".join(filter(None, [merged, loser])))
            if kind == "contacts":
                for links in self.state.associations.get(("deals", "contacts"), {}).values():
                    moved = [(survivor if t == loser else t, label) for t, label in links]
                    links[:] = list(dict.fromkeys(moved))
            else:
                for to in ("contacts", "companies"):
                    self.state.associations.get(("deals", to), {}).pop(loser, None)

    def backdate(self, seconds: float) -> None:
        """Every record's last change moves `seconds` into the past (seeded long ago)."""
        with self.lock:
            for records in self.state.objects.values():
                for props in records.values():
                    for name in ("lastmodifieddate", "hs_lastmodifieddate"):
                        if props.get(name):
                            moment = _epoch_ms(props[name]) or 0
                            props[name] = _iso(moment - int(seconds * 1000))

    def spread(self, minutes_apart: int = 10) -> None:
        """Give each kind's records last-change stamps an hour ago and before, in id order
        `minutes_apart` apart (the newest: the highest id), as a portal's history has."""
        newest = int(time.time() * 1000) - 3_600_000
        with self.lock:
            for records in self.state.objects.values():
                ordered = sorted(records, key=int, reverse=True)
                for age, object_id in enumerate(ordered):
                    props = records[object_id]
                    name = (
                        "lastmodifieddate" if "lastmodifieddate" in props else "hs_lastmodifieddate"
                    )
                    props[name] = _iso(newest - age * minutes_apart * 60_000)

    def hide_from_search(self, kind: str, object_id: str) -> None:
        """The search index has not caught up with this record yet."""
        with self.lock:
            self.state.hidden.add((kind, object_id))

    def index(self, kind: str, object_id: str) -> None:
        with self.lock:
            self.state.hidden.discard((kind, object_id))

    def associate(self, deal: str, to: str, target: str, label: str | None = None) -> None:
        with self.lock:
            links = self.state.associations.setdefault(("deals", to), {}).setdefault(deal, [])
            links.append((target, label))

    def expire_tokens(self) -> None:
        with self.lock:
            self.access_tokens = {token: 0.0 for token in self.access_tokens}

    # --- serving -----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._serve(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server._serve(self, self.rfile.read(length))

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        status, payload, headers, fault = self._answer(handler, url.path, query, body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with self.lock:
            self.requests.append((handler.command, url.path, status))
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json;charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if fault == "cut":
            handler.wfile.write(data[: len(data) // 3])
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        handler.wfile.write(data)

    def _fault_for(self, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and re.search(fault.path, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return fault.kind
        return None

    def _limited(self) -> dict[str, str] | None:
        """Burst limit (TEN_SECONDLY_ROLLING): None when the request may go."""
        with self.lock:
            now = time.monotonic()
            while self.sent and self.sent[0] <= now - self.window:
                self.sent.popleft()
            if len(self.sent) >= self.burst:
                return {"X-HubSpot-RateLimit-Remaining": "0"}
            self.sent.append(now)
            return None

    def _search_limited(self) -> dict[str, str] | None:
        with self.lock:
            now = time.monotonic()
            while self.searched and self.searched[0] <= now - 1.0:
                self.searched.popleft()
            if len(self.searched) >= self.searches_per_second:
                return {}
            self.searched.append(now)
            return None

    def _answer(
        self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str], body: bytes | None
    ) -> tuple[int, Any, dict[str, str], str | None]:
        if path == "/oauth/v1/token":
            return self._token(body)
        auth = handler.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if token != self.token and token not in self.access_tokens:
            return (
                401,
                {"status": "error", "category": "INVALID_AUTHENTICATION", "message": "bad token"},
                {},
                None,
            )
        if token in self.access_tokens and self.access_tokens[token] < time.time():
            return (
                401,
                {"status": "error", "category": "EXPIRED_AUTHENTICATION", "message": "expired"},
                {},
                None,
            )
        if (headers := self._limited()) is not None:
            return (
                429,
                {
                    "status": "error",
                    "policyName": "TEN_SECONDLY_ROLLING",
                    "message": "over the limit",
                },
                headers,
                None,
            )
        if path.endswith("/search") and (headers := self._search_limited()) is not None:
            return (
                429,
                {"status": "error", "policyName": "SECONDLY", "message": "too many searches"},
                headers,
                None,
            )
        fault = self._fault_for(path)
        if fault == "expired":
            self.expire_tokens()
            return (
                401,
                {"status": "error", "category": "EXPIRED_AUTHENTICATION", "message": "expired"},
                {},
                None,
            )
        if fault in ("429", "429-retry-after"):
            extra = {"Retry-After": "1"} if fault == "429-retry-after" else {}
            return 429, {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}, extra, None
        if fault == "403":
            return (
                403,
                {"status": "error", "category": "MISSING_SCOPES", "message": "scope"},
                {},
                None,
            )
        if fault in ("500", "502", "503"):
            return int(fault), {"status": "error", "message": "internal error"}, {}, None
        if fault == "not-json":
            return 200, b'{"results": [', {}, None
        status, payload = self._route(path, query, body)
        return status, payload, {"X-HubSpot-RateLimit-Max": str(self.burst)}, fault

    def _token(self, body: bytes | None) -> tuple[int, Any, dict[str, str], str | None]:
        form = dict(urllib.parse.parse_qsl((body or b"").decode()))
        wanted = self.oauth
        if (
            wanted is None
            or form.get("grant_type") != "refresh_token"
            or (form.get("client_id"), form.get("client_secret"), form.get("refresh_token"))
            != wanted
        ):
            return (
                400,
                {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"},
                {},
                None,
            )
        token = f"oauth-{len(self.access_tokens) + 1}"
        with self.lock:
            self.access_tokens[token] = time.time() + 1800
        return 200, {"access_token": token, "expires_in": 1800, "token_type": "bearer"}, {}, None

    def _route(self, path: str, query: dict[str, str], body: bytes | None) -> tuple[int, Any]:
        if path == "/account-info/v3/details":
            return 200, {"portalId": 1234567, "timeZone": "Asia/Tokyo", "companyCurrency": "JPY"}
        if path == "/crm/v3/pipelines/deals":
            return 200, {"results": self.state.pipelines}
        if path == "/crm/v3/owners":
            return 200, self._page(self.state.owners, query)
        if match := re.fullmatch(r"/crm/v3/objects/(contacts|companies|deals)", path):
            return 200, self._list(match[1], query)
        if match := re.fullmatch(r"/crm/v3/objects/(contacts|companies|deals)/search", path):
            try:
                return self._search(match[1], json.loads(body or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                return 400, {"status": "error", "category": "VALIDATION_ERROR", "message": str(exc)}
        if match := re.fullmatch(
            r"/crm/v4/associations/deals/(contacts|companies)/batch/read", path
        ):
            return self._associations(match[1], json.loads(body or b"{}"))
        return 404, {"status": "error", "message": f"no route {path}"}

    def _page(self, items: list[Any], query: dict[str, str]) -> dict[str, Any]:
        limit = min(int(query.get("limit", "10")), 100)
        offset = int(base64.b64decode(query["after"]).decode()) if query.get("after") else 0
        page: dict[str, Any] = {"results": items[offset : offset + limit]}
        if offset + limit < len(items):
            after = base64.b64encode(str(offset + limit).encode()).decode()
            page["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return page

    def _list(self, kind: str, query: dict[str, str]) -> dict[str, Any]:
        """One page in id order after the `after` cursor (an id: records added or removed
        while a client pages neither shift nor repeat the others)."""
        archived = query.get("archived") == "true"
        limit = min(int(query.get("limit", "10")), 100)
        after = int(base64.b64decode(query["after"]).decode()) if query.get("after") else 0
        wanted = [p for p in query.get("properties", "").split(",") if p] + list(DEFAULT_PROPERTIES)
        with self.lock:
            records, hidden = self.state.objects[kind], self.state.archived[kind]
            ids = self._sorted_ids(kind)
            page_ids: list[int] = []
            more = False
            for number in ids[bisect.bisect_right(ids, after) :]:
                if (str(number) in hidden) != archived or str(number) not in records:
                    continue
                if len(page_ids) == limit:
                    more = True
                    break
                page_ids.append(number)
            items = [
                {
                    "id": str(number),
                    "properties": {name: records[str(number)].get(name) for name in wanted},
                    "createdAt": records[str(number)].get("createdate"),
                    "updatedAt": records[str(number)].get("createdate"),
                    "archived": archived,
                }
                for number in page_ids
            ]
        page: dict[str, Any] = {"results": items}
        if more:
            cursor = base64.b64encode(str(page_ids[-1]).encode()).decode()
            page["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
        return page

    def _sorted_ids(self, kind: str) -> list[int]:
        cached = self.sorted_ids.get(kind)
        if cached is None or cached[0] != self.version:
            numbers = sorted(int(object_id) for object_id in self.state.objects[kind])
            self.sorted_ids[kind] = cached = (self.version, numbers)
        return cached[1]

    def _search(self, kind: str, body: dict[str, Any]) -> tuple[int, Any]:
        limit = int(body.get("limit", 10))
        if limit > 200:
            raise ValueError("limit: at most 200")
        after = int(body.get("after") or 0)
        if after >= self.search_cap:
            raise ValueError(f"paging beyond {self.search_cap} results is not allowed")
        groups = body.get("filterGroups") or [{"filters": []}]
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        if len(sorts) > 1:
            raise ValueError("sorts: at most one")
        wanted = [str(p) for p in body.get("properties") or []] + list(DEFAULT_PROPERTIES)
        with self.lock:
            found = [
                (object_id, props)
                for object_id, props in self.state.objects[kind].items()
                if object_id not in self.state.archived[kind]
                and (kind, object_id) not in self.state.hidden
                and any(all(_matches(props, f) for f in g.get("filters", [])) for g in groups)
            ]
        name = sorts[0]["propertyName"]
        descending = sorts[0].get("direction") == "DESCENDING"
        # Ties come in no particular order (HubSpot promises none): scrambled, not by id.
        found.sort(key=lambda item: _scramble(item[0]))
        found.sort(key=lambda item: _comparable(name, item[1].get(name)) or 0, reverse=descending)
        total = len(found)
        window = found[after : min(after + limit, self.search_cap)]
        answer: dict[str, Any] = {
            "total": total,
            "results": [
                {
                    "id": object_id,
                    "properties": {p: props.get(p) for p in wanted},
                    "createdAt": props.get("createdate"),
                    "updatedAt": props.get("lastmodifieddate") or props.get("hs_lastmodifieddate"),
                    "archived": False,
                }
                for object_id, props in window
            ],
        }
        if after + limit < total:
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return 200, answer

    def _associations(self, to: str, body: dict[str, Any]) -> tuple[int, Any]:
        inputs = [str(item["id"]) for item in body.get("inputs", [])]
        if len(inputs) > 1000:
            return 400, {"status": "error", "message": "at most 1000 inputs"}
        links = {
            deal: [
                (t, label)
                for t, label in targets
                if t in self.state.objects[to] and t not in self.state.archived[to]
            ]
            for deal, targets in self.state.associations.get(("deals", to), {}).items()
        }
        results, errors = [], []
        for deal in inputs:
            if not links.get(deal):
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                        "context": {"fromObjectId": [deal]},
                        "message": "No associations found",
                    }
                )
                continue
            results.append(
                {
                    "from": {"id": deal},
                    "to": [
                        {
                            "toObjectId": int(target),
                            "associationTypes": [
                                {
                                    "category": "HUBSPOT_DEFINED",
                                    "typeId": 3 if to == "contacts" else 5,
                                    "label": label,
                                }
                            ],
                        }
                        for target, label in links[deal]
                    ],
                }
            )
        answer = {"status": "COMPLETE", "results": results}
        if errors:
            answer.update({"numErrors": len(errors), "errors": errors})
            return 207, answer
        return 200, answer


def _epoch_ms(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _comparable(name: str, value: str | None) -> Any:
    """Dates and ids compare as numbers, everything else as text."""
    if value is None:
        return None
    if name == "hs_object_id" or name in DATE_PROPERTIES:
        return _epoch_ms(value)
    return value


DATE_PROPERTIES = frozenset({"createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate"})
OPERATORS = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "GT": lambda a, b: a is not None and a > b,
    "GTE": lambda a, b: a is not None and a >= b,
    "LT": lambda a, b: a is not None and a < b,
    "LTE": lambda a, b: a is not None and a <= b,
}


def _matches(props: dict[str, Any], flt: dict[str, Any]) -> bool:
    name, operator = flt["propertyName"], flt["operator"]
    value = _comparable(name, props.get(name))
    if operator == "HAS_PROPERTY":
        return value not in (None, "")
    if operator == "IN":
        return value in {_comparable(name, str(v)) for v in flt["values"]}
    return bool(OPERATORS[operator](value, _comparable(name, str(flt["value"]))))


def _scramble(object_id: str) -> str:
    return hashlib.sha256(object_id.encode()).hexdigest()


def _iso(epoch_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


DEMO_TOKEN = "pat-demo-sandbox"  # the local sandbox's, public on purpose


def seed_demo_portal(hs: HubSpotContractServer, contacts: int = 240, seed: int = 2026) -> None:
    """A small deterministic portal for the demo's HubSpot connection: companies, contacts
    over the last months with lifecycle dates, deals with their contact and company."""
    import random

    rng = random.Random(seed)  # demo data, not security
    today = dt.datetime.now(dt.UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    hs.state.pipelines = [
        {
            "id": "default",
            "label": "Sales",
            "stages": [
                {"id": stage, "label": label, "metadata": {"isClosed": closed, "probability": p}}
                for stage, label, closed, p in (
                    ("appointmentscheduled", "初回商談", "false", "0.2"),
                    ("contractsent", "見積提示", "false", "0.6"),
                    ("closedwon", "受注", "true", "1.0"),
                    ("closedlost", "失注", "true", "0.0"),
                )
            ],
        }
    ]
    hs.state.owners = [
        {"id": "11", "firstName": "花子", "lastName": "佐藤", "email": "sato@example.jp"},
        {"id": "12", "firstName": "健", "lastName": "鈴木", "email": "suzuki@example.jp"},
    ]
    industries = ("製造", "IT", "小売", "金融")
    for number in range(1, 21):
        employees = str(rng.choice((20, 120, 800)))
        hs.put("companies", str(5000 + number), name=f"サンドボックス商事{number}",
               industry=industries[number % 4], numberofemployees=employees)  # fmt: skip
    sources = ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "OFFLINE")
    deal = 9000
    for number in range(1, contacts + 1):
        created = today - dt.timedelta(days=rng.randint(1, 150))
        mql = created + dt.timedelta(days=rng.randint(1, 20)) if rng.random() < 0.4 else None
        sql = mql + dt.timedelta(days=rng.randint(1, 15)) if mql and rng.random() < 0.5 else None
        source = sources[number % len(sources)]
        contact = str(100 + number)
        hs.put(
            "contacts", contact, email=f"sandbox{number}@example.jp", firstname="太郎",
            lastname=f"見本{number}", createdate=created.isoformat().replace("+00:00", "Z"),
            hs_analytics_source=source, hs_analytics_source_data_1="sandbox-campaign",
            hs_lifecyclestage_marketingqualifiedlead_date=mql and mql.isoformat(),
            hs_lifecyclestage_salesqualifiedlead_date=sql and sql.isoformat(),
            hubspotscore=str(rng.randint(0, 100)), associatedcompanyid=str(5001 + number % 20),
            hubspot_owner_id=rng.choice(("11", "12")),
        )  # fmt: skip
        if sql is None or rng.random() < 0.3:
            continue
        deal += 1
        opened = sql + dt.timedelta(days=rng.randint(1, 10))
        stage = rng.choice(("appointmentscheduled", "contractsent", "closedwon", "closedlost"))
        hs.put(
            "deals", str(deal), dealname=f"導入案件{deal}", amount=str(rng.randint(5, 60) * 10**5),
            deal_currency_code="JPY", createdate=opened.isoformat(),
            closedate=(opened + dt.timedelta(days=rng.randint(5, 40))).isoformat(),
            dealstage=stage, hs_analytics_source=source,
            closed_lost_reason="価格" if stage == "closedlost" else None,
        )  # fmt: skip
        hs.associate(str(deal), "contacts", contact)
        hs.associate(str(deal), "companies", str(5001 + number % 20), "Primary")
    hs.spread(minutes_apart=7)


def main() -> None:
    """`python -m tests.contract_servers.hubspot --port 8765`: the demo's HubSpot sandbox
    (bin/demo starts it beside the product), serving a seeded portal until stopped."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    hs = HubSpotContractServer(token=DEMO_TOKEN)
    hs.httpd.server_close()
    hs.httpd = ThreadingHTTPServer(("127.0.0.1", args.port), hs._handler())
    hs.base_url = f"http://127.0.0.1:{args.port}"
    seed_demo_portal(hs)
    print(f"HubSpot sandbox on {hs.base_url} (token {DEMO_TOKEN})", flush=True)
    try:
        hs.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hs.httpd.server_close()


if __name__ == "__main__":
    main()
