"""Salesforce's REST API, one typed function per use (docs/connectors.md section 4), through
the one HTTP seam (integrations/transport.py).

What Salesforce documents and this client follows (REST API Developer Guide: Query,
QueryAll, "Sforce-Query-Options", "Sforce-Limit-Info", "Status Codes and Error Responses";
Help: "OAuth 2.0 Refresh Token Flow"; Developer Limits and Allocations Quick Reference):
- The token answer has `access_token` and `instance_url` (API calls go there) and no
  `expires_in`: a session ends after inactivity; `401 INVALID_SESSION_ID` refreshes once.
  `invalid_grant` (a revoked refresh token) fails the run.
- Errors are a JSON list of `{"message", "errorCode"}`. `403 REQUEST_LIMIT_EXCEEDED` is the
  daily allocation ("TotalRequests Limit exceeded": stop) or a concurrency limit (back off
  from 1 s up to 2 minutes). `400 QUERY_TIMEOUT`, `500 UNKNOWN_EXCEPTION`, `503
  SERVER_UNAVAILABLE` are retried. `INVALID_QUERY_LOCATOR` restarts that query at the
  cursor; `INVALID_FIELD` on an optional custom field leaves the field out.
- Every answer carries `Sforce-Limit-Info: api-usage=used/limit`; a run stops before it
  uses its share of the calls left today (default a tenth), keeping its cursors.
- Query pages: `nextRecordsUrl` until `done`; `Sforce-Query-Options: batchSize=2000` is a
  request, pages may be smaller.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrations import secrets
from integrations.models import Connection
from integrations.transport import (
    Answer,
    AuthenticationFailed,
    QuotaExhausted,
    SyncError,
    TokenExpired,
    Transient,
    Transport,
    Vendor,
)

API = "/services/data/v62.0"
BATCH_SIZE = 2000
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_NO_SUCH_COLUMN = re.compile(r"No such column '([^']+)'")


class LocatorExpired(SyncError):
    """INVALID_QUERY_LOCATOR: the query's cursor is gone; start it again at the cursor."""


class InvalidField(SyncError):
    """INVALID_FIELD naming a field this org does not have."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def soql_ids(ids: Sequence[str]) -> str:
    """`('id1','id2')` for an IN clause; an id that is not a Salesforce id is refused, so
    nothing the vendor sent can change a query."""
    for value in ids:
        if not _ID.match(value):
            raise SyncError(f"Salesforce sent a malformed id: {value[:40]!r}")
    return "(" + ",".join(f"'{value}'" for value in ids) + ")"


def soql_time(moment: dt.datetime) -> str:
    """A datetime literal of SOQL: UTC, unquoted (SOQL and SOSL Reference, date formats)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def salesforce_login(
    transport: Transport, login_url: str, credentials: Mapping[str, str]
) -> dict[str, Any]:
    """Salesforce's OAuth 2.0 refresh-token flow (POST {login}/services/oauth2/token): the
    token answer, with `access_token` and `instance_url`; `invalid_grant` (a revoked
    refresh token) fails the run. Account Engagement logs in the same way."""
    form = {
        "grant_type": "refresh_token",
        "client_id": secrets.resolve(credentials["client_id"]),
        "client_secret": secrets.resolve(credentials["client_secret"]),
        "refresh_token": secrets.resolve(credentials["refresh_token"]),
    }
    return transport.token_call("POST", login_url + "/services/oauth2/token", form=form)


def first_error(data: Any) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error body (a list of errors, or the token
    endpoint's `error`/`error_description`)."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return str(data[0].get("errorCode") or ""), str(data[0].get("message") or "")
    if isinstance(data, dict):
        code = str(data.get("errorCode") or data.get("error") or "")
        return code, str(data.get("message") or data.get("error_description") or "")
    return "", "no message"


class SalesforceVendor(Vendor):
    name = "Salesforce"
    tries = 8  # REQUEST_LIMIT_EXCEEDED backs off from 1 s up to 2 minutes
    max_wait = 120.0

    def __init__(self) -> None:
        self.usage: tuple[int, int] | None = None  # (used, limit) as last reported
        self.lock = threading.Lock()

    def classify(self, answer: Answer) -> None:
        if match := _USAGE.search(answer.headers.get("Sforce-Limit-Info", "")):
            with self.lock:
                self.usage = (int(match[1]), int(match[2]))
        if answer.status < 400:
            return
        code, message = first_error(answer.data)
        if answer.status == 401:
            if code == "INVALID_SESSION_ID":
                raise TokenExpired()
            raise AuthenticationFailed(f"authentication failed: Salesforce: {code} {message[:300]}")
        if code == "REQUEST_LIMIT_EXCEEDED":
            if "TotalRequests" in message:
                raise QuotaExhausted(
                    "Salesforce's daily API allocation is used up (REQUEST_LIMIT_EXCEEDED); "
                    "the next run resumes"
                )
            raise Transient(f"Salesforce: {code} ({message[:300]})")
        if code == "QUERY_TIMEOUT" or answer.status >= 500:
            raise Transient(f"Salesforce: {code or 'HTTP ' + str(answer.status)}")
        if code == "INVALID_QUERY_LOCATOR":
            raise LocatorExpired(f"Salesforce: {code}")
        # SOQL errors quote the query before the reason: the reason is the last line.
        reason = message.strip().splitlines()[-1][:300] if message.strip() else "no message"
        if code == "INVALID_FIELD" and (column := _NO_SUCH_COLUMN.search(message)):
            raise InvalidField(f"Salesforce: {code}: {reason}", column[1])
        raise SyncError(f"Salesforce: HTTP {answer.status} {code}: {reason}")


@dataclass(frozen=True)
class SObject:
    """One record of a query answer, its `attributes` dropped."""

    type: str
    id: str
    fields: Mapping[str, Any]

    @classmethod
    def parse(cls, sobject: str, data: Any) -> SObject:
        if not isinstance(data, dict) or not isinstance(data.get("Id"), str) or not data["Id"]:
            raise SyncError(f"Salesforce sent a {sobject} without an Id ({str(data)[:80]})")
        return cls(sobject, data["Id"], {k: v for k, v in data.items() if k != "attributes"})

    @property
    def deleted(self) -> bool:
        return bool(self.fields.get("IsDeleted"))

    def text(self, name: str) -> str:
        value = self.fields.get(name)
        if value is None or isinstance(value, dict | list):
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()


class SalesforceClient:
    def __init__(self, connection: Connection, api_share: float = 0.1) -> None:
        self.connection = connection
        self.credentials = secrets.decrypt(connection.credentials)
        self.login_url = connection.login_url.rstrip("/")
        self.vendor = SalesforceVendor()
        self.access_token = ""
        self.instance_url = ""
        self.transport = Transport("", self.vendor, token=self._token)
        self.api_share = api_share
        self.budget: int | None = None  # API calls this run may make (known after one call)
        self.api_calls = 0
        # Optional fields this org does not have, as "Object.Field" (the sync keeps them
        # between runs, so a run does not ask for them again).
        self.absent: set[str] = set()

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
        data = salesforce_login(self.transport, self.login_url, self.credentials)
        instance = str(data.get("instance_url") or "").rstrip("/")
        if not instance.startswith(("https://", "http://")):
            raise AuthenticationFailed("authentication failed: Salesforce sent no instance_url")
        self.access_token = str(data["access_token"])
        self.instance_url = instance
        self.transport.base_url = instance + API

    # --- calls ---------------------------------------------------------------------------

    def _call(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        """One API call, within the run's share of the day's allocation."""
        if self.budget is not None and self.api_calls >= self.budget:
            raise QuotaExhausted(
                f"Salesforce: this run used its share of today's API calls ({self.budget} "
                f"calls, {self.api_share:.0%} of those left); the next run resumes"
            )
        headers = {"Sforce-Query-Options": f"batchSize={BATCH_SIZE}"}
        if path.startswith(API + "/"):  # a nextRecordsUrl: on the instance, after a call
            path = self.instance_url + path
        answer = self.transport.call("GET", path, params, headers=headers)
        self.api_calls += 1
        if self.budget is None and self.vendor.usage is not None:
            used, limit = self.vendor.usage
            self.budget = max(1, int((limit - used) * self.api_share))
        return answer

    def limits(self) -> dict[str, Any]:
        """GET .../limits: the test call."""
        data = self._call("/limits").data
        return data if isinstance(data, dict) else {}

    def query(
        self,
        sobject: str,
        fields: Sequence[str],
        optional: Sequence[str] = (),
        where: str = "",
        order: str = "SystemModstamp, Id",
    ) -> Iterator[list[SObject]]:
        """queryAll (deleted and merged-away rows included), page by page; optional fields
        this org lacks are left out of the query and read as empty."""
        while True:
            wanted = [*fields, *(f for f in optional if f"{sobject}.{f}" not in self.absent)]
            # Our own field names; `where` holds only our stamps and checked ids (soql_ids).
            soql = f"SELECT {', '.join(wanted)} FROM {sobject}"  # noqa: S608
            if where:
                soql += f" WHERE {where}"
            if order:
                soql += f" ORDER BY {order}"
            try:
                answer = self._call("/queryAll", {"q": soql})
            except InvalidField as exc:
                name = f"{sobject}.{exc.field}"
                if exc.field not in optional or name in self.absent:
                    raise
                self.absent.add(name)
                continue
            break
        while True:
            data = answer.data
            if (
                not isinstance(data, dict)
                or not isinstance(data.get("records"), list)
                or not isinstance(data.get("done"), bool)
            ):
                raise SyncError(f"Salesforce: a {sobject} query page without records or done")
            yield [SObject.parse(sobject, record) for record in data["records"]]
            if data["done"]:
                return
            following = data.get("nextRecordsUrl")
            if not isinstance(following, str) or not following.startswith(API + "/"):
                raise SyncError(f"Salesforce: a {sobject} query page with a bad nextRecordsUrl")
            answer = self._call(following)
