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
- OAuth "Refresh an access token" (POST /oauth/v1/token, form fields).
- "API usage guidelines and limits" and "Error handling": X-HubSpot-RateLimit-* headers;
  over the burst limit a 429 with policyName TEN_SECONDLY_ROLLING; 401 with category
  EXPIRED_AUTHENTICATION for an expired OAuth token.
Faults a test asks for are served once each: a 429 with or without Retry-After, a 5xx,
a body cut short, a body that is not JSON.
"""

from __future__ import annotations

import base64
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
    kind: str  # 429, 429-retry-after, 500, 502, 503, cut, not-json, expired
    times: int = 1


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


class HubSpotContractServer:
    """`with HubSpotContractServer(token="pat-...") as hs:` -> hs.base_url."""

    def __init__(
        self,
        token: str = "pat-test-token",
        oauth: tuple[str, str, str] | None = None,
        burst: int = 190,
        window: float = 10.0,
    ) -> None:
        self.token, self.oauth, self.burst, self.window = token, oauth, burst, window
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

    def put(self, kind: str, object_id: str, **properties: Any) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        with self.lock:
            stored = self.state.objects[kind].setdefault(object_id, {})
            stored.update({k: None if v is None else str(v) for k, v in properties.items()})
            stored["hs_object_id"] = object_id
            stored.setdefault("createdate", now)
            stored["lastmodifieddate" if kind == "contacts" else "hs_lastmodifieddate"] = now

    def archive(self, kind: str, object_id: str) -> None:
        with self.lock:
            self.state.archived[kind].add(object_id)

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
        fault = self._fault_for(path)
        if fault in ("429", "429-retry-after"):
            extra = {"Retry-After": "1"} if fault == "429-retry-after" else {}
            return 429, {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}, extra, None
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
        archived = query.get("archived") == "true"
        wanted = [p for p in query.get("properties", "").split(",") if p] + list(DEFAULT_PROPERTIES)
        with self.lock:
            ids = sorted(self.state.objects[kind], key=int)
            items = [
                {
                    "id": object_id,
                    "properties": {
                        name: self.state.objects[kind][object_id].get(name) for name in wanted
                    },
                    "createdAt": self.state.objects[kind][object_id].get("createdate"),
                    "updatedAt": self.state.objects[kind][object_id].get("createdate"),
                    "archived": archived,
                }
                for object_id in ids
                if (object_id in self.state.archived[kind]) == archived
            ]
        return self._page(items, query)

    def _associations(self, to: str, body: dict[str, Any]) -> tuple[int, Any]:
        inputs = [str(item["id"]) for item in body.get("inputs", [])]
        if len(inputs) > 1000:
            return 400, {"status": "error", "message": "at most 1000 inputs"}
        links = self.state.associations.get(("deals", to), {})
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
