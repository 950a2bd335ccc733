"""A stand-in for Alexa's cloud APIs on loopback: the Settings API's time zone and the Reminders API.

One real HTTP server speaking both protocols as Amazon documents them, so the skill's own
clients run unchanged against it (the request's apiEndpoint points here). Tests script it:
which answer the next calls get (401/403 without permission, 429, 5xx, a slow answer), and
read back what it holds and every call it was sent.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

TOKEN = "test-access-token"
REMINDERS = "/v1/alerts/reminders"


@dataclass
class Call:
    method: str
    path: str
    body: Any


@dataclass
class AlexaApiState:
    """What the stand-in holds and how it answers; tests change it between requests."""

    zone: str = "Europe/Berlin"  # every device's time zone, unless `device_answers` says otherwise
    device_answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # Settings API, by device
    slow_devices: frozenset[str] = frozenset()  # their time zone never comes (until the test ends)
    dribble_devices: frozenset[str] = frozenset()  # theirs comes one byte every 50 ms
    zone_calls: Counter[str] = field(default_factory=Counter)  # Settings API calls, by device
    allowed: bool = True  # the reminders permission: False answers 401 (create: 403)
    fail_next: list[int | None] = field(default_factory=list)  # the next reminder calls' statuses (None: as usual)
    slow_next: int = 0  # how many next reminder calls hang (until the test ends)
    reminders: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def reminder_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path.startswith(REMINDERS)]


class AlexaApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: AlexaApiState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends slow answers when the test ends

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: AlexaApi

    def _answer(self, status: int, body: Any = None) -> None:
        self._raw(status, b"" if body is None else json.dumps(body).encode())

    def _serve(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        with self.server.lock:
            state.calls.append(Call(method, self.path, body))
        prefix, suffix = "/v2/devices/", "/settings/System.timeZone"
        if method == "GET" and self.path.startswith(prefix) and self.path.endswith(suffix):
            segment = self.path[len(prefix):-len(suffix)]
            return self._time_zone("" if "/" in segment else unquote(segment))  # one quoted segment
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"code": "UNAUTHORIZED", "message": "no valid token"})
        if not self.path.startswith(REMINDERS):
            return self._answer(404, {"message": "unknown path"})
        with self.server.lock:
            slow = state.slow_next > 0
            state.slow_next -= slow
            status = state.fail_next.pop(0) if state.fail_next else None
        if slow:
            self.server.release.wait(30)  # far longer than the skill waits
            return self._answer(500, {"message": "too late"})
        if status is not None:
            return self._answer(status, {"code": "FAILED", "message": f"scripted {status}"})
        if not state.allowed:
            return self._answer(403 if method == "POST" else 401,
                                {"code": "USER_NOT_AUTHORIZED", "message": "permission not granted"})
        rest = self.path[len(REMINDERS):]
        with self.server.lock:
            if method == "POST" and rest == "":
                return self._create(body)
            if method == "GET" and rest == "":
                alerts = list(state.reminders.values())
                return self._answer(200, {"totalCount": str(len(alerts)), "alerts": alerts, "links": None})
            token = unquote(rest.removeprefix("/"))
            if method == "DELETE" and token in state.reminders:
                del state.reminders[token]
                return self._answer(200)
            return self._answer(404, {"code": "NOT_FOUND", "message": f"no reminder {token!r}"})

    def _time_zone(self, device: str) -> None:
        state = self.server.state
        with self.server.lock:
            state.zone_calls[device] += 1
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._raw(401, b'{"message": "no token"}')
        if device in state.slow_devices:
            self.server.release.wait(30)  # far longer than the skill waits
            return self._raw(200, b'"Europe/Paris"')
        if device in state.dribble_devices:  # each byte well inside a socket timeout, the whole far past it
            return self._raw(200, b'"Europe/Paris"' + b" " * 200, dribble=True)
        status, body = state.device_answers.get(device, (200, json.dumps(state.zone).encode()))
        return self._raw(status, body)

    def _raw(self, status: int, body: bytes, dribble: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not dribble:
                self.wfile.write(body)
                return
            for byte in body:
                if self.server.release.wait(0.05):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:
            pass  # the client gave up waiting, as it should

    def _create(self, body: Any) -> None:
        trigger = body.get("trigger") if isinstance(body, dict) else None
        spoken = ((body or {}).get("alertInfo") or {}).get("spokenInfo") if isinstance(body, dict) else None
        if not isinstance(trigger, dict) or trigger.get("type") != "SCHEDULED_ABSOLUTE" or not spoken:
            return self._answer(400, {"code": "INVALID_REQUEST", "message": "trigger and alertInfo are required"})
        token = str(uuid.uuid4())
        alert = {"alertToken": token, "createdTime": "2026-12-01T10:00:00.000Z",
                 "updatedTime": "2026-12-01T10:00:00.000Z", "status": "ON", "version": "1",
                 "trigger": trigger, "alertInfo": body["alertInfo"],
                 "pushNotification": body.get("pushNotification")}
        self.server.state.reminders[token] = alert
        return self._answer(200, {"alertToken": token, "status": "ON", "version": "1",
                                  "createdTime": alert["createdTime"], "updatedTime": alert["updatedTime"]})

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@contextmanager
def alexa_api(state: AlexaApiState | None = None) -> Iterator[tuple[str, AlexaApiState]]:
    """Serve the stand-in on loopback; yield its URL (the apiEndpoint) and its state."""
    state = state or AlexaApiState()
    server = AlexaApi(state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.url, state
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
