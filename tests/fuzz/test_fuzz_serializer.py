"""The envelope serializer's cached readers and writers give exactly what the SDK's own code gives.

`EnvelopeSerializer` works out each model class's attributes once instead of on every request.
Here every real request our tests send, and Hypothesis's mutations of them (keys deleted,
values of every JSON type at every path, unknown keys, every request type the SDK knows), are
read both ways: by the cached readers and by the SDK's `DefaultSerializer` (with our ISO
timestamp reader, the one difference we mean). Both give the same model, class for class and
value for value, or both fail with the same message. Whatever reads, is written back both
ways too, as are the responses the skill really gives, and must give the same JSON values.

Set TRIGGER_COACH_FUZZ_EXAMPLES (default 2000) for more cases.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from enum import Enum
from typing import Any

import pytest
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from ask_sdk_model.request import Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skill.alexa.builder import build_skill
from skill.config import LOCAL_SKILL_ID, Settings
from skill.hosting.envelope import EnvelopeSerializer, check_envelope
from tests import alexa

EXAMPLES = max(20, int(os.environ.get("TRIGGER_COACH_FUZZ_EXAMPLES", "2000")))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class SdkReader(DefaultSerializer):
    """The SDK's serializer with only our ISO timestamp reader: what the cached readers must match."""

    _DefaultSerializer__deserialize_datetime = EnvelopeSerializer._DefaultSerializer__deserialize_datetime


SDK = SdkReader()
OURS = EnvelopeSerializer(LOCAL_SKILL_ID)
PLAYER = {"token": "calves|r1|2|5", "offsetInMilliseconds": 4200, "playerActivity": "PLAYING"}
REQUEST_TYPES = sorted(Request.discriminator_value_class_map)


def real_envelopes() -> list[dict[str, Any]]:
    """Return a request of every kind our tests send, as Alexa sends them."""
    bodies = [
        alexa.launch(), alexa.launch(screen=True, person="amzn1.ask.person.P1"),
        alexa.task_launch({"routine": "calves"}),
        alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves"), "length": None}),
        alexa.intent("ProgressIntent", {"period": "this week"}, session_attributes={"pending": "start:calves:full"}),
        alexa.intent("AMAZON.PauseIntent", audio_player=PLAYER),
        alexa.user_event(["start", "calves"]),
        alexa.skill_event("SkillDisabled"), alexa.skill_event("SkillPermissionAccepted", {"acceptedPermissions": [
            {"scope": "alexa::alerts:reminders:skill:readwrite"}]}),
        alexa.connections_response("ACCEPTED"),
        alexa.with_reminders_permission(alexa.launch()),
        *(alexa.button(kind) for kind in ("Play", "Pause", "Next", "Previous")),
        *(alexa.audio_event(kind, "calves|r1|2|5", 1234, audio_player=PLAYER)
          for kind in ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished", "PlaybackStopped",
                       "PlaybackFailed")),
        alexa.envelope({"type": "SessionEndedRequest", "reason": "ERROR",
                        "error": {"type": "INVALID_RESPONSE", "message": "bad"}}),
        alexa.envelope({"type": "System.ExceptionEncountered", "error": {"type": "INVALID_RESPONSE", "message": "x"},
                        "cause": {"requestId": "r"}}, session=False),
    ]
    return [json.loads(json.dumps(body)) for body in bodies]  # plain JSON values, as parsed from a body


REAL = real_envelopes()


def structure(value: Any) -> Any:
    """Return a comparable picture of a value: every model's class and attributes, every enum member."""
    if isinstance(value, Enum):
        return ("enum", type(value), value.name)
    if isinstance(value, datetime | date):
        return (type(value), value.isoformat())
    if isinstance(value, list):
        return [structure(item) for item in value]
    if isinstance(value, dict):
        return {key: structure(item) for key, item in value.items()}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return (type(value), {key: structure(item) for key, item in vars(value).items()})
    return (type(value), value)


def outcome(read: Any, payload: Any) -> Any:
    try:
        return "read", structure(read(payload))
    except SerializationException as exc:
        return "refused", str(exc)


def written(write: Any, model: Any) -> Any:
    """Return what writing a model gives: its JSON values, or the error (a key named like the
    SDK's own maps makes its writer fail, and ours must fail the same way)."""
    try:
        return "written", write(model)
    except Exception as exc:
        return type(exc), str(exc)


def shadows_maps(value: Any) -> bool:
    """Return whether a model in `value` has its own `deserialized_types` or `attribute_map`.

    The SDK's writer then merges that instance's map into its class's `attribute_map`, for the
    whole process (every later read of that class breaks), so such models are not written
    here; ours hands them to the SDK's writer as they are. Responses never hold such a model.
    """
    if isinstance(value, list):
        return any(shadows_maps(item) for item in value)
    if isinstance(value, dict):
        return any(shadows_maps(item) for item in value.values())
    if hasattr(value, "deserialized_types") and not isinstance(value, type):
        own = vars(value)
        return "deserialized_types" in own or "attribute_map" in own or any(shadows_maps(v) for v in own.values())
    return False


def sdk_read(payload: Any) -> Any:
    return SDK._DefaultSerializer__deserialize(payload, RequestEnvelope)


def assert_same_reading(payload: Any) -> None:
    ours, sdk = outcome(lambda p: OURS.from_parsed(p, RequestEnvelope), payload), outcome(sdk_read, payload)
    assert ours == sdk
    if ours[0] == "read" and not shadows_maps(model := sdk_read(payload)):
        assert written(OURS.serialize, model) == written(DefaultSerializer().serialize, model)


@pytest.mark.parametrize("body", REAL, ids=[f"{b['request']['type']}-{i}" for i, b in enumerate(REAL)])
def test_every_real_request_reads_into_the_same_model_as_the_sdks_reader(body: dict[str, Any]) -> None:
    check_envelope(body, LOCAL_SKILL_ID)
    assert_same_reading(body)
    assert OURS.read(body) == sdk_read(body)


@pytest.mark.parametrize("kind", REQUEST_TYPES)
def test_every_request_type_the_sdk_knows_reads_as_the_sdk_reads_it(kind: str) -> None:
    body = alexa.envelope({"type": kind, "token": "t", "offsetInMilliseconds": 5, "intent": {"name": "X"},
                           "error": {"type": "MEDIA_ERROR_UNKNOWN"}, "body": {"x": [1]}})
    assert_same_reading(json.loads(json.dumps(body)))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from([*REQUEST_TYPES, "PLAYING", "ER_SUCCESS_MATCH", "2026-12-01T20:00:00Z",
                                              "NONE", "COMPLETED", "Tuesday", "12"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every key and list item in a JSON value."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((*prefix, key))
        found.extend(paths(item, (*prefix, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    body = json.loads(json.dumps(draw(st.sampled_from(REAL))))
    for _ in range(draw(st.integers(1, 4))):
        where = paths(body)
        path = draw(st.sampled_from(where)) if where else ()
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            return draw(JSON)
        if action == "replace":
            parent[path[-1]] = draw(JSON)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            key = draw(st.text(max_size=10) | st.sampled_from(SHADOWS))
            parent[path[-1]][key] = draw(JSON)
    return body


# Keys a model does not read but that name one of its attributes (or the SDK's own maps):
# the SDK sets them after the attributes it reads, so their raw value wins.
SHADOWS = ["type", "token", "attribute_map", "deserialized_types", "offset_in_milliseconds", "request_id",
           "object_type", "user_id", "application_id", "__class__", ""]


@pytest.mark.parametrize("first", [True, False], ids=["shadow-first", "shadow-last"])
@pytest.mark.parametrize("shadow", SHADOWS)
def test_a_key_named_like_an_attribute_reads_as_in_the_sdk_wherever_it_stands(shadow: str, first: bool) -> None:
    body = json.loads(json.dumps(alexa.audio_event("PlaybackStopped", "calves|r1|2|5", 1234)))
    request = body["request"]
    body["request"] = {shadow: "raw", **request} if first else {**request, shadow: "raw"}
    assert_same_reading(body)


@FUZZ
@given(mutated())
def test_mutated_requests_read_as_the_sdk_reads_them_or_fail_with_its_message(body: Any) -> None:
    assert_same_reading(body)


def test_the_responses_the_skill_gives_are_written_as_the_sdk_writes_them(tmp_path) -> None:
    skill = build_skill(Settings(data_dir=tmp_path, public_url="https://coach.example.test"))
    replies = []
    for body in [alexa.launch(), alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}),
                 alexa.intent("AMAZON.HelpIntent"), alexa.intent("ProgressIntent"),
                 alexa.audio_event("PlaybackNearlyFinished", "calves|r1|0|1"), alexa.launch(screen=True)]:
        response = skill.invoke(request_envelope=sdk_read(json.loads(json.dumps(body))), context=None)
        replies.append(response)
        assert OURS.serialize(response) == DefaultSerializer().serialize(response)
    assert any(reply.response.output_speech is not None for reply in replies)
