"""Wire the skill together: handlers, interceptors, storage. Tests call this too."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder

from skill.alexa.catalog import Catalog
from skill.alexa.handlers import request_handlers
from skill.alexa.handlers.shared import Coach
from skill.alexa.handlers.system import ErrorHandler
from skill.alexa.user import AttachStoreInterceptor, SaveUserInterceptor
from skill.config import Settings
from skill.core.routines import Library, load_library
from skill.storage import make_adapter
from skill.timezone import TimeZoneResolver

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ask_sdk_model import RequestEnvelope, ResponseEnvelope

    from skill.alexa.user import Store
    from skill.core.complaints import ComplaintBook


log = logging.getLogger("trigger_coach.builder")


class RoutineLibraryError(RuntimeError):
    """The routines on disk have problems, so the skill refuses to start."""


def build_coach(settings: Settings) -> Coach:
    """Load the routines and manifests and return what the handlers share.

    Routines are checked in full when they are validated or rendered (`trigger-coach
    serve` renders first); at request time a cold start skips the schema, and the catalog
    plays only routines whose rendered manifest matches their timeline. The complaints
    file is read on the first complaint asked about.
    """
    library = load_library([settings.routines_dir], check=False)
    if library.problems:
        first = "\n".join(str(p) for p in library.problems[:5])
        raise RoutineLibraryError(
            f"The routines in {settings.routines_dir} have {len(library.problems)} problem(s), "
            f"for example:\n{first}\nRun 'trigger-coach validate' and fix them.")
    return Coach(settings, Catalog(library, settings), TimeZoneResolver(settings.api_timeout),
                 load_complaints=partial(_complaints, settings.routines_dir, library))


def _complaints(routines_dir: Path, library: Library) -> ComplaintBook:
    """Return the complaints book of a routines folder, logging why it is empty if it is."""
    from skill.content.complaints import complaints_path, load_complaints

    complaints, problems = load_complaints(complaints_path(routines_dir), library.routines, check=False)
    for problem in problems:  # routines still play; only "what helps ..." answers that it doesn't know
        log.warning("The complaints file cannot be used: %s", problem)
    return complaints


def build_adapter(settings: Settings) -> Store:
    """Return the configured storage adapter (merging writes with the progress rules)."""
    return make_adapter(
        settings.storage,
        data_dir=settings.data_dir,
        table_name=settings.dynamodb_table,
        endpoint_url=settings.dynamodb_endpoint,
        region=settings.aws_region,
        legacy_table=settings.dynamodb_legacy_table,
    )


def build_skill(
    settings: Settings, *, coach: Coach | None = None,
    adapter: Store | None = None,
) -> CustomSkill:
    """Return the skill object, shared by the web service and the Lambda handler.

    It has no SDK skill-id check: `skill.hosting.envelope` checks the application id once,
    with every other envelope check, before the skill is invoked.
    """
    coach = coach or build_coach(settings)
    adapter = adapter or build_adapter(settings)
    voiced = settings.voiced()
    if len(voiced) == 1:
        return _one_skill(coach, adapter)
    skills = {settings.voice: _one_skill(coach, adapter)}
    for own in voiced[1:]:  # same routines, handlers and storage; the voice's own manifests
        skills[own.voice] = _one_skill(Coach(own, Catalog(coach.catalog.library, own), coach.timezones,
                                             coach.clock, coach.new_run_id, lambda: coach.complaints), adapter)
    return VoicedSkill(skills, settings)


def _one_skill(coach: Coach, adapter: Store) -> CustomSkill:
    builder = CustomSkillBuilder()
    builder.add_global_request_interceptor(AttachStoreInterceptor(adapter))
    for handler in request_handlers(coach):
        builder.add_request_handler(handler)
    builder.add_global_response_interceptor(SaveUserInterceptor())
    builder.add_exception_handler(ErrorHandler())
    return builder.create()


class VoicedSkill(CustomSkill):
    """Answer each request with the skill whose catalog plays its locale's voice.

    Built only when TRIGGER_COACH_LOCALE_VOICES gives some locale a voice of its own: the
    tracks of each voice have their own lengths, so a run started in en-GB plays (and its
    audio events find) the tracks of the en-GB voice. It is a CustomSkill, so the web
    adapter and the envelope checks take it as they take one skill.
    """

    def __init__(self, skills: dict[str, CustomSkill], settings: Settings) -> None:
        vars(self).update(vars(skills[settings.voice]))  # serializer, skill id, dispatcher of the main voice
        self.skills = skills
        self.voices = settings

    def invoke(self, request_envelope: RequestEnvelope, context: Any) -> ResponseEnvelope:
        """Invoke the skill of the voice that the request's locale speaks with."""
        locale = getattr(request_envelope.request, "locale", None)
        voice = self.voices.voice_for(locale if isinstance(locale, str) else None)
        return self.skills[voice].invoke(request_envelope, context)
