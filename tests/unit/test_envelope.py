"""The envelope checks shared by the web service and the Lambda handler, and the one-pass reader."""

from __future__ import annotations

import copy
import json

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope, ResponseEnvelope
from ask_sdk_model.interfaces.audioplayer import PlaybackStoppedRequest
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.config import LOCAL_SKILL_ID
from skill.hosting.envelope import MAX_DEPTH, BadEnvelope, EnvelopeSerializer, _deeper_than, check_envelope, parse
from tests import alexa

READER = EnvelopeSerializer(LOCAL_SKILL_ID)
STOPPED = alexa.audio_event("PlaybackStopped", "calves|run|3|7", 12_000)


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def with_value(envelope: dict, path: tuple[str, ...], value: object) -> dict:
    envelope = copy.deepcopy(envelope)
    parent = envelope
    for key in path[:-1]:
        parent = parent.setdefault(key, {})
    parent[path[-1]] = value
    return envelope


def without(envelope: dict, *path: str) -> dict:
    envelope = copy.deepcopy(envelope)
    parent = envelope
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return envelope


def test_a_real_envelope_is_read_into_the_sdks_model_in_one_pass():
    envelope = READER.deserialize(json.dumps(STOPPED), RequestEnvelope)
    assert isinstance(envelope, RequestEnvelope)
    assert isinstance(envelope.request, PlaybackStoppedRequest)
    assert envelope.request.offset_in_milliseconds == 12_000 and envelope.request.token == "calves|run|3|7"
    assert envelope.context.system.user.user_id == "amzn1.ask.account.TEST-USER"


def test_the_reader_builds_the_same_model_as_the_sdks_own_two_pass_reader():
    for body in (alexa.launch(), STOPPED, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")})):
        text = json.dumps(body)
        ours = READER.deserialize(text, RequestEnvelope)
        sdk = DefaultSerializer().deserialize(text, RequestEnvelope)
        assert ours == sdk


def test_the_private_sdk_method_the_one_pass_relies_on_still_exists():
    # If an ask-sdk-core release renames it, this is the test that says so, not a 400 for every request.
    assert callable(getattr(DefaultSerializer, "_DefaultSerializer__deserialize", None))
    assert callable(getattr(DefaultSerializer, "_DefaultSerializer__deserialize_datetime", None))


@pytest.mark.parametrize("stamp", ["2026-12-01T20:00:00Z", "2026-12-01T20:00:00.250+01:00", "2026-12-01T20:00:00",
                                   "2026-12-01", "Tue, 01 Dec 2026 20:00:00 GMT", "2026-12-01 20:00 UTC"])
def test_timestamps_read_as_the_sdk_reads_them_iso_ones_without_its_slow_parser(stamp: str) -> None:
    text = json.dumps({**alexa.launch(), "request": {**alexa.launch()["request"], "timestamp": stamp}})
    ours = READER.deserialize(text, RequestEnvelope).request.timestamp
    sdk = DefaultSerializer().deserialize(text, RequestEnvelope).request.timestamp
    assert ours == sdk and (ours.tzinfo is None) == (sdk.tzinfo is None)


def test_a_long_value_that_is_no_iso_timestamp_is_refused_without_the_sdks_slow_parser(monkeypatch) -> None:
    import dateutil.parser

    asked: list[int] = []
    real = dateutil.parser.parse
    monkeypatch.setattr(dateutil.parser, "parse", lambda text, *a, **k: asked.append(len(text)) or real(text, *a, **k))
    stamp = "1." * 40_000  # dateutil's time grows with the square of this: seconds of CPU
    text = json.dumps({**alexa.launch(), "request": {**alexa.launch()["request"], "timestamp": stamp}})
    with pytest.raises(BadEnvelope, match="value of 80000 characters is not a timestamp"):
        READER.deserialize(text, RequestEnvelope)
    assert asked == []
    short = {**alexa.launch(), "request": {**alexa.launch()["request"], "timestamp": "2026-12-01 20:00 UTC"}}
    READER.deserialize(json.dumps(short), RequestEnvelope)
    assert asked == [len("2026-12-01 20:00 UTC")], "a short one still gets the SDK's reading"


def test_other_types_are_left_to_the_sdks_serializer():
    text = json.dumps({"version": "1.0", "response": {"shouldEndSession": True}})
    assert READER.deserialize(text, ResponseEnvelope) == DefaultSerializer().deserialize(text, ResponseEnvelope)
    assert READER.serialize(READER.deserialize(json.dumps(STOPPED), RequestEnvelope))["request"]["token"]


GARBAGE = {
    "not an object": [1, 2],
    "no request": without(alexa.launch(), "request"),
    "request not an object": with_value(alexa.launch(), ("request",), "LaunchRequest"),
    "request type not text": with_value(alexa.launch(), ("request", "type"), 7),
    "context not an object": with_value(alexa.launch(), ("context",), []),
    "session not an object": with_value(alexa.launch(), ("session",), "x"),
    "no context": without(alexa.launch(), "context"),
    "no context.System": without(alexa.launch(), "context", "System"),
    "no user": without(alexa.launch(), "context", "System", "user"),
    "empty userId": with_value(alexa.launch(), ("context", "System", "user", "userId"), ""),
    "userId not text": with_value(alexa.launch(), ("context", "System", "user", "userId"), 12),
    "userId with a lone surrogate": with_value(alexa.launch(), ("context", "System", "user", "userId"), "u\ud800"),
    "AudioPlayer not an object": with_value(alexa.launch(), ("context", "AudioPlayer"), "PLAYING"),
    "too deep": with_value(alexa.launch(), ("session", "attributes", "pending"), nested(MAX_DEPTH)),
    "unknown request type": with_value(alexa.launch(), ("request", "type"), "Bogus.Request"),
    "timestamp not a time": with_value(alexa.launch(), ("request", "timestamp"), "yesterday"),
}


@pytest.mark.parametrize("case", list(GARBAGE))
def test_an_envelope_alexa_could_not_send_is_rejected_with_a_sentence(case):
    with pytest.raises(BadEnvelope) as caught:
        READER.read(GARBAGE[case])
    assert caught.value.check == "envelope"
    assert str(caught.value).startswith("The ") and len(str(caught.value)) < 300


def test_an_envelope_at_the_depth_limit_is_accepted():
    deep_enough = with_value(alexa.launch(), ("session", "attributes", "pending"), nested(MAX_DEPTH - 4))
    READER.read(deep_enough)


@pytest.mark.parametrize(
    "offset", ["12a", "1000", 1e30, 12.5, -5, -1, 2**63, True, False, None, [], {}],
    ids=["12a", "digits-as-text", "1e30", "fraction", "-5", "-1", "2^63", "true", "false", "null", "list", "object"],
)
@pytest.mark.parametrize(
    "where",
    [("request", "offsetInMilliseconds"), ("context", "AudioPlayer", "offsetInMilliseconds"),
     ("request", "currentPlaybackState", "offsetInMilliseconds")],
    ids=["request", "context.AudioPlayer", "currentPlaybackState"],
)
def test_an_offset_that_is_not_whole_non_negative_milliseconds_is_rejected(offset, where):
    with pytest.raises(BadEnvelope, match="offsetInMilliseconds") as caught:
        READER.read(with_value(STOPPED, where, offset))
    assert repr(offset)[:20] in str(caught.value)


@pytest.mark.parametrize("offset", [0, 1, 600_000, 2**63 - 1])
def test_whole_offsets_from_zero_up_are_accepted(offset):
    assert READER.read(with_value(STOPPED, ("request", "offsetInMilliseconds"), offset)).request is not None


def test_another_skills_request_is_rejected_as_an_application_id_failure():
    with pytest.raises(BadEnvelope) as caught:
        check_envelope(alexa.launch(skill_id="amzn1.ask.skill.other"), LOCAL_SKILL_ID)
    assert caught.value.check == "application-id"
    assert "'amzn1.ask.skill.other'" in str(caught.value)


def test_a_huge_bad_value_is_quoted_short():
    with pytest.raises(BadEnvelope) as caught:
        READER.read(with_value(STOPPED, ("request", "offsetInMilliseconds"), "9" * 100_000 + "x"))
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b"\xff\xfe garbage", b"[" * 100_000, "\ufeff{}"],
    ids=["malformed", "empty", "not-utf8", "deep", "bom"],
)
def test_a_body_that_is_not_json_is_rejected(body):
    with pytest.raises(BadEnvelope, match=r"^The body"):
        parse(body)


def test_the_reader_needs_the_skill_id():
    with pytest.raises(ValueError, match="skill id"):
        EnvelopeSerializer("")


def depth(value: object) -> int:
    """Return how many levels of objects and arrays a JSON value nests (a scalar: 0)."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


NESTING = st.recursive(
    st.none() | st.integers() | st.text(alphabet="{}[]\"\\ab", max_size=6),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(alphabet="{[ab", max_size=3), inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(NESTING, st.integers(1, 40))
def test_the_depth_walk_says_deeper_exactly_when_the_value_nests_deeper(value, limit):
    container = [value]
    assert _deeper_than(container, limit) == (depth(container) > limit)


@settings(max_examples=300, deadline=None)
@given(NESTING, st.integers(MAX_DEPTH - 6, MAX_DEPTH + 2), st.booleans())
def test_an_envelope_read_from_its_text_is_refused_for_depth_exactly_as_one_read_without(value, levels, as_bytes):
    body = with_value(alexa.launch(), ("session", "attributes", "pending"), {"v": value, "deep": nested(levels - 3)})
    text = json.dumps(body, ensure_ascii=False)

    def verdict(*args):
        try:
            check_envelope(body, LOCAL_SKILL_ID, *args)
        except BadEnvelope as exc:
            return str(exc)
        return "accepted"

    assert verdict(text.encode() if as_bytes else text) == verdict()
    assert (verdict() == "accepted") == (depth(body) <= MAX_DEPTH)
