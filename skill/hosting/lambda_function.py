"""Expose the same skill object as an AWS Lambda handler (storage and audio from settings).

Deploy with handler ``skill.hosting.lambda_function.lambda_handler``,
TRIGGER_COACH_STORAGE=dynamodb and TRIGGER_COACH_PUBLIC_URL pointing at the S3/CloudFront
location of the rendered tracks. Alexa invokes Lambda through its own trigger, so no signature
check is needed here; the envelope checks (application id included) are the web service's,
from `skill.hosting.envelope`. An event that fails them makes the invocation fail with a
`BadEnvelope` error naming the check, raised bare: Lambda returns an uncaught error's stack
to the caller, and this one shows only `lambda_handler`, not the envelope reader's insides.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from skill import config
from skill.alexa.builder import build_skill
from skill.hosting import envelope

if TYPE_CHECKING:
    from ask_sdk_core.skill import CustomSkill


@cache
def _skill() -> CustomSkill:
    settings = config.from_env()
    return envelope.prepare(build_skill(settings), settings.skill_id)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one Alexa request delivered by AWS Lambda."""
    try:
        return envelope.invoke(_skill(), event, context)
    except envelope.BadEnvelope as error:
        raise error.with_traceback(None) from None
