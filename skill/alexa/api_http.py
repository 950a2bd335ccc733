"""Send one request to an Alexa cloud API (Settings, Reminders) and read its whole answer by a deadline.

The one place that talks HTTP to Alexa's APIs. The access token goes only to the request's
`apiEndpoint` over HTTPS (plain http only to loopback, where tests run their stand-ins), and
redirects are never followed. The deadline is for the whole exchange, not per socket read:
a watchdog shuts the socket when it passes, so a server that dribbles its answer byte by
byte is cut off as surely as one that goes silent.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import certifi

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TIMEOUT, UNREACHABLE, BAD_URL, TOO_LONG = "timeout", "unreachable", "bad_url", "too_long"

_tls: ssl.SSLContext | None = None


def _context() -> ssl.SSLContext:
    global _tls
    if _tls is None:  # loading the CA bundle is most of a first call's cost
        _tls = ssl.create_default_context(cafile=certifi.where())
    return _tls


class ApiCallError(Exception):
    """No whole answer came back; `kind` is TIMEOUT, UNREACHABLE, BAD_URL or TOO_LONG."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def send(
    api_endpoint: str, method: str, path: str, token: str, *, deadline: float,
    body: bytes | None = None, max_bytes: int = 64 * 1024,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[int, bytes]:
    """Send `method path` to the API with the bearer token; return the status and body by `deadline`.

    `deadline` is a `clock()` reading. Raises ApiCallError when there is no whole answer in time,
    no answer at all, the endpoint is not an https (or loopback http) URL, or the body is
    longer than `max_bytes`.
    """
    base = (api_endpoint or "").rstrip("/")
    parts = urlsplit(base)
    host = parts.hostname or ""
    if parts.scheme == "https":
        tls: ssl.SSLContext | None = _context()
    elif parts.scheme == "http" and host in LOOPBACK:
        tls = None
    else:
        raise ApiCallError(BAD_URL, f"apiEndpoint {base[:120]!r} is not an https URL")
    try:
        port = parts.port
    except ValueError:
        raise ApiCallError(BAD_URL, f"apiEndpoint {base[:120]!r} has a port that is not a number") from None
    left = deadline - clock()
    if left <= 0:
        raise ApiCallError(TIMEOUT, "no answer (timed out: no time was left)")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
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
        connection.connect()
        if expired.is_set():  # the connect took it all; the watchdog found no socket to shut
            raise TimeoutError
        connection.request(method, parts.path.rstrip("/") + path, body=body, headers=headers)
        answer = connection.getresponse()
        raw = answer.read(max_bytes + 1)
        if expired.is_set():
            raise TimeoutError
    except TimeoutError:
        raise ApiCallError(TIMEOUT, "no whole answer (timed out)") from None
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise ApiCallError(TIMEOUT, "no whole answer (timed out)") from None
        raise ApiCallError(UNREACHABLE, f"no answer ({type(exc).__name__}: {str(exc) or 'closed'})") from None
    finally:
        watchdog.cancel()
        connection.close()
    if len(raw) > max_bytes:
        raise ApiCallError(TOO_LONG, f"the answer is longer than {max_bytes} bytes")
    return answer.status, raw
