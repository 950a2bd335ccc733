"""Expose the same skill object as an AWS Lambda handler (storage and audio from settings).

Deploy with TRIGGER_COACH_STORAGE=dynamodb and TRIGGER_COACH_PUBLIC_URL pointing at the
S3/CloudFront location of the rendered tracks. Alexa invokes Lambda through its own
trigger, so no signature check is needed here; the skill id is still checked.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from ask_sdk_model import RequestEnvelope

from skill import config
from skill.alexa.builder import build_skill


@cache
def _skill() -> Any:
    return build_skill(config.from_env())


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one Alexa request delivered by AWS Lambda."""
    skill = _skill()
    envelope = skill.serializer.deserialize(payload=json.dumps(event), obj_type=RequestEnvelope)
    response = skill.invoke(request_envelope=envelope, context=context)
    return skill.serializer.serialize(response)
