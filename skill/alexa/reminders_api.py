"""Call the Alexa Reminders REST API (create, list, delete) within one total deadline.

A small client rather than the SDK's ReminderManagementServiceClient, for two reasons found
in ask-sdk-model 1.82 / ask-sdk-core 1.19: the SDK's DefaultApiClient (requests) sets no
timeout at all and refuses any http:// endpoint, and `get_reminders` cannot read any answer
that has an `alertInfo` (it names a module `alert_info_spoken_info` the package does not
ship, so every real list raises SerializationException).

One `RemindersApi` serves one request: every call it makes shares one deadline, so a slow
API (or a cancel that deletes several reminders) cannot push the response past Alexa's 8 s.
A watchdog closes the socket when the deadline passes, so a server that dribbles its answer
byte by byte is cut off too, not just one that goes silent.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import certifi

MAX_ANSWER_BYTES = 512 * 1024  # a list of every reminder a skill may hold is far smaller
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})  # plain http only here: tests' stand-ins
PATH = "/v1/alerts/reminders"

# What went wrong, as the handlers tell it.
PERMISSION, THROTTLED, UNAVAILABLE, TIMEOUT, BAD_ANSWER, NOT_FOUND = (
    "permission", "throttled", "unavailable", "timeout", "bad_answer", "not_found")

_tls: ssl.SSLContext | None = None


def _context() -> ssl.SSLContext:
    global _tls
    if _tls is None:  # loading the CA bundle is most of a first call's cost
        _tls = ssl.create_default_context(cafile=certifi.where())
    return _tls


class RemindersError(Exception):
    """The Reminders API did not do what was asked; `kind` says why, for the spoken answer."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"Reminders API: {detail}")
        self.kind = kind


class RemindersApi:
    """Create, list and delete this skill's reminders for one request, within `budget` seconds in all."""

    def __init__(
        self, api_endpoint: str, api_access_token: str, budget: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if budget <= 0:
            raise ValueError(f"RemindersApi(budget={budget!r}) needs a positive number of seconds, e.g. 2.5.")
        self._base = (api_endpoint or "").rstrip("/")
        self._token = api_access_token or ""
        self._clock = clock
        self.deadline = clock() + budget

    def create(self, body: dict[str, Any]) -> str:
        """Create a reminder; return its alert token."""
        answer = self._call("POST", PATH, body)
        token = answer.get("alertToken") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise RemindersError(BAD_ANSWER, f"the create answer {str(answer)[:80]!r} has no alertToken")
        return token

    def list(self) -> list[Any]:
        """Return the alerts this skill has set for the user (the API's own dicts)."""
        answer = self._call("GET", PATH, None)
        alerts = answer.get("alerts") if isinstance(answer, dict) else None
        if alerts is None and isinstance(answer, dict):
            return []  # "totalCount": "0" comes without a list
        if not isinstance(alerts, list):
            raise RemindersError(BAD_ANSWER, f"the list answer {str(answer)[:80]!r} has no alerts list")
        return alerts

    def delete(self, alert_token: str) -> bool:
        """Delete one reminder; return False if it was already gone."""
        try:
            self._call("DELETE", f"{PATH}/{quote(alert_token, safe='')}", None)
        except RemindersError as exc:
            if exc.kind == NOT_FOUND:
                return False
            raise
        return True

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        if not self._token:
            raise RemindersError(PERMISSION, "the request carries no apiAccessToken")
        status, raw = self._send(method, path, body)
        if status in (401, 403):
            raise RemindersError(PERMISSION, f"HTTP {status}: the user has not allowed reminders")
        if status == 429:
            raise RemindersError(THROTTLED, "HTTP 429: too many requests")
        if status == 404:
            raise RemindersError(NOT_FOUND, f"HTTP 404 for {method} {path[:80]!r}")
        if status >= 500:
            raise RemindersError(UNAVAILABLE, f"HTTP {status} {raw[:80]!r}")
        if not 200 <= status < 300:
            raise RemindersError(BAD_ANSWER, f"HTTP {status} {raw[:80]!r}")
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise RemindersError(BAD_ANSWER, f"the answer {raw[:60]!r} is not JSON") from None

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, bytes]:
        """Send one HTTP request and read the whole answer before the deadline."""
        parts = urlsplit(self._base)
        host = parts.hostname or ""
        if parts.scheme == "https":
            tls: ssl.SSLContext | None = _context()
        elif parts.scheme == "http" and host in LOOPBACK:
            tls = None
        else:
            raise RemindersError(UNAVAILABLE, f"apiEndpoint {self._base[:120]!r} is not an https URL")
        left = self.deadline - self._clock()
        if left <= 0:
            raise RemindersError(TIMEOUT, "no time left before the response is due")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            port = parts.port
        except ValueError:
            raise RemindersError(UNAVAILABLE, f"apiEndpoint {self._base[:120]!r} has a bad port") from None
        connection = (http.client.HTTPSConnection(host, port, timeout=left, context=tls) if tls
                      else http.client.HTTPConnection(host, port, timeout=left))
        expired = threading.Event()

        def cut_off() -> None:
            expired.set()
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(left, cut_off)
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(method, (parts.path.rstrip("/") + path), body=data, headers=headers)
            answer = connection.getresponse()
            raw = answer.read(MAX_ANSWER_BYTES + 1)
            if expired.is_set():
                raise TimeoutError("the deadline passed")
        except TimeoutError:
            raise RemindersError(TIMEOUT, "no whole answer before the deadline") from None
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise RemindersError(TIMEOUT, "no whole answer before the deadline") from None
            raise RemindersError(UNAVAILABLE, f"no answer ({type(exc).__name__}: {exc})") from None
        finally:
            watchdog.cancel()
            connection.close()
        if len(raw) > MAX_ANSWER_BYTES:
            raise RemindersError(BAD_ANSWER, f"the answer is longer than {MAX_ANSWER_BYTES} bytes")
        return answer.status, raw
