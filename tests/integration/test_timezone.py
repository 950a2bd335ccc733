"""The time zone lookup against a real HTTP server on loopback standing in for Alexa's API."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from skill.timezone import TimeZoneResolver, utc_zone
from tests.alexa_api import TOKEN, AlexaApiState, alexa_api
from tests.server import free_port

DEVICE_ANSWERS = {
    "dev-la": (200, json.dumps("America/Los_Angeles").encode()),
    "dev-auckland": (200, b'"Pacific/Auckland"'),
    "dev-junk": (200, b"<html>not json</html>"),
    "dev-mars": (200, b'"Mars/Olympus_Mons"'),
    "dev-forbidden": (403, b'{"message": "Access denied"}'),
    "dev-broken": (500, b"oops"),
    "dev-unknown": (404, b'{"message": "unknown device"}'),
    "dev-huge": (200, b'"Europe/Paris"' + b" " * 5_000),
}


@dataclass
class Api:
    """The stand-in's URL, and what it answers and was asked, by device."""

    endpoint: str
    state: AlexaApiState

    @property
    def calls(self) -> Counter[str]:
        return self.state.zone_calls

    @property
    def answers(self) -> dict[str, tuple[int, bytes]]:
        return self.state.device_answers


@pytest.fixture
def api() -> Iterator[Api]:
    state = AlexaApiState(device_answers=dict(DEVICE_ANSWERS), slow_devices=frozenset({"dev-slow"}),
                          dribble_devices=frozenset({"dev-dribble"}))
    with alexa_api(state) as (url, _):
        yield Api(url, state)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_device_zone_is_returned_as_known(api):
    zone, known = TimeZoneResolver(timeout=5).resolve(api.endpoint, TOKEN, "dev-la")
    assert (zone, known) == (ZoneInfo("America/Los_Angeles"), True)


def test_two_resolves_for_one_device_make_one_http_call(api):
    resolver = TimeZoneResolver(timeout=5)
    first = resolver.resolve(api.endpoint, TOKEN, "dev-la")
    second = resolver.resolve(api.endpoint, TOKEN, "dev-la")
    other = resolver.resolve(api.endpoint, TOKEN, "dev-auckland")
    assert first == second == (ZoneInfo("America/Los_Angeles"), True)
    assert other == (ZoneInfo("Pacific/Auckland"), True)
    assert api.calls == {"dev-la": 1, "dev-auckland": 1}


def test_the_cache_asks_again_after_its_lifetime(api):
    clock = Clock()
    resolver = TimeZoneResolver(timeout=5, ttl=3600, clock=clock)
    resolver.resolve(api.endpoint, TOKEN, "dev-la")
    clock.now += 3599
    resolver.resolve(api.endpoint, TOKEN, "dev-la")
    clock.now += 2
    resolver.resolve(api.endpoint, TOKEN, "dev-la")
    assert api.calls["dev-la"] == 2


def test_a_slow_api_times_out_to_utc_unknown_with_one_warning(api, caplog):
    resolver = TimeZoneResolver(timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="trigger_coach.timezone"):
        assert resolver.resolve(api.endpoint, TOKEN, "dev-slow") == (utc_zone(), False)
        assert resolver.resolve(api.endpoint, TOKEN, "dev-slow") == (utc_zone(), False)
    assert api.calls["dev-slow"] == 1  # the failure is remembered for a while
    assert len(caplog.records) == 1
    assert "timed out" in caplog.records[0].getMessage()
    assert "counting days in UTC" in caplog.records[0].getMessage()


def test_a_failure_is_asked_about_again_after_its_shorter_lifetime(api):
    clock = Clock()
    resolver = TimeZoneResolver(timeout=5, failure_ttl=60, clock=clock)
    resolver.resolve(api.endpoint, TOKEN, "dev-broken")
    clock.now += 61
    resolver.resolve(api.endpoint, TOKEN, "dev-broken")
    assert api.calls["dev-broken"] == 2


@pytest.mark.parametrize(
    ("device", "reason"),
    [
        ("dev-junk", "is not JSON"),
        ("dev-mars", "'Mars/Olympus_Mons' is not a time zone known here"),
        ("dev-forbidden", "HTTP 403"),
        ("dev-broken", "HTTP 500"),
        ("dev-unknown", "HTTP 404"),
        ("dev-huge", "longer than 1024 bytes"),
    ],
)
def test_a_bad_answer_falls_back_to_utc_unknown_and_says_why(api, caplog, device, reason):
    with caplog.at_level(logging.WARNING, logger="trigger_coach.timezone"):
        assert TimeZoneResolver(timeout=5).resolve(api.endpoint, TOKEN, device) == (utc_zone(), False)
    assert [reason in r.getMessage() for r in caplog.records] == [True]


def test_a_wrong_token_is_refused_by_the_api_and_falls_back(api):
    assert TimeZoneResolver(timeout=5).resolve(api.endpoint, "stale", "dev-la") == (utc_zone(), False)


@pytest.mark.parametrize(
    ("endpoint", "token", "device"),
    [("", TOKEN, "dev-la"), (None, TOKEN, "dev-la"), ("ENDPOINT", "", "dev-la"), ("ENDPOINT", TOKEN, "")],
)
def test_a_request_without_endpoint_token_or_device_falls_back_without_calling(api, caplog, endpoint, token, device):
    endpoint = api.endpoint if endpoint == "ENDPOINT" else endpoint
    with caplog.at_level(logging.WARNING, logger="trigger_coach.timezone"):
        assert TimeZoneResolver(timeout=5).resolve(endpoint, token, device) == (utc_zone(), False)
    assert not api.calls
    assert "the request has no" in caplog.text


@pytest.mark.parametrize("endpoint", ["file:///etc", "http://api.example.invalid", "ftp://127.0.0.1"])
def test_an_endpoint_that_is_not_https_or_loopback_http_is_never_opened(caplog, endpoint):
    with caplog.at_level(logging.WARNING, logger="trigger_coach.timezone"):
        result = TimeZoneResolver(timeout=5).resolve(endpoint, TOKEN, "dev-la")
    assert result == (utc_zone(), False) and "is not an https URL" in caplog.text  # the token stays here


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9/a b", "http://127.0.0.1:9/\x0b", "https://127.0.0.1:9/\u20ac"],
                         ids=["space", "control", "not-latin-1"])
def test_an_endpoint_path_that_cannot_be_a_request_line_falls_back_without_sending(caplog, endpoint):
    with caplog.at_level(logging.WARNING, logger="trigger_coach.timezone"):
        assert TimeZoneResolver(timeout=5).resolve(endpoint, TOKEN, "dev-la") == (utc_zone(), False)
    assert "could not be sent" in caplog.text


def test_an_answer_dribbled_byte_by_byte_is_cut_off_at_the_deadline(api, caplog):
    resolver = TimeZoneResolver(timeout=0.3)
    with caplog.at_level(logging.WARNING, logger="trigger_coach.timezone"):
        assert resolver.resolve(api.endpoint, TOKEN, "dev-dribble") == (utc_zone(), False)
    assert "timed out" in caplog.text


def test_a_closed_port_falls_back_to_utc():
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert TimeZoneResolver(timeout=5).resolve(endpoint, TOKEN, "dev-la") == (utc_zone(), False)


def test_concurrent_resolves_from_many_threads_all_get_the_zone(api):
    resolver = TimeZoneResolver(timeout=5)
    results: list[tuple[ZoneInfo, bool]] = []
    lock = threading.Lock()

    def ask() -> None:
        answer = resolver.resolve(api.endpoint, TOKEN, "dev-auckland")
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [(ZoneInfo("Pacific/Auckland"), True)] * 16
    asked = api.calls["dev-auckland"]
    assert 1 <= asked <= 16  # threads that missed the cache together may each have asked
    resolver.resolve(api.endpoint, TOKEN, "dev-auckland")
    assert api.calls["dev-auckland"] == asked  # from now on it is cached


def test_nonsense_settings_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="needs a positive timeout"):
        TimeZoneResolver(timeout=0)


@pytest.mark.parametrize(
    "device",
    ["dev-\ud800-lone", "\udfff", "x" * 5_000],
    ids=["lone-surrogate", "only-a-surrogate", "5000-characters"],
)
def test_a_device_id_that_cannot_be_a_real_one_falls_back_to_utc_without_calling(api, caplog, device):
    resolver = TimeZoneResolver(timeout=5)
    with caplog.at_level(logging.WARNING, logger="trigger_coach.timezone"):
        assert resolver.resolve(api.endpoint, TOKEN, device) == (utc_zone(), False)
    assert not api.calls and not resolver._cache
    [record] = caplog.records
    record.getMessage().encode("ascii")  # the log line is writable to any stream


@pytest.mark.parametrize("device", ["dev/../la", "dev?x=1#frag", "dev la\r\nX-Injected: 1", "Gerät-🙂"])
def test_odd_characters_in_a_device_id_are_quoted_into_one_path_segment(api, device):
    api.answers[device] = (200, b'"Europe/Berlin"')
    assert TimeZoneResolver(timeout=5).resolve(api.endpoint, TOKEN, device) == (ZoneInfo("Europe/Berlin"), True)
    assert api.calls == Counter({device: 1})
