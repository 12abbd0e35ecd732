"""The one HTTP seam of every connector (docs/connectors.md section 2, "Failures").

A vendor client asks `Transport.call(...)` for one request and gets parsed JSON back, or an
error that says what happened. The seam:
- paces requests with a client-side limiter (at most N in a sliding window);
- times out (connect, read) and retries what is transient: network errors, timeouts, HTTP
  5xx, a body that is not valid JSON or shorter than its Content-Length (never half-read),
  and what the vendor says is transient; with exponential backoff and jitter (1 s, 2 s, 4 s,
  ... at most 30 s, 6 tries in all), except that a rate-limit answer's wait (Retry-After
  always wins) is waited before the next try;
- refreshes an expired token once (the vendor says when a 401 means that) and tries again;
- counts every request it makes, retries and token calls included.

Vendors differ only in how an answer maps to an outcome (`Vendor.classify`), never in how
retries work: healthchecks' integrations do the same.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

T = TypeVar("T")
TRIES = 6
FIRST_WAIT, MAX_WAIT = 1.0, 30.0
TIMEOUT = (10.0, 60.0)  # connect, read (seconds)


class SyncError(Exception):
    """A request that cannot succeed (configuration, permissions, a bad request): the run
    fails with this message. Never holds a secret."""


class AuthenticationFailed(SyncError):
    """The credentials are refused, also after a refresh."""


class QuotaExhausted(SyncError):
    """A daily allocation is used up: stop, keep the cursors; the next run resumes."""


class Transient(Exception):
    """Worth another try after a wait: `wait` seconds if the vendor said, else backoff."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class TokenExpired(Exception):
    """The access token expired: refresh it once and try again."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    data: Any  # the parsed JSON body (None for an empty body)


class Vendor:
    """How a vendor's answers map to outcomes; subclasses override `classify`."""

    name = "vendor"
    tries = TRIES  # in all, the first included
    max_wait = MAX_WAIT  # the longest backoff between two tries (seconds)

    def classify(self, answer: Answer) -> None:
        """Raise Transient, TokenExpired or a SyncError for an answer that is not a success;
        return for a success. The default follows HTTP."""
        if answer.status == 429:
            raise Transient(f"{self.name}: rate limited (HTTP 429)", retry_after(answer.headers))
        if answer.status >= 500:
            raise Transient(f"{self.name}: server error (HTTP {answer.status})")
        if answer.status == 401:
            raise AuthenticationFailed(f"authentication failed: {self.name} answered HTTP 401")
        if answer.status >= 400:
            raise SyncError(f"{self.name}: HTTP {answer.status}: {message_of(answer.data)}")


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait by the Retry-After header (seconds or an HTTP date), if any."""
    raw = headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None


def message_of(data: Any) -> str:
    """The vendor's own words from an error body, short."""
    if isinstance(data, dict):
        for key in ("message", "error_description", "error", "category"):
            if isinstance(data.get(key), str):
                return str(data[key])[:300]
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return message_of(data[0])
    return "no message"


class RateLimiter:
    """At most `calls` requests in any `seconds` window (sliding), shared by threads."""

    def __init__(self, calls: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.calls, self.seconds, self.clock = calls, seconds, clock
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def wait_time(self) -> float:
        """Seconds until one more request may go; 0 when it may go now (and it is counted)."""
        with self.lock:
            now = self.clock()
            while self.sent and self.sent[0] <= now - self.seconds:
                self.sent.popleft()
            if len(self.sent) < self.calls:
                self.sent.append(now)
                return 0.0
            return self.sent[0] + self.seconds - now

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        while (wait := self.wait_time()) > 0:
            sleep(wait)


@dataclass
class Transport:
    """One vendor's HTTP: base URL, auth header, limiter, retries, request count."""

    base_url: str
    vendor: Vendor
    limiters: list[RateLimiter] = field(default_factory=list)
    # token(refused) -> the access token to send; `refused` is the one a 401 just refused
    # (refresh it, unless another thread already has), None for a normal request.
    token: Callable[[str | None], str] | None = None
    sleep: Callable[[float], None] = time.sleep
    requests_made: int = 0
    session: requests.Session = field(default_factory=requests.Session)
    # Pages are read ahead in a thread (`prefetched`) while the sync writes: counts and
    # token refreshes are shared.
    lock: threading.RLock = field(default_factory=threading.RLock)

    def count_request(self) -> None:
        with self.lock:
            self.requests_made += 1

    def token_call(
        self,
        method: str,
        url: str,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One call to the vendor's token endpoint (counted; a refused one is not retried):
        its answer with an `access_token`, or the run fails saying why, never with a
        secret (they travel in the form or the query, which no message repeats)."""
        self.count_request()
        try:
            response = self.session.request(method, url, data=form, params=params, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise SyncError(
                f"{self.vendor.name}: the token endpoint could not be reached "
                f"({type(exc).__name__})"
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code == 200 and isinstance(data, dict) and data.get("access_token"):
            return data
        detail = ""
        if isinstance(data, dict):
            said = data.get("error_description") or data.get("message") or ""
            detail = " ".join(str(part)[:200] for part in (data.get("error"), said) if part)
        raise AuthenticationFailed(
            f"authentication failed: {self.vendor.name} answered HTTP {response.status_code}"
            + (f": {detail}" if detail else "")
        )

    def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        limiters: list[RateLimiter] | None = None,
        form: Mapping[str, Any] | None = None,
    ) -> Answer:
        """One request, retried while transient; a refused token is refreshed once. `body`
        goes as JSON, `form` as a url-encoded form."""
        refused: str | None = None
        sent: list[str] = []  # the token of each attempt
        while True:
            try:
                return self._with_retries(
                    method, path, params, (body, form), headers, limiters, refused, sent
                )
            except TokenExpired:
                if refused is not None or self.token is None:
                    raise AuthenticationFailed(
                        f"authentication failed: {self.vendor.name} refused the token "
                        "after a refresh"
                    ) from None
                refused = sent[-1]

    def _with_retries(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: tuple[Any, Mapping[str, Any] | None],
        headers: Mapping[str, str] | None,
        limiters: list[RateLimiter] | None,
        refused: str | None,
        sent: list[str],
    ) -> Answer:
        def attempt() -> Answer:
            auth = {}
            if self.token is not None:
                sent.append(self.token(refused if not sent or sent[-1] == refused else None))
                auth = {"Authorization": f"Bearer {sent[-1]}"}
            for limiter in [*self.limiters, *(limiters or [])]:
                limiter.acquire(self.sleep)
            answer = self._send(method, path, params, body, {**auth, **(headers or {})})
            self.vendor.classify(answer)
            return answer

        retrying = Retrying(
            stop=stop_after_attempt(self.vendor.tries),
            wait=lambda state: _wait(state, self.vendor.max_wait),
            retry=retry_if_exception_type(Transient),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Transient as exc:
            raise SyncError(f"{exc} (after {self.vendor.tries} tries)") from None

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: tuple[Any, Mapping[str, Any] | None],
        headers: Mapping[str, str],
    ) -> Answer:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        json_body, form = body
        self.count_request()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json_body,
                data=form,
                headers=headers,
                timeout=TIMEOUT,
            )
            content = response.content  # read whole; a cut connection raises here
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(f"{self.vendor.name}: network error ({type(exc).__name__})") from None
        except requests.exceptions.ChunkedEncodingError:
            raise Transient(f"{self.vendor.name}: the answer was cut short") from None
        declared = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding")
        if declared and declared.isdigit() and not encoded and len(content) < int(declared):
            raise Transient(f"{self.vendor.name}: the answer was cut short")
        data: Any = None
        if content.strip():
            try:
                data = json.loads(content)
            except ValueError:
                if response.status_code < 400:
                    raise Transient(
                        f"{self.vendor.name}: the answer is not valid JSON (HTTP "
                        f"{response.status_code})"
                    ) from None
                data = {"message": content[:300].decode("utf-8", "replace")}
        return Answer(response.status_code, response.headers, data)


def _wait(state: RetryCallState, max_wait: float = MAX_WAIT) -> float:
    """The vendor's wait when it said one, else exponential backoff with full jitter."""
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    if isinstance(error, Transient) and error.wait is not None:
        return min(error.wait, 120.0)
    ceiling = min(max_wait, FIRST_WAIT * 2 ** (state.attempt_number - 1))
    return random.uniform(ceiling / 2, ceiling)


def prefetched(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The pages of `pages`, read ahead by a thread while the caller writes the previous
    ones: a sync then runs at the vendor's rate limit instead of at the sum of the two.
    An error of the reader is raised to the caller where it would have been; a caller that
    stops early stops the reader. The reader must not touch the database."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        handoff.put(("page", page), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(("end", None))
        except BaseException as exc:  # handed to the caller, raised there
            handoff.put(("error", exc))

    reader = threading.Thread(target=read, name="sync-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            what, value = handoff.get()
            if what == "end":
                return
            if what == "error":
                raise value
            yield value
    finally:
        stop.set()
        reader.join(timeout=60)
