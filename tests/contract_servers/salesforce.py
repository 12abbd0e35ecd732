"""A Salesforce org (REST API and OAuth login host) on 127.0.0.1, for the connector's tests
and benchmark.

Follows Salesforce's public documentation, not our connector:
- REST API Developer Guide, "Execute a SOQL Query" / "Query" / "QueryAll" / "Query More
  Results" / "QueryAll More Results": `GET /services/data/vXX.X/query/?q=` and `queryAll`
  (which also returns records deleted or merged away while they are in the Recycle Bin);
  an answer `{"totalSize", "done", "nextRecordsUrl", "records"}` whose records carry
  `attributes` {type, url}; the nextRecordsUrl of either is `/services/data/vXX.X/query/
  01g...-2000` ("contains query instead of queryAll"), and both `query/<locator>` and
  `queryAll/<locator>` serve it; the rest of a result is the result as it stood when the
  query ran (a server-side cursor).
- SOAP API Developer Guide, "QueryLocator": a user has at most 10 query cursors open; opening
  an 11th releases the oldest, which then answers INVALID_QUERY_LOCATOR (help article
  000384958 "INVALID_QUERY_LOCATOR", as does `expire_locators()`).
- "Query Options Header": `Sforce-Query-Options: batchSize=N`, default 2,000, minimum 200,
  maximum 2,000, "no guarantee that the requested batch size is the actual batch size"
  (here: at most `max_batch`).
- "Limit Info Header": every REST answer carries `Sforce-Limit-Info: api-usage=used/limit`;
  "Limits" resource (`GET /services/data/vXX.X/limits/`, DailyApiRequests Max/Remaining);
  "Status Codes and Error Responses": 401 with errorCode INVALID_SESSION_ID for an expired
  or invalid session ("Session expired or invalid"), 403 REQUEST_LIMIT_EXCEEDED over the
  org's API request limit, error bodies `[{"message", "errorCode"}]`.
- "OAuth 2.0 Refresh Token Flow for Renewed Sessions" / "Understanding the OAuth Refresh
  Token Process": `POST /services/oauth2/token` form grant_type=refresh_token, client_id,
  client_secret, refresh_token; the answer has access_token, instance_url, id, token_type,
  issued_at, signature (HMAC-SHA256 of id + issued_at keyed by the consumer secret), scope,
  and no expires_in (the session timeout decides). "Revoking OAuth Tokens": revoking a
  refresh token revokes its access tokens too (`POST /services/oauth2/revoke` is served).
- SOQL and SOSL Reference: "Date Formats and Date Literals in WHERE" (dateTime values
  YYYY-MM-DDThh:mm:ss(+|-)hh:mm or Z, dates YYYY-MM-DD, never in quotes; a quoted value for
  a date/dateTime/number/boolean field is 400 INVALID_FIELD "value of filter criterion for
  field 'X' must be of type dateTime and should not be enclosed in quotes"), "Quoted String
  Escape Sequences" / "Reserved Characters" (\\' \\\\ \\n ...), "ORDER BY" (ASC by
  default, NULLS FIRST by default, text sorts case-insensitively, and "the order of results
  can vary if there are duplicate values" - here ties are scrambled, never insertion order),
  comparison operators, IN / NOT IN, LIKE, AND / OR / NOT with parentheses, LIMIT, OFFSET.
  Text comparisons are case-insensitive; ids compare as given (a 15-character id equals its
  18-character form). Unknown columns: 400 INVALID_FIELD "No such column 'X' on entity
  'Lead'"; unknown objects: 400 INVALID_TYPE; anything this server does not parse: 400
  MALFORMED_QUERY.
- Object Reference: LeadHistory (Id, LeadId, Field, OldValue, NewValue, CreatedDate,
  IsDeleted; no SystemModstamp; OldValue/NewValue are anyType, sortable, not filterable);
  Lead conversion fields (IsConverted, ConvertedContactId/AccountId/OpportunityId,
  ConvertedDate - a date, "doesn't include the time"); MasterRecordId.
- "merge()" / "Triggers and Merge Statements": merge works on Lead, Contact and Account;
  the losing record is deleted with MasterRecordId = the winner and is seen with
  queryAll; its related records are reparented to the winner; the winner is updated.
- "undelete()": deleting a record cascade-deletes its child records (an Account its
  Contacts and Opportunities) and undelete restores them; after the Recycle Bin is
  emptied a record is gone even from queryAll.
- "sObject Get Updated": SystemModstamp is the replication stamp; stamps have whole seconds.
- "CurrencyType" ("not available in single-currency organizations"): the org is
  single-currency, so CurrencyIsoCode is an unknown column, until a test puts a
  CurrencyIsoCode on some record, which turns multicurrency on for every object.
- Also served: `GET /services/data/` (versions, no session needed) and `GET .../sobjects/
  {Object}/describe/` (field names and types, this server's schema).
Faults a test asks for are served once each (after the session check): REQUEST_LIMIT_
EXCEEDED (ConcurrentPerOrgLongTxn), an expired session, 500 UNKNOWN_EXCEPTION, 503
SERVER_UNAVAILABLE, QUERY_TIMEOUT, INVALID_QUERY_LOCATOR, a body cut short, a body that is
not JSON.

Pages relied on (developer.salesforce.com unless a host is given):
  /docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm
  /docs/platform/api-rest/guide/resources-queryall-more-results.html
  /docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
  /docs/atlas.en-us.234.0.api_rest.meta/api/headers_api_usage.htm
  /docs/atlas.en-us.214.0.api_rest.meta/api_rest/resources_limits.htm
  /docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
  /docs/atlas.en-us.222.0.api_rest.meta/api/intro_understanding_refresh_token_oauth.htm
  help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm
  /docs/atlas.en-us.mobile_sdk.meta/mobile_sdk/oauth_revoking_tokens.htm
  /docs/atlas.en-us.238.0.api.meta/api/sforce_api_calls_querymore_querylocator.htm
  help.salesforce.com/s/articleView?id=000384958 (INVALID_QUERY_LOCATOR)
  /docs/atlas.en-us.soql_sosl.meta/api/sforce_api_calls_soql_select_dateformats.htm
  /docs/atlas.en-us.soql_sosl.meta/api/sforce_api_calls_soql_select_quotedstringescapes.htm
  /docs/atlas.en-us.258.0.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm
  /docs/atlas.en-us.192.0.api.meta/api/sforce_api_objects_leadhistory.htm
  /docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_standard_objects_lead_conversion.htm
  /docs/atlas.en-us.212.0.api.meta/api/sforce_api_calls_merge.htm
  /docs/atlas.en-us.apexcode.meta/apexcode/apex_triggers_merge_statements.htm
  /docs/atlas.en-us.214.0.api.meta/api/sforce_api_calls_undelete.htm
  /docs/atlas.en-us.api_rest.meta/api/resources_getupdated.htm
  /docs/atlas.en-us.192.0.api.meta/api/sforce_api_objects_currencytype.htm
Error wordings not on those pages (INVALID_FIELD for a quoted date, "invalid ID field",
"TotalRequests Limit exceeded.", "ConcurrentPerOrgLongTxn Limit exceeded.", the OAuth
error bodies) follow what users of the API report in public threads.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn

API_VERSION = "v62.0"
ORG_ID = "00D5g000004SfbnEAC"
USER_ID = "0055g00000AbCdEAAZ"

KEY_PREFIXES = {
    "Lead": "00Q",
    "LeadHistory": "017",
    "Contact": "003",
    "Account": "001",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "Campaign": "701",
    "CampaignMember": "00v",
    "User": "005",
}
TEXT = frozenset({"string", "email", "picklist", "textarea"})
IDS = frozenset({"id", "reference"})
NUMBERS = frozenset({"int", "double", "currency"})
STAMPED = ("SystemModstamp", "LastModifiedDate")

_COMMON = {
    "Id": "id",
    "IsDeleted": "boolean",
    "CreatedDate": "datetime",
    "SystemModstamp": "datetime",
    "LastModifiedDate": "datetime",
}
_PERSON = {"FirstName": "string", "LastName": "string", "Name": "string"}
SCHEMA: dict[str, dict[str, str]] = {
    "Lead": {
        **_COMMON,
        **_PERSON,
        "Email": "email",
        "Company": "string",
        "LeadSource": "picklist",
        "Status": "picklist",
        "Industry": "picklist",
        "NumberOfEmployees": "int",
        "OwnerId": "reference",
        "IsConverted": "boolean",
        "ConvertedContactId": "reference",
        "ConvertedAccountId": "reference",
        "ConvertedOpportunityId": "reference",
        "ConvertedDate": "date",
        "MasterRecordId": "reference",
        "DisqualifyReason__c": "picklist",
        "mkto71_Lead_Score__c": "double",
    },
    "LeadHistory": {
        "Id": "id",
        "IsDeleted": "boolean",
        "CreatedDate": "datetime",
        "LeadId": "reference",
        "Field": "picklist",
        "OldValue": "anyType",
        "NewValue": "anyType",
    },
    "Contact": {
        **_COMMON,
        **_PERSON,
        "Email": "email",
        "AccountId": "reference",
        "LeadSource": "picklist",
        "OwnerId": "reference",
        "MasterRecordId": "reference",
    },
    "Account": {
        **_COMMON,
        "Name": "string",
        "Industry": "picklist",
        "NumberOfEmployees": "int",
        "MasterRecordId": "reference",
    },
    "Opportunity": {
        **_COMMON,
        "Name": "string",
        "AccountId": "reference",
        "Amount": "currency",
        "CloseDate": "date",
        "StageName": "picklist",
        "IsClosed": "boolean",
        "IsWon": "boolean",
        "LeadSource": "picklist",
        "OwnerId": "reference",
        "Loss_Reason__c": "picklist",
    },
    "OpportunityContactRole": {
        **_COMMON,
        "OpportunityId": "reference",
        "ContactId": "reference",
        "IsPrimary": "boolean",
        "Role": "picklist",
    },
    "Campaign": {
        **_COMMON,
        "Name": "string",
        "Type": "picklist",
        "ActualCost": "currency",
        "StartDate": "date",
        "Status": "picklist",
    },
    "CampaignMember": {
        **_COMMON,
        "CampaignId": "reference",
        "LeadId": "reference",
        "ContactId": "reference",
        "Status": "picklist",
    },
    "User": {**_COMMON, **_PERSON, "Username": "string", "Email": "email", "IsActive": "boolean"},
}
# Children deleted (and undeleted) with their parent: (child object, its lookup field).
CASCADE: dict[str, tuple[tuple[str, str], ...]] = {
    "Lead": (("LeadHistory", "LeadId"), ("CampaignMember", "LeadId")),
    "Contact": (("CampaignMember", "ContactId"), ("OpportunityContactRole", "ContactId")),
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId")),
    "Opportunity": (("OpportunityContactRole", "OpportunityId"),),
    "Campaign": (("CampaignMember", "CampaignId"),),
}
# Related records a merge moves from the loser to the survivor.
REPARENT: dict[str, tuple[tuple[str, str], ...]] = {
    "Lead": (("CampaignMember", "LeadId"),),
    "Contact": (("CampaignMember", "ContactId"), ("OpportunityContactRole", "ContactId")),
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId")),
}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # in ASCII order


@dataclass
class Fault:
    path: str  # a regular expression over the request path (query string excluded)
    kind: str  # limit, session, 500, 503, timeout, cut, not-json, locator
    times: int = 1
    skip: int = 0  # matching requests served normally before the fault


class SoqlError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Cursor:
    sobject: str
    fields: list[tuple[str, str]]  # (name, type) in SELECT order
    rows: list[dict[str, Any]]  # the result as it stood when the query ran
    batch: int


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False
    content_type: str = "application/json;charset=UTF-8"


class SalesforceContractServer:
    """`with SalesforceContractServer() as sf:` -> sf.base_url (login host and instance)."""

    max_cursors = 10  # open query cursors per user ("QueryLocator")

    def __init__(
        self,
        client_id: str = "sf-client",
        client_secret: str = "sf-secret",
        refresh_token: str = "sf-refresh",
        daily_limit: int = 100_000,
        max_batch: int = 2000,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token, self.revoked = refresh_token, False
        self.daily_limit, self.max_batch = daily_limit, max(1, max_batch)
        self.api_used = 0
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int, str]] = []
        self.schema = {name: dict(fields) for name, fields in SCHEMA.items()}
        self.dropped: dict[str, set[str]] = {name: set() for name in SCHEMA}
        # sObject -> Id -> fields. A record dict is never changed once stored (a write
        # stores a new one), so a query's snapshot is a list of references.
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SCHEMA}
        self.cascaded: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.access_tokens: set[str] = set()
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._scrambled: dict[str, bytes] = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> SalesforceContractServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- seeding -----------------------------------------------------------------------

    def put(self, sobject: str, id: str | None = None, at: str | None = None, **fields: Any) -> str:
        """Create or change a record (a merge of `fields`); its SystemModstamp and
        LastModifiedDate become `at` or now, in whole seconds. Returns the Id."""
        with self.lock:
            schema = self._schema_of(sobject)
            stamp = self._stamp(at)
            record_id = id or self._new_id(sobject)
            old = self.records[sobject].get(record_id)
            record = dict(old) if old else self._blank(sobject, record_id, stamp)
            for name, value in fields.items():
                if name == "CurrencyIsoCode" and name not in self.dropped[sobject]:
                    self._multicurrency()
                if name not in schema:
                    if name in self.dropped[sobject] or not name.endswith("__c"):
                        raise ValueError(f"{sobject} has no field {name}")
                    schema[name] = _guess_type(value)
                record[name] = _coerce(schema[name], value)
                if name == "Name":
                    record["_name_given"] = True
            if "Name" in schema and "FirstName" in schema and not record.get("_name_given"):
                parts = [record.get("FirstName"), record.get("LastName")]
                record["Name"] = " ".join(str(part) for part in parts if part) or None
            for name in STAMPED:
                if name in schema:
                    record[name] = stamp
            self.records[sobject][record_id] = record
            return record_id

    def history(
        self, lead_id: str, new: str, at: str, old: str | None = None, field: str = "Status"
    ) -> str:
        """A LeadHistory row: `field` of the Lead changed from `old` to `new` at `at`."""
        with self.lock:
            history_id = self._new_id("LeadHistory")
            self.records["LeadHistory"][history_id] = {
                "Id": history_id,
                "IsDeleted": False,
                "CreatedDate": _instant(at),
                "LeadId": lead_id,
                "Field": field,
                "OldValue": old,
                "NewValue": new,
            }
            return history_id

    def delete(self, sobject: str, id: str, at: str | None = None) -> None:
        """To the Recycle Bin: IsDeleted true, with the children it cascades to."""
        with self.lock:
            self._live(sobject, id)
            stamp = self._stamp(at)
            children = self._descendants(sobject, id)
            for child_object, child_id in [(sobject, id), *children]:
                self._touch(child_object, child_id, stamp, IsDeleted=True)
            self.cascaded[(sobject, id)] = children

    def undelete(self, sobject: str, id: str, at: str | None = None) -> None:
        """Back from the Recycle Bin, with the children deleted along with it."""
        with self.lock:
            record = self._record(sobject, id)
            if not record["IsDeleted"]:
                raise ValueError(f"{sobject} {id} is not deleted")
            stamp = self._stamp(at)
            for child_object, child_id in [(sobject, id), *self.cascaded.pop((sobject, id), [])]:
                if child_id in self.records[child_object]:
                    self._touch(child_object, child_id, stamp, IsDeleted=False)

    def purge(self, sobject: str, id: str) -> None:
        """Emptied from the Recycle Bin (deleted first if live): gone even from queryAll."""
        with self.lock:
            if not self._record(sobject, id)["IsDeleted"]:
                self.delete(sobject, id)
            for child_object, child_id in [(sobject, id), *self.cascaded.pop((sobject, id), [])]:
                self.records[child_object].pop(child_id, None)

    def merge(self, sobject: str, survivor: str, loser: str, at: str | None = None) -> None:
        """The loser is deleted with MasterRecordId = survivor; its related records move to
        the survivor (their SystemModstamp moves); the survivor is updated."""
        if sobject not in REPARENT:
            raise ValueError("merge works on Lead, Contact and Account only")
        if survivor == loser:
            raise ValueError("a record cannot be merged into itself")
        with self.lock:
            self._live(sobject, survivor)
            self._live(sobject, loser)
            stamp = self._stamp(at)
            for child_object, lookup in REPARENT[sobject]:
                for child_id, child in list(self.records[child_object].items()):
                    if not child["IsDeleted"] and _same_id(child.get(lookup), loser):
                        self._touch(child_object, child_id, stamp, **{lookup: survivor})
            self.delete(sobject, loser, at=_iso(stamp))
            self._touch(sobject, loser, stamp, MasterRecordId=survivor)
            self._touch(sobject, survivor, stamp, LastModifiedDate=stamp)

    def convert(
        self,
        lead_id: str,
        contact_id: str,
        account_id: str,
        opportunity_id: str | None = None,
        at: str | None = None,
    ) -> None:
        with self.lock:
            self._live("Lead", lead_id)
            stamp = self._stamp(at)
            self._touch(
                "Lead",
                lead_id,
                stamp,
                LastModifiedDate=stamp,
                IsConverted=True,
                ConvertedContactId=contact_id,
                ConvertedAccountId=account_id,
                ConvertedOpportunityId=opportunity_id,
                ConvertedDate=stamp.date(),
            )

    def expire_sessions(self) -> None:
        """Every access token issued so far now answers 401 INVALID_SESSION_ID."""
        with self.lock:
            self.access_tokens.clear()

    def revoke(self) -> None:
        """The refresh token is revoked, and with it its access tokens ("Revoking OAuth
        Tokens"): the token endpoint answers 400 invalid_grant."""
        with self.lock:
            self.revoked = True
            self.access_tokens.clear()

    def expire_locators(self) -> None:
        """Open query cursors are gone: their nextRecordsUrl answers INVALID_QUERY_LOCATOR."""
        with self.lock:
            self.cursors.clear()

    def drop_field(self, sobject: str, name: str) -> None:
        """The org has no such field: queries naming it are 400 INVALID_FIELD."""
        with self.lock:
            if self._schema_of(sobject).pop(name, None) is None:
                raise ValueError(f"{sobject} has no field {name}")
            self.dropped[sobject].add(name)

    # --- records -----------------------------------------------------------------------

    def _multicurrency(self) -> None:
        """The org turns multicurrency on (a test put a CurrencyIsoCode): the field exists on
        every object but LeadHistory; records that never got a value answer null."""
        for sobject, schema in self.schema.items():
            if sobject != "LeadHistory" and "CurrencyIsoCode" not in self.dropped[sobject]:
                schema.setdefault("CurrencyIsoCode", "picklist")

    def _schema_of(self, sobject: str) -> dict[str, str]:
        if sobject not in self.schema:
            raise ValueError(f"unknown sObject {sobject}")
        return self.schema[sobject]

    def _blank(self, sobject: str, record_id: str, stamp: dt.datetime) -> dict[str, Any]:
        schema = self.schema[sobject]
        record: dict[str, Any] = {name: None for name in schema}
        record.update({name: False for name, kind in schema.items() if kind == "boolean"})
        record.update(Id=record_id, CreatedDate=stamp)
        return record

    def _new_id(self, sobject: str) -> str:
        number, digits = next(self._ids), ""
        while number:
            number, rest = divmod(number, 62)
            digits = _BASE62[rest] + digits
        return _id18(KEY_PREFIXES[sobject] + "5g0" + digits.rjust(9, "0"))

    def _stamp(self, at: str | None) -> dt.datetime:
        moment = _instant(at) if at else dt.datetime.now(dt.UTC)
        return moment.replace(microsecond=0)

    def _record(self, sobject: str, record_id: str) -> dict[str, Any]:
        self._schema_of(sobject)
        record = self.records[sobject].get(record_id)
        if record is None:
            raise ValueError(f"no {sobject} {record_id}")
        return record

    def _live(self, sobject: str, record_id: str) -> dict[str, Any]:
        record = self._record(sobject, record_id)
        if record["IsDeleted"]:
            raise ValueError(f"{sobject} {record_id} is deleted")
        return record

    def _touch(self, sobject: str, record_id: str, stamp: dt.datetime, **changes: Any) -> None:
        record = {**self.records[sobject][record_id], **changes}
        if "SystemModstamp" in self.schema[sobject]:
            record["SystemModstamp"] = stamp
        self.records[sobject][record_id] = record

    def _descendants(self, sobject: str, record_id: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for child_object, lookup in CASCADE.get(sobject, ()):
            for child_id, child in self.records[child_object].items():
                if not child["IsDeleted"] and _same_id(child.get(lookup), record_id):
                    found.append((child_object, child_id))
                    found.extend(self._descendants(child_object, child_id))
        return list(dict.fromkeys(found))

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

            def do_PATCH(self) -> None:
                self.do_POST()

            def do_DELETE(self) -> None:
                server._serve(self, None)

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        url = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            answer = self._answer(handler, url.path, query, body)
        except Exception as exc:  # a bug here should show as a 500, not a hung client
            answer = Answer(500, [{"message": repr(exc), "errorCode": "UNKNOWN_EXCEPTION"}])
        soql = query.get("q", "") if re.search(r"/query(All)?/?$", url.path) else ""
        data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        with self.lock:
            self.requests.append((handler.command, url.path, answer.status, soql))
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if answer.cut:
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

    def _answer(
        self,
        handler: BaseHTTPRequestHandler,
        path: str,
        query: dict[str, str],
        body: bytes | None,
    ) -> Answer:
        if path.startswith("/services/oauth2/"):
            fault = self._fault_for(path)
            if fault is not None and fault != "cut":
                return _faulted(fault, {})
            form = dict(urllib.parse.parse_qsl((body or b"").decode()))
            if path == "/services/oauth2/token" and handler.command == "POST":
                answer = self._token(form)
            elif path == "/services/oauth2/revoke" and handler.command == "POST":
                answer = self._revoke(form)
            else:
                answer = Answer(404, {"error": "not_found", "error_description": path})
            answer.cut = fault == "cut"  # the token is issued, the client never reads it
            return answer
        if path.rstrip("/") == "/services/data":
            version = API_VERSION.lstrip("v")
            item = {"label": "Winter '25", "url": f"/services/data/{API_VERSION}"}
            return Answer(200, [{**item, "version": version}])
        auth = handler.headers.get("Authorization", "")
        token = re.sub(r"^(Bearer|OAuth)\s+", "", auth)
        with self.lock:
            if token not in self.access_tokens:
                return Answer(401, _error("INVALID_SESSION_ID", "Session expired or invalid"))
            if self.api_used >= self.daily_limit:
                return Answer(
                    403,
                    _error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
                    self._usage(),
                )
            self.api_used += 1
        fault = self._fault_for(path)
        if fault == "session":
            with self.lock:
                self.access_tokens.discard(token)
            return Answer(401, _error("INVALID_SESSION_ID", "Session expired or invalid"))
        if fault is not None and fault != "cut":
            return _faulted(fault, self._usage())
        try:
            answer = self._route(handler, path, query)
        except SoqlError as exc:
            answer = Answer(exc.status, _error(exc.code, exc.message))
        answer.headers.update(self._usage())
        answer.cut = fault == "cut"
        return answer

    def _usage(self) -> dict[str, str]:
        with self.lock:
            return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.daily_limit}"}

    def _token(self, form: dict[str, str]) -> Answer:
        if form.get("grant_type") != "refresh_token":
            return Answer(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        if form.get("client_id") != self.client_id:
            return Answer(
                400,
                {"error": "invalid_client_id", "error_description": "client identifier invalid"},
            )
        if form.get("client_secret") != self.client_secret:
            return Answer(
                400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        with self.lock:
            if self.revoked or form.get("refresh_token") != self.refresh_token:
                return Answer(
                    400,
                    {"error": "invalid_grant", "error_description": "expired access/refresh token"},
                )
            access_token = f"{ORG_ID[:15]}!AQ0AQ{secrets.token_urlsafe(48)}"
            self.access_tokens.add(access_token)
        identity = f"{self.base_url}/id/{ORG_ID}/{USER_ID}"
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(
            self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return Answer(
            200,
            {
                "access_token": access_token,
                "signature": base64.b64encode(digest).decode(),
                "scope": "refresh_token api",
                "instance_url": self.base_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
        )

    def _revoke(self, form: dict[str, str]) -> Answer:
        token = form.get("token", "")
        with self.lock:
            if token == self.refresh_token and not self.revoked:
                self.revoke()
                return Answer(200, b"")
            if token in self.access_tokens:
                self.access_tokens.discard(token)
                return Answer(200, b"")
        return Answer(400, {"error": "invalid_token", "error_description": "invalid token"})

    def _route(self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str]) -> Answer:
        match = re.fullmatch(r"/services/data/(v\d+\.\d)(/.*)", path)
        if match is None:
            return Answer(404, _error("NOT_FOUND", "The requested resource does not exist"))
        version, rest = match[1], match[2]
        if handler.command != "GET":
            return Answer(
                405, _error("METHOD_NOT_ALLOWED", f"HTTP Method '{handler.command}' not allowed.")
            )
        batch = _batch_size(handler.headers.get("Sforce-Query-Options", ""))
        if re.fullmatch(r"/(query|queryAll)/?", rest):
            if not query.get("q", "").strip():
                raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
            return Answer(
                200, self._query(query["q"], rest.startswith("/queryAll"), batch, version)
            )
        if more := re.fullmatch(r"/(?:query|queryAll)/([0-9A-Za-z]{15,18})-(\d+)", rest):
            return Answer(200, self._more(more[1], int(more[2]), batch, version))
        if re.fullmatch(r"/limits/?", rest):
            with self.lock:
                used = self.api_used
            return Answer(
                200,
                {
                    "DailyApiRequests": {
                        "Max": self.daily_limit,
                        "Remaining": self.daily_limit - used,
                    },
                    "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                    "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                },
            )
        if described := re.fullmatch(r"/sobjects/(\w+)/describe/?", rest):
            return self._describe(described[1])
        return Answer(404, _error("NOT_FOUND", "The requested resource does not exist"))

    def _describe(self, name: str) -> Answer:
        sobject = next((s for s in self.schema if s.lower() == name.lower()), None)
        if sobject is None:
            return Answer(404, _error("NOT_FOUND", "The requested resource does not exist"))
        with self.lock:
            fields = list(self.schema[sobject].items())
        return Answer(
            200,
            {
                "name": sobject,
                "keyPrefix": KEY_PREFIXES[sobject],
                "queryable": True,
                "replicateable": True,
                "fields": [
                    {
                        "name": name,
                        "type": kind,
                        "custom": name.endswith("__c"),
                        "nillable": kind != "boolean" and name != "Id",
                        "filterable": kind != "anyType",
                        "sortable": True,
                    }
                    for name, kind in fields
                ],
            },
        )

    # --- queries -----------------------------------------------------------------------

    def _query(self, soql: str, include_deleted: bool, batch: int | None, version: str) -> Any:
        parsed = _Parser(soql).parse()
        with self.lock:
            sobject = next((s for s in self.schema if s.lower() == parsed.sobject.lower()), None)
            if sobject is None:
                raise SoqlError(
                    "INVALID_TYPE",
                    _located(
                        soql,
                        parsed.sobject_pos,
                        f"sObject type '{parsed.sobject}' is not supported. If you are attempting"
                        " to use a custom object, be sure to append the '__c' after the entity"
                        " name. Please reference your WSDL or the describe call for the"
                        " appropriate names.",
                    ),
                )
            schema = dict(self.schema[sobject])
            rows = list(self.records[sobject].values())
        plan = _Plan(soql, sobject, schema)
        fields = plan.select(parsed.fields)
        keep = plan.where(parsed.where)
        keys = plan.order(parsed.order)
        found = [r for r in rows if (include_deleted or not r["IsDeleted"]) and keep(r)]
        found.sort(key=lambda r: self._scramble(r["Id"]))
        for key, descending in reversed(keys):
            found.sort(key=key, reverse=descending)
        if parsed.offset:
            found = found[parsed.offset :]
        if parsed.limit is not None:
            found = found[: parsed.limit]
        cursor = Cursor(sobject, fields, found, self._page_size(batch, None))
        locator = None
        if len(found) > cursor.batch:
            with self.lock:
                locator = self._new_locator()
                self.cursors[locator] = cursor
                while len(self.cursors) > self.max_cursors:
                    self.cursors.popitem(last=False)
        return _page(cursor, locator, 0, cursor.batch, version)

    def _more(self, locator: str, offset: int, batch: int | None, version: str) -> Any:
        with self.lock:
            cursor = self.cursors.get(locator)
        if cursor is None or offset > len(cursor.rows):
            raise SoqlError("INVALID_QUERY_LOCATOR", "invalid query locator")
        return _page(cursor, locator, offset, self._page_size(batch, cursor.batch), version)

    def _page_size(self, asked: int | None, before: int | None) -> int:
        size = min(max(asked, 200), 2000) if asked is not None else (before or 2000)
        return min(size, self.max_batch)

    def _new_locator(self) -> str:
        number, digits = next(self._ids), ""
        while number:
            number, rest = divmod(number, 62)
            digits = _BASE62[rest] + digits
        return _id18("01g5g0" + digits.rjust(9, "0"))

    def _scramble(self, record_id: str) -> bytes:
        """Rows that tie on every ORDER BY key come in no promised order: here a hash's."""
        key = self._scrambled.get(record_id)
        if key is None:
            key = hashlib.blake2b(record_id.encode(), digest_size=8).digest()
            self._scrambled[record_id] = key
        return key


def _page(cursor: Cursor, locator: str | None, offset: int, size: int, version: str) -> Any:
    rows = cursor.rows[offset : offset + size]
    end = offset + len(rows)
    answer: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
    if not answer["done"]:
        answer["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
    answer["records"] = [_render(cursor.sobject, row, cursor.fields, version) for row in rows]
    return answer


def _render(
    sobject: str, row: dict[str, Any], fields: list[tuple[str, str]], version: str
) -> dict[str, Any]:
    url = f"/services/data/{version}/sobjects/{sobject}/{row['Id']}"
    out: dict[str, Any] = {"attributes": {"type": sobject, "url": url}}
    for name, kind in fields:
        out[name] = _json_value(row.get(name), kind)
    return out


def _json_value(value: Any, kind: str = "anyType") -> Any:
    """Datetimes as 2026-04-02T01:00:00.000+0000 (UTC), dates as YYYY-MM-DD, double and
    currency fields as JSON floats, int fields as JSON integers."""
    if isinstance(value, dt.datetime):
        return _sf_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if kind == "int":
            return int(value)
        if kind in ("double", "currency") or isinstance(value, Decimal):
            return float(value)
    return value


def _sf_datetime(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _error(code: str, message: str) -> list[dict[str, str]]:
    return [{"message": message, "errorCode": code}]


def _faulted(kind: str, headers: dict[str, str]) -> Answer:
    if kind == "limit":
        return Answer(
            403,
            _error("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
            headers,
        )
    if kind == "session":
        return Answer(401, _error("INVALID_SESSION_ID", "Session expired or invalid"))
    if kind == "500":
        message = (
            "An unexpected error occurred. Please include this ErrorId if you contact support:"
            " 1718263540-12345 (-1234567890)"
        )
        return Answer(500, _error("UNKNOWN_EXCEPTION", message), headers)
    if kind == "503":
        return Answer(503, _error("SERVER_UNAVAILABLE", "Server temporarily unavailable"), headers)
    if kind == "timeout":
        return Answer(
            400, _error("QUERY_TIMEOUT", "Your query request was running for too long."), headers
        )
    if kind == "locator":
        return Answer(400, _error("INVALID_QUERY_LOCATOR", "invalid query locator"), headers)
    if kind == "not-json":
        page = b"<html><head><title>Maintenance</title></head><body>Down for maintenance</body>"
        return Answer(200, page + b"</html>", headers, content_type="text/html;charset=UTF-8")
    raise ValueError(f"unknown fault kind {kind}")


def _batch_size(header: str) -> int | None:
    match = re.search(r"batchSize\s*=\s*(\d+)", header)
    return int(match[1]) if match else None


# --- values ----------------------------------------------------------------------------


def _instant(value: Any) -> dt.datetime:
    """An instant from a datetime or an ISO string (Z, +09:00 or +0900; a bare date is
    midnight UTC)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", str(value).strip().replace("Z", "+00:00"))
        moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _coerce(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return _instant(value)
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value)[:10])
    if kind == "boolean" and not isinstance(value, bool):
        raise ValueError(f"not a boolean: {value!r}")
    return value


def _guess_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float | Decimal):
        return "double"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "string"


def _id18(id15: str) -> str:
    """The case-safe 18-character form of a 15-character Salesforce id."""
    suffix = ""
    for chunk in range(3):
        flags = sum(
            1 << bit for bit, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if char.isupper()
        )
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[flags]
    return id15 + suffix


def _norm_id(value: Any) -> Any:
    """Ids compare on their case-sensitive 15-character form (an 18-character id adds a
    checksum of the letters' case only)."""
    if isinstance(value, str) and len(value) == 18 and value.isalnum():
        return value[:15]
    return value


def _same_id(a: Any, b: Any) -> bool:
    return a is not None and _norm_id(a) == _norm_id(b)


# --- SOQL ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<str>'(?:[^'\\]|\\.)*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
    |(?P<num>-?\d+(?:\.\d+)?(?![\w.]))
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])
    |(?P<word>[A-Za-z_][A-Za-z0-9_.]*)""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
KEYWORDS = frozenset({
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "GROUP", "HAVING", "WITH", "FOR", "TRUE",
    "FALSE", "NULL", "INCLUDES", "EXCLUDES", "USING", "SCOPE", "TYPEOF",
})  # fmt: skip


@dataclass
class Token:
    kind: str  # str, datetime, date, num, op, punct, word, eof
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


@dataclass
class Parsed:
    fields: list[Token]
    sobject: str
    sobject_pos: int
    where: Any
    order: list[tuple[Token, bool, bool]]  # (field, descending, nulls first)
    limit: int | None
    offset: int


def _located(soql: str, pos: int, text: str) -> str:
    """Salesforce's way: the query line, a caret under the spot, Row:Column, the reason."""
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line = soql[line_start : line_end if line_end >= 0 else len(soql)]
    row, column = soql.count("\n", 0, pos) + 1, pos - line_start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{text}"


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens: list[Token] = []
        pos = 0
        while pos < len(soql):
            match = _TOKEN.match(soql, pos)
            if match is None:
                self._fail(pos, f"line 1:{pos} no viable alternative at character '{soql[pos]}'")
            if match.lastgroup != "space":
                self.tokens.append(Token(str(match.lastgroup), match.group(), pos))
            pos = match.end()
        self.tokens.append(Token("eof", "", len(soql)))
        self.at = 0

    def _fail(self, pos: int, text: str) -> NoReturn:
        raise SoqlError("MALFORMED_QUERY", _located(self.soql, pos, text))

    def _unexpected(self, token: Token) -> NoReturn:
        if token.kind == "eof":
            self._fail(token.pos, "unexpected end of query")
        self._fail(token.pos, f"unexpected token: '{token.text}'")

    @property
    def peek(self) -> Token:
        return self.tokens[self.at]

    def _next(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _keyword(self, *words: str) -> bool:
        if self.peek.upper in words:
            self.at += 1
            return True
        return False

    def _expect(self, word: str) -> Token:
        token = self._next()
        if token.upper != word:
            self._unexpected(token)
        return token

    def _punct(self, char: str) -> bool:
        if self.peek.kind == "punct" and self.peek.text == char:
            self.at += 1
            return True
        return False

    def _field(self) -> Token:
        token = self._next()
        if token.kind != "word" or token.upper in KEYWORDS:
            self._unexpected(token)
        if self.peek.kind == "punct" and self.peek.text == "(":
            self._fail(token.pos, f"{token.text}(): not supported by this contract server")
        if "." in token.text:
            self._fail(token.pos, "relationship fields: not supported by this contract server")
        return token

    def parse(self) -> Parsed:
        self._expect("SELECT")
        fields = [self._field()]
        while self._punct(","):
            fields.append(self._field())
        self._expect("FROM")
        sobject = self._next()
        if sobject.kind != "word" or sobject.upper in KEYWORDS:
            self._unexpected(sobject)
        where = self._or() if self._keyword("WHERE") else None
        order: list[tuple[Token, bool, bool]] = []
        if self._keyword("ORDER"):
            self._expect("BY")
            while True:
                name = self._field()
                descending = self._keyword("DESC")
                if not descending:
                    self._keyword("ASC")
                nulls_first = True
                if self._keyword("NULLS"):
                    which = self._next()
                    if which.upper not in ("FIRST", "LAST"):
                        self._unexpected(which)
                    nulls_first = which.upper == "FIRST"
                order.append((name, descending, nulls_first))
                if not self._punct(","):
                    break
        limit = self._int() if self._keyword("LIMIT") else None
        offset = self._int() if self._keyword("OFFSET") else 0
        if self.peek.kind != "eof":
            if self.peek.upper in KEYWORDS:
                self._fail(
                    self.peek.pos, f"{self.peek.text}: not supported by this contract server"
                )
            self._unexpected(self.peek)
        return Parsed(fields, sobject.text, sobject.pos, where, order, limit, offset)

    def _int(self) -> int:
        token = self._next()
        if token.kind != "num" or not token.text.isdigit():
            self._unexpected(token)
        return int(token.text)

    def _or(self) -> Any:
        """SOQL wants parentheses where AND and OR mix: `a AND b OR c` is malformed."""
        first = self._unary()
        joined, parts = None, [first]
        while self.peek.upper in ("AND", "OR"):
            word = self._next()
            if joined is not None and word.upper != joined:
                self._unexpected(word)
            joined = word.upper
            parts.append(self._unary())
        return (joined.lower(), parts) if joined else first

    def _unary(self) -> Any:
        if self._keyword("NOT"):
            return ("not", self._unary())
        if self._punct("("):
            inner = self._or()
            if not self._punct(")"):
                self._unexpected(self.peek)
            return inner
        name = self._field()
        if self._keyword("NOT"):
            self._expect("IN")
            return ("in", name, True, self._values())
        if self._keyword("IN"):
            return ("in", name, False, self._values())
        if self._keyword("LIKE"):
            return ("like", name, self._value())
        if self.peek.upper in ("INCLUDES", "EXCLUDES"):
            self._fail(self.peek.pos, f"{self.peek.text}: not supported by this contract server")
        op = self._next()
        if op.kind != "op":
            self._unexpected(op)
        return ("cmp", name, "!=" if op.text == "<>" else op.text, self._value())

    def _values(self) -> list[Token]:
        if not self._punct("("):
            self._unexpected(self.peek)
        if self.peek.upper == "SELECT":
            self._fail(self.peek.pos, "semi-joins: not supported by this contract server")
        values = [self._value()]
        while self._punct(","):
            values.append(self._value())
        if not self._punct(")"):
            self._unexpected(self.peek)
        return values

    def _value(self) -> Token:
        token = self._next()
        if token.kind in ("str", "datetime", "date", "num"):
            return token
        if token.upper in ("TRUE", "FALSE", "NULL"):
            return Token(token.upper.lower(), token.text, token.pos)
        if token.kind == "word":  # TODAY, LAST_N_DAYS:30, :bind ...
            self._fail(token.pos, f"{token.text}: not supported by this contract server")
        self._unexpected(token)


Predicate = Callable[[dict[str, Any]], bool]


class _Plan:
    """Checks a parsed query against the object's fields and compiles it to Python."""

    def __init__(self, soql: str, sobject: str, schema: dict[str, str]) -> None:
        self.soql, self.sobject, self.schema = soql, sobject, schema
        self.names = {name.lower(): name for name in schema}

    def _resolve(self, token: Token) -> tuple[str, str]:
        name = self.names.get(token.text.lower())
        if name is None:
            raise SoqlError(
                "INVALID_FIELD",
                _located(
                    self.soql,
                    token.pos,
                    f"No such column '{token.text}' on entity '{self.sobject}'. If you are"
                    " attempting to use a custom field, be sure to append the '__c' after the"
                    " custom field name. Please reference your WSDL or the describe call for"
                    " the appropriate names.",
                ),
            )
        return name, self.schema[name]

    def select(self, tokens: list[Token]) -> list[tuple[str, str]]:
        fields: list[tuple[str, str]] = []
        for token in tokens:
            resolved = self._resolve(token)
            if resolved in fields:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    _located(self.soql, token.pos, f"duplicate field selected: {resolved[0]}"),
                )
            fields.append(resolved)
        return fields

    def where(self, node: Any) -> Predicate:
        if node is None:
            return lambda record: True
        kind = node[0]
        if kind == "and":
            parts = [self.where(part) for part in node[1]]
            return lambda record: all(part(record) for part in parts)
        if kind == "or":
            parts = [self.where(part) for part in node[1]]
            return lambda record: any(part(record) for part in parts)
        if kind == "not":
            inner = self.where(node[1])
            return lambda record: not inner(record)
        name, ftype = self._resolve(node[1])
        if ftype == "anyType":
            raise SoqlError(
                "INVALID_FIELD",
                _located(
                    self.soql, node[1].pos, f"field '{name}' can not be filtered in a query call"
                ),
            )
        read = _comparable_reader(name, ftype)
        if kind == "like":
            if ftype not in TEXT and ftype not in IDS:
                raise SoqlError(
                    "INVALID_FIELD",
                    _located(self.soql, node[2].pos, f"invalid operator on {ftype} field: LIKE"),
                )
            pattern = _like(self._literal(name, ftype, node[2], like=True))
            return lambda record: (
                (value := record.get(name)) is not None and bool(pattern.fullmatch(str(value)))
            )
        if kind == "in":
            wanted = {self._literal(name, ftype, value) for value in node[3]}
            if node[2]:
                return lambda record: read(record) not in wanted
            return lambda record: read(record) in wanted
        op, literal = node[2], self._literal(name, ftype, node[3])
        if op == "=":
            return lambda record: read(record) == literal
        if op == "!=":
            return lambda record: read(record) != literal
        if literal is None:
            raise SoqlError(
                "MALFORMED_QUERY", _located(self.soql, node[3].pos, f"null is not valid with {op}")
            )
        compare = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }[op]
        return lambda record: (value := read(record)) is not None and compare(value, literal)

    def _literal(self, name: str, ftype: str, token: Token, like: bool = False) -> Any:
        kind = token.kind
        if kind == "null":
            return None
        expected = {
            "datetime": ("datetime", "dateTime"),
            "date": ("date", "date"),
            "boolean": ("true", "boolean"),
            "int": ("num", "integer"),
            "double": ("num", "double"),
            "currency": ("num", "currency"),
        }.get(ftype)
        if expected is not None:
            wanted, label = expected
            if kind == wanted or (wanted == "true" and kind == "false"):
                try:
                    return _literal_value(token, ftype)
                except ValueError:
                    raise SoqlError(
                        "MALFORMED_QUERY",
                        _located(self.soql, token.pos, f"Invalid {label}: {token.text}"),
                    ) from None
            raise SoqlError(
                "INVALID_FIELD",
                _located(
                    self.soql,
                    token.pos,
                    f"value of filter criterion for field '{name}' must be of type {label}"
                    " and should not be enclosed in quotes",
                ),
            )
        if kind != "str":
            raise SoqlError(
                "INVALID_FIELD",
                _located(
                    self.soql,
                    token.pos,
                    f"value of filter criterion for field '{name}' must be of type string and"
                    " should be enclosed in quotes",
                ),
            )
        text = _unquote(token.text, like)
        if like:
            return text
        if ftype in IDS:
            if not re.fullmatch(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?", text):
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    _located(self.soql, token.pos, f"invalid ID field: {text}"),
                )
            return _norm_id(text)
        return text.upper()

    def order(self, items: list[tuple[Token, bool, bool]]) -> list[tuple[Callable[..., Any], bool]]:
        keys: list[tuple[Callable[..., Any], bool]] = []
        for token, descending, nulls_first in items:
            name, ftype = self._resolve(token)
            read = _comparable_reader(name, ftype)
            if ftype == "anyType":
                read = _any_reader(name)
            # With reverse=True the rank flips too, so nulls stay where they were asked.
            null_rank = 0 if nulls_first != descending else 2

            def key(record: dict[str, Any], read: Any = read, null_rank: int = null_rank) -> Any:
                value = read(record)
                return (null_rank, 0) if value is None else (1, value)

            keys.append((key, descending))
        return keys


def _comparable_reader(name: str, ftype: str) -> Callable[[dict[str, Any]], Any]:
    if ftype in TEXT:

        def text(record: dict[str, Any]) -> Any:
            value = record.get(name)
            return None if value is None else str(value).upper()

        return text
    if ftype in IDS:
        return lambda record: _norm_id(record.get(name))
    if ftype in NUMBERS:

        def number(record: dict[str, Any]) -> Any:
            value = record.get(name)
            return None if value is None else float(value)

        return number
    return lambda record: record.get(name)


def _any_reader(name: str) -> Callable[[dict[str, Any]], Any]:
    def read(record: dict[str, Any]) -> Any:
        value = record.get(name)
        return None if value is None else str(_json_value(value)).upper()

    return read


def _literal_value(token: Token, ftype: str) -> Any:
    if token.kind == "datetime":
        return _instant(token.text)
    if token.kind == "date":
        return dt.date.fromisoformat(token.text)
    if token.kind in ("true", "false"):
        return token.kind == "true"
    return float(token.text)


def _unquote(text: str, like: bool) -> str:
    out, body, index = [], text[1:-1], 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            nxt = body[index + 1]
            if nxt.lower() in _ESCAPES or nxt in _ESCAPES:
                out.append(_ESCAPES.get(nxt, _ESCAPES.get(nxt.lower(), nxt)))
            elif nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", body[index + 2 : index + 6]):
                out.append(chr(int(body[index + 2 : index + 6], 16)))
                index += 4
            elif like and nxt in "%_":
                out.append("\\" + nxt)  # kept escaped for _like
            else:
                raise SoqlError(
                    "MALFORMED_QUERY", f"Invalid string literal '{text}'. Illegal escape"
                )
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _like(pattern: str) -> re.Pattern[str]:
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
