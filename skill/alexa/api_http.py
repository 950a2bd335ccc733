"""Send one request to an Alexa cloud API (Settings, Reminders) and read its whole answer by a deadline.

The one place that talks to Alexa's APIs, over `skill.http_client`. The access token goes only
to the request's `apiEndpoint` over HTTPS (plain http only to loopback, where tests run their
stand-ins), and redirects are never followed. The deadline is for the whole exchange, not per
socket read, so a server that dribbles its answer byte by byte is cut off as surely as one
that goes silent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from skill.http_client import Connection, TooLong, TransportError, tls_context

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TIMEOUT, UNREACHABLE, BAD_URL, TOO_LONG = "timeout", "unreachable", "bad_url", "too_long"


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
        tls = tls_context()
    elif parts.scheme == "http" and host in LOOPBACK:
        tls = None
    else:
        raise ApiCallError(BAD_URL, f"apiEndpoint {base[:120]!r} is not an https URL")
    try:
        connection = Connection.to(base, tls)
    except ValueError:
        raise ApiCallError(BAD_URL, f"apiEndpoint {base[:120]!r} has a port that is not a number") from None
    left = deadline - clock()
    if left <= 0:
        raise ApiCallError(TIMEOUT, "no answer (timed out: no time was left)")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Connection": "close"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        reply = connection.exchange(method, parts.path.rstrip("/") + path, headers, body or b"",
                                    deadline=time.monotonic() + left, connect_timeout=left, max_body=max_bytes)
    except TimeoutError:
        raise ApiCallError(TIMEOUT, "no whole answer (timed out)") from None
    except TooLong:
        raise ApiCallError(TOO_LONG, f"the answer is longer than {max_bytes} bytes") from None
    except (OSError, TransportError) as exc:
        raise ApiCallError(UNREACHABLE, f"no answer ({type(exc).__name__}: {str(exc) or 'closed'})") from None
    except ValueError as exc:  # a path or a token that cannot go into a request line or header
        raise ApiCallError(BAD_URL, f"the request could not be sent ({str(exc)[:160]})") from None
    finally:
        connection.close()
    return reply.status, reply.body
