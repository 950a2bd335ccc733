"""AudioPlayer events go to one handler only, so finding it first changes nothing but the cost."""

from __future__ import annotations

import json

import pytest
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from skill.alexa.builder import build_coach
from skill.alexa.handlers import AudioPlayerEventHandler, request_handlers
from skill.config import Settings
from tests import alexa

EVENTS = ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished", "PlaybackStopped", "PlaybackFailed")


@pytest.mark.parametrize("kind", EVENTS)
def test_every_audioplayer_event_is_taken_by_the_audio_event_handler_alone(kind):
    coach = build_coach(Settings())
    handlers = request_handlers(coach)
    body = alexa.audio_event(kind, "calves|run|0|1")
    envelope = DefaultSerializer().deserialize(json.dumps(body), RequestEnvelope)
    takers = [type(h).__name__ for h in handlers if h.can_handle(HandlerInput(envelope))]
    assert takers[0] == AudioPlayerEventHandler.__name__, takers
    assert takers[1:] == ["AnyOtherRequestHandler"], "only the catch-all at the end takes it too"
