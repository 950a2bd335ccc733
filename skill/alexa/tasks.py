"""The Alexa Routines action "start a Trigger Coach routine": its task definition and its inputs.

A person adds the task to an Alexa Routine in the Alexa app ("every weekday at 7 pm, start my
upper back routine"). When the Routine runs, Alexa sends a LaunchRequest carrying ``task``:
``name`` (``<skill id>.StartRoutine``), ``version`` and ``input`` (``routine``, and ``length``
if the person chose one). `read_task` turns that into a routine to start at once, or a
`TaskProblem` the handler explains aloud.

The definition file ``skill-package/tasks/StartRoutine.1.json`` (OpenAPI 3, the ASK task
format) is generated from the routine library by `build_task`, so its routine list cannot
drift: `trigger-coach model` writes it with the interaction model, and `model --check`
checks both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skill.config import PROJECT_ROOT
from skill.core.routines import Length

if TYPE_CHECKING:
    from skill.core.routines import Library, Routine

TASK_NAME = "StartRoutine"
TASK_VERSION = "1"  # the ASK format allows positive integers only
TASK_PATH = PROJECT_ROOT / "skill-package" / "tasks" / f"{TASK_NAME}.{TASK_VERSION}.json"
ROUTINE_INPUT, LENGTH_INPUT = "routine", "length"
MAX_QUOTED = 40  # the longest routine id said back; real ones are a few words

# What a problem with a task launch is; the handler says a sentence for each.
NOT_OURS, NO_ROUTINE, UNKNOWN_ROUTINE, BAD_LENGTH = "not_ours", "no_routine", "unknown_routine", "bad_length"


@dataclass(frozen=True)
class TaskStart:
    """A routine a task launch asks for, and the length it names (None: the one chosen last)."""

    routine: Routine
    length: str | None


@dataclass(frozen=True)
class TaskProblem:
    """Why a task launch cannot start anything, and the routine id to say back (cleaned), if any."""

    kind: str
    heard: str | None = None


def is_our_task(name: object, skill_id: str) -> bool:
    """Return whether a task name is this skill's StartRoutine (``<skill id>.StartRoutine``)."""
    return name == f"{skill_id}.{TASK_NAME}"


_ID_NOISE = re.compile(r"[^a-z0-9]+")


def _spoken_id(value: str) -> str | None:
    """Return a routine id as words ("upper-back" -> "upper back"), or None if it is not sayable."""
    words = " ".join(_ID_NOISE.sub(" ", value.lower()).split())
    return words if words and len(words) <= MAX_QUOTED else None


def read_task(task: Any, skill_id: str, library: Library) -> TaskStart | TaskProblem:
    """Return the routine a LaunchRequest's ``task`` asks for, or the problem with it.

    `task` is the SDK's Task (``name``, ``version``, ``input``). Another skill's or another
    version's task, an input that is not an object, a missing or unknown routine and a length
    other than full or quick are each a `TaskProblem`.
    """
    if not is_our_task(getattr(task, "name", None), skill_id) or getattr(task, "version", None) != TASK_VERSION:
        return TaskProblem(NOT_OURS)
    inputs = getattr(task, "input", None)
    inputs = inputs if isinstance(inputs, dict) else {}
    routine_id = inputs.get(ROUTINE_INPUT)
    if not isinstance(routine_id, str) or not routine_id.strip():
        return TaskProblem(NO_ROUTINE)
    routine = library.get(routine_id.strip())
    if routine is None:
        return TaskProblem(UNKNOWN_ROUTINE, _spoken_id(routine_id))
    length = inputs.get(LENGTH_INPUT)
    if length is not None and length not in tuple(Length):
        return TaskProblem(BAD_LENGTH)
    return TaskStart(routine, length)


_SUCCESS = "#/components/schemas/SuccessfulResponse"


def build_task(library: Library) -> dict[str, Any]:
    """Return the task definition (OpenAPI 3, ASK task format) for this routine library."""
    routines = sorted(library.routines, key=lambda r: r.id)
    return {
        "openapi": "3.0.0",
        "info": {
            "title": "Start a Trigger Coach routine",
            "version": TASK_VERSION,
            "x-amzn-alexa-access-scope": "public",
            "x-amzn-display-details": {
                "localizedInfo": {
                    "en-US": {
                        "prompt-name": "Start a Trigger Coach routine",
                        "description": "Starts a guided self-massage routine right away, "
                                       "full length or quick.",
                    },
                },
            },
        },
        "tags": [{"name": "massage"}, {"name": "routine"}],
        "paths": {
            f"/{TASK_NAME}": {
                "summary": "Start a routine",
                "description": "Start one guided self-massage routine at once, with no question first.",
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Input"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "The routine started playing.",
                            "content": {"application/json": {"schema": {"$ref": _SUCCESS}}},
                        },
                        "400": {"description": "The routine or length is not one Trigger Coach has."},
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "properties": {
                        ROUTINE_INPUT: {
                            "type": "string",
                            "enum": [r.id for r in routines],
                            "x-amzn-display-details": {
                                "localizedInfo": {"en-US": {"display-name": "Routine"}},
                                "enum-display-names": {"en-US": {r.id: r.title for r in routines}},
                            },
                        },
                        LENGTH_INPUT: {
                            "type": "string",
                            "enum": [length.value for length in Length],
                            "x-amzn-display-details": {
                                "localizedInfo": {"en-US": {"display-name": "Length"}},
                                "enum-display-names": {"en-US": {"full": "Full length", "quick": "Quick"}},
                            },
                        },
                    },
                    "required": [ROUTINE_INPUT],
                },
                "SuccessfulResponse": {
                    "type": "object", "properties": {"endTime": {"type": "string", "format": "date-time"}},
                },
            },
        },
    }


def render_task(library: Library) -> str:
    """Return the task definition as the exact text committed to the repository."""
    return json.dumps(build_task(library), indent=2, ensure_ascii=False) + "\n"


def write_task(library: Library, path: Path = TASK_PATH) -> Path:
    """Write the generated task definition to the skill package."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_task(library), encoding="utf-8")
    return path


def check_task(library: Library, path: Path = TASK_PATH) -> str | None:
    """Return a sentence describing drift between the committed task file and routines/, or None."""
    if not path.exists():
        return f"{path} is missing; run 'trigger-coach model' to generate it."
    if path.read_text(encoding="utf-8") != render_task(library):
        return (f"{path} does not match routines/ (a routine was added, renamed or removed); "
                "run 'trigger-coach model' and commit the result.")
    return None
