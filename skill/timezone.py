"""Ask Alexa which time zone a device is in, so "this week" is the user's week.

The one place that calls the Alexa Settings API for ``System.timeZone``. It answers fast or
not at all: one deadline for the whole call (`skill.alexa.api_http`), a cache per device,
and on any failure UTC with ``known=False`` (the spoken summary then says it is counting in
UTC). It never raises into a handler.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

logger = logging.getLogger("trigger_coach.timezone")

MAX_BODY_BYTES = 1024  # an IANA name in JSON quotes is ~40 bytes; more is not an answer
MAX_DEVICES = 10_000
# Alexa's device ids are a few hundred ASCII characters; a longer one is not worth a lookup and
# would bloat the cache and the log.
MAX_DEVICE_ID = 1024


def utc_zone() -> ZoneInfo:
    """Return UTC as a ZoneInfo, the zone of every device whose own zone is not known.

    zoneinfo is imported here, on the first zone a request needs, not at start.
    """
    from zoneinfo import ZoneInfo

    return ZoneInfo("UTC")  # ZoneInfo keeps one instance per key: always the same object


class _Cached(NamedTuple):
    zone: ZoneInfo
    known: bool
    expires: float


class TimeZoneResolver:
    """Resolve and cache device time zones; thread-safe, one instance per process.

    Answers are kept for `ttl` seconds, failures for `failure_ttl` seconds, so an API that
    is down costs one timeout and one warning per device per `failure_ttl`, not one per
    request. Two threads missing the cache for the same device at once may both ask.
    """

    def __init__(
        self,
        timeout: float,
        ttl: float = 3600,
        *,
        failure_ttl: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout <= 0 or ttl < 0 or failure_ttl < 0:
            raise ValueError(
                f"TimeZoneResolver(timeout={timeout!r}, ttl={ttl!r}, failure_ttl={failure_ttl!r}) "
                "needs a positive timeout and non-negative lifetimes; e.g. timeout=1.5."
            )
        self.timeout = timeout
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def resolve(self, api_endpoint: str, api_access_token: str, device_id: str) -> tuple[ZoneInfo, bool]:
        """Return the device's zone and whether it is known; (UTC, False) on any failure."""
        if not (api_endpoint and api_access_token and device_id):
            missing = [
                name for name, value in (
                    ("apiEndpoint", api_endpoint), ("apiAccessToken", api_access_token),
                    ("deviceId", device_id),
                ) if not value
            ]
            logger.warning(
                "Cannot ask for the device time zone: the request has no %s; counting days in UTC.",
                " or ".join(missing),
            )
            return utc_zone(), False
        problem = _device_id_problem(device_id)
        if problem:
            logger.warning("Cannot ask for the time zone of device %s: %s; counting days in UTC.",
                           _tail(device_id), problem)
            return utc_zone(), False
        now = self._clock()
        with self._lock:
            cached = self._cache.get(device_id)
        if cached is not None and cached.expires > now:
            return cached.zone, cached.known
        zone, problem = self._fetch(api_endpoint, api_access_token, device_id)
        if zone is None:
            logger.warning(
                "Could not get the time zone of device %s from %r: %s; counting days in UTC.",
                _tail(device_id), api_endpoint[:120], problem,
            )
        entry = _Cached(
            zone or utc_zone(), zone is not None,
            self._clock() + (self.ttl if zone is not None else self.failure_ttl),
        )
        with self._lock:
            self._cache[device_id] = entry
            if len(self._cache) > MAX_DEVICES:
                self._evict(now)
        return entry.zone, entry.known

    def _evict(self, now: float) -> None:
        for key in [k for k, v in self._cache.items() if v.expires <= now]:
            del self._cache[key]
        while len(self._cache) > MAX_DEVICES:
            del self._cache[next(iter(self._cache))]  # the oldest insertion

    def _fetch(self, api_endpoint: str, token: str, device_id: str) -> tuple[ZoneInfo | None, str]:
        from skill.alexa import api_http  # HTTP and TLS load with the first lookup, not at start

        path = f"/v2/devices/{quote(device_id, safe='')}/settings/System.timeZone"
        try:
            status, body = api_http.send(api_endpoint, "GET", path, token, deadline=time.monotonic() + self.timeout,
                                         max_bytes=MAX_BODY_BYTES)
        except api_http.ApiCallError as exc:
            return None, str(exc)
        if status != 200:
            return None, f"HTTP {status} {body[:60]!r}"
        try:
            name = json.loads(body.decode("utf-8"))
        except ValueError:
            return None, f"the answer {body[:60]!r} is not JSON"
        if not isinstance(name, str) or not name:
            return None, f"the answer {name!r} is not a time zone name"
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(name), ""
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return None, f"{name!r} is not a time zone known here"


def _device_id_problem(device_id: str) -> str:
    """Return why a device id cannot go into the API's URL, or "" if it can (quoted)."""
    if len(device_id) > MAX_DEVICE_ID:
        return f"its id is {len(device_id)} characters long, more than {MAX_DEVICE_ID}"
    try:
        device_id.encode("utf-8")
    except UnicodeEncodeError:
        return "its id is not valid Unicode text"
    return ""


def _tail(device_id: str) -> str:
    """Return the end of a device id, escaped so any log stream can write it."""
    return "..." + ascii(device_id[-8:])

