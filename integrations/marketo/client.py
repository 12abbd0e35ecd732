"""Marketo Engage's REST API, one typed function per use (docs/connectors.md section 5),
through the one HTTP seam (integrations/transport.py).

What Marketo documents and this client follows (Adobe Experience League, Marketo Engage
developer docs: Authentication, Error Codes, Paging Tokens, Activities, Leads, Integration
Best Practices):
- `GET /identity/oauth/token?grant_type=client_credentials` gives an `access_token` with
  `expires_in` (at most 3600 s; asking again before expiry returns the same token). It is
  sent as `Authorization: Bearer`; codes 601 (invalid) and 602 (expired) authenticate again.
  HTTP 401 from identity: bad credentials.
- Errors arrive in HTTP 200 with `success: false` and `errors[].code` a string: 606 (over
  100 calls in 20 s, shared by every integration of the instance: paced at 50, wait 20 s),
  615 (over 10 calls in flight: wait), 607 (the daily quota: stop), 604, 608, 611, 713
  (transient: retry); 1003, 1006, 701, 704 and the rest are configuration: fail with
  Marketo's message. A URI over 8 KB is HTTP 414: sent again as POST with `_method=GET`.
- Activities come by paging token: `moreResult` true means more, even on a page with few
  or no rows (`result` absent); the returned `nextPageToken` is always the one to send.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from integrations import secrets
from integrations.models import Connection
from integrations.transport import (
    Answer,
    QuotaExhausted,
    RateLimiter,
    SyncError,
    TokenExpired,
    Transient,
    Transport,
    Vendor,
    retry_after,
)

LEADS_PER_CALL = 300
TYPES_PER_CALL = 10
CALLS, WINDOW = 50, 20.0  # half of the instance's 100 calls per 20 s: others share it
URI_LIMIT = 8000
RATE_LIMITED_WAIT = 20.0  # seconds after a 606: the window is 20 s


class UriTooLong(SyncError):
    """HTTP 414: the same call goes again as POST with `_method=GET`."""


class MarketoVendor(Vendor):
    name = "Marketo"

    def classify(self, answer: Answer) -> None:
        if answer.status == 414:
            raise UriTooLong("Marketo: the request URI is too long")
        if answer.status != 200:
            super().classify(answer)
            raise SyncError(f"Marketo: HTTP {answer.status}")
        data = answer.data
        if not isinstance(data, dict):
            raise Transient("Marketo: an answer that is not a JSON object")
        if data.get("success") is not False:
            return
        errors = data.get("errors") or [{}]
        code = str(errors[0].get("code", ""))
        message = str(errors[0].get("message", ""))[:300]
        if code in ("601", "602"):
            raise TokenExpired()
        if code == "606":
            raise Transient(
                "Marketo: rate limited (606)", retry_after(answer.headers) or RATE_LIMITED_WAIT
            )
        if code == "615":
            raise Transient("Marketo: too many calls in flight (615)", 2.0)
        if code == "607":
            raise QuotaExhausted("Marketo's daily API quota is used up (607); the next run resumes")
        if code in ("604", "608", "611", "713"):
            raise Transient(f"Marketo: {code} {message}")
        raise SyncError(f"Marketo: {code} {message}")


@dataclass(frozen=True)
class MarketoActivity:
    id: str  # marketoGUID
    lead_id: str
    type_id: int
    date: str  # activityDate as sent
    primary: str  # primaryAttributeValue
    attributes: dict[str, Any]

    @classmethod
    def parse(cls, data: Any) -> MarketoActivity:
        if not isinstance(data, dict):
            raise SyncError(f"Marketo sent an activity that is not an object: {str(data)[:80]}")
        guid = data.get("marketoGUID") or data.get("id")
        lead = data.get("leadId")
        type_id = data.get("activityTypeId")
        if guid in (None, "") or lead in (None, "") or not isinstance(type_id, int):
            raise SyncError(f"Marketo sent an activity without its ids: {str(data)[:80]}")
        attributes = {}
        for attribute in data.get("attributes") or []:
            if isinstance(attribute, dict) and "name" in attribute:
                attributes[str(attribute["name"])] = attribute.get("value")
        return cls(
            id=str(guid),
            lead_id=str(lead),
            type_id=type_id,
            date=str(data.get("activityDate") or ""),
            primary=str(data.get("primaryAttributeValue") or ""),
            attributes=attributes,
        )

    def stored(self) -> dict[str, Any]:
        return {
            "leadId": self.lead_id,
            "activityTypeId": self.type_id,
            "activityDate": self.date,
            "primaryAttributeValue": self.primary,
            "attributes": self.attributes,
        }

    @classmethod
    def from_stored(cls, guid: str, stored: dict[str, Any]) -> MarketoActivity:
        return cls(
            guid,
            str(stored["leadId"]),
            int(stored["activityTypeId"]),
            str(stored["activityDate"]),
            str(stored["primaryAttributeValue"]),
            dict(stored["attributes"]),
        )


class MarketoClient:
    def __init__(self, connection: Connection, calls_per_window: int = CALLS) -> None:
        self.connection = connection
        self.credentials = secrets.decrypt(connection.credentials)
        self.access_token = ""
        self.expires_at = 0.0
        self.transport = Transport(
            connection.base_url.rstrip("/"),
            MarketoVendor(),
            # A second to spare: Marketo counts a call when it arrives, not when it left.
            limiters=[RateLimiter(calls_per_window, WINDOW + 1.0)],
            token=self._token,
        )
        self.first_date: str | None = None  # the Date header of the run's first answer

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    def _token(self, refused: str | None) -> str:
        with self.transport.lock:
            expiring = time.time() > self.expires_at - 60
            if not self.access_token or expiring or refused == self.access_token:
                self._authenticate()
            return self.access_token

    def _authenticate(self) -> None:
        """GET /identity/oauth/token (client credentials). A refused token is asked again
        once; Marketo may hand back the same one while it is valid on its clock, so a
        refusal of that one fails the run (transport: refused after a refresh)."""
        params = {
            "grant_type": "client_credentials",
            "client_id": secrets.resolve(self.credentials["client_id"]),
            "client_secret": secrets.resolve(self.credentials["client_secret"]),
        }
        data = self.transport.token_call(
            "GET", self.transport.base_url + "/identity/oauth/token", params=params
        )
        self.access_token = str(data["access_token"])
        self.expires_at = time.time() + float(data.get("expires_in", 3600))

    def _get(self, path: str, params: dict[str, Any]) -> Answer:
        query = urllib.parse.urlencode(params)
        too_long = len(self.transport.base_url + path) + len(query) + 1 > URI_LIMIT
        try:
            if too_long:  # known before sending: no call spent on the 414
                answer = self._post_as_get(path, params)
            else:
                answer = self.transport.call("GET", path, params)
        except UriTooLong:  # a server whose limit is lower than URI_LIMIT
            answer = self._post_as_get(path, params)
        # The run's first Date (its next paging token's start), whichever way it was read.
        if self.first_date is None:
            self.first_date = answer.headers.get("Date")
        return answer

    def _post_as_get(self, path: str, params: dict[str, Any]) -> Answer:
        """The same read as POST with `_method=GET`, its parameters in a form body."""
        return self.transport.call(
            "POST",
            f"{path}?_method=GET",
            form=params,
        )

    # --- endpoints ---------------------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        """GET /rest/v1/leads/describe.json: the test call."""
        data = self._get("/rest/v1/leads/describe.json", {}).data
        result = data.get("result") if isinstance(data, dict) else None
        return result if isinstance(result, list) else []

    def paging_token(self, since: str) -> str:
        data = self._get("/rest/v1/activities/pagingtoken.json", {"sinceDatetime": since}).data
        token = data.get("nextPageToken") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise SyncError("Marketo: a paging token answer without nextPageToken")
        return token

    def activities(
        self, token: str, type_ids: Sequence[int]
    ) -> Iterator[tuple[list[MarketoActivity], str]]:
        """Pages of activities from a paging token to the end; each with the token that
        follows it."""
        return self._stream(
            "/rest/v1/activities.json", token, {"activityTypeIds": ",".join(map(str, type_ids))}
        )

    def deleted_leads(self, token: str) -> Iterator[tuple[list[MarketoActivity], str]]:
        return self._stream("/rest/v1/activities/deletedleads.json", token, {})

    def _stream(
        self, path: str, token: str, params: dict[str, Any]
    ) -> Iterator[tuple[list[MarketoActivity], str]]:
        while True:
            data = self._get(path, {"nextPageToken": token, **params}).data
            if not isinstance(data, dict) or not isinstance(data.get("moreResult"), bool):
                raise SyncError(f"Marketo: a page of {path} without moreResult")
            token = data.get("nextPageToken") or token
            rows = data.get("result") or []
            if not isinstance(rows, list):
                raise SyncError(f"Marketo: a page of {path} whose result is not a list")
            yield [MarketoActivity.parse(row) for row in rows], token
            if not data["moreResult"]:
                return

    def leads(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The leads with these ids (at most 300 a call); an id not in the answer is gone."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), LEADS_PER_CALL):
            chunk = ids[start : start + LEADS_PER_CALL]
            params = {
                "filterType": "id",
                "filterValues": ",".join(chunk),
                "fields": ",".join(fields),
            }
            data = self._get("/rest/v1/leads.json", params).data
            rows = data.get("result") or [] if isinstance(data, dict) else []
            for row in rows:
                if isinstance(row, dict) and row.get("id") is not None:
                    found[str(row["id"])] = row
        return found
