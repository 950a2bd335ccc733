"""Call the Alexa Reminders REST API (create, list, delete) within one total deadline.

A small client rather than the SDK's ReminderManagementServiceClient, for two reasons found
in ask-sdk-model 1.82 / ask-sdk-core 1.19: the SDK's DefaultApiClient (requests) sets no
timeout at all and refuses any http:// endpoint, and `get_reminders` cannot read any answer
that has an `alertInfo` (it names a module `alert_info_spoken_info` the package does not
ship, so every real list raises SerializationException).

One `RemindersApi` serves one request: every call it makes shares one deadline, so a slow
API (or a cancel that deletes several reminders) cannot push the response past Alexa's 8 s.
`skill.alexa.api_http` carries each call (HTTPS only, no redirects, the whole-exchange deadline).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from skill.alexa import api_http

MAX_ANSWER_BYTES = 512 * 1024  # a list of every reminder a skill may hold is far smaller
PATH = "/v1/alerts/reminders"

# What went wrong, as the handlers tell it.
PERMISSION, THROTTLED, UNAVAILABLE, TIMEOUT, BAD_ANSWER, NOT_FOUND = (
    "permission", "throttled", "unavailable", "timeout", "bad_answer", "not_found")


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
        data = json.dumps(body).encode() if body is not None else None
        try:
            return api_http.send(self._base, method, path, self._token, deadline=self.deadline, body=data,
                                 max_bytes=MAX_ANSWER_BYTES, clock=self._clock)
        except api_http.ApiCallError as exc:
            kind = {api_http.TIMEOUT: TIMEOUT, api_http.TOO_LONG: BAD_ANSWER}.get(exc.kind, UNAVAILABLE)
            raise RemindersError(kind, str(exc)) from None
