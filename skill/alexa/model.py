"""Generate the en-US interaction model; its ROUTINE slot values come from routines/.

`trigger-coach model` writes skill-package/interactionModels/custom/en-US.json and
`trigger-coach model --check` (run by the test command) fails when the committed file and
the routines drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skill.config import PROJECT_ROOT
from skill.core.routines import Library

MODEL_PATH = PROJECT_ROOT / "skill-package" / "interactionModels" / "custom" / "en-US.json"
INVOCATION_NAME = "trigger coach"

START_SAMPLES = [
    "start my {routine} routine",
    "start my {routine}",
    "start the {routine} routine",
    "start {routine}",
    "begin my {routine} routine",
    "do my {routine}",
    "do my {routine} routine",
    "do the {routine} routine",
    "roll out my {routine}",
    "roll my {routine}",
    "I want to work on my {routine}",
    "I want to roll out my {routine}",
    "work on my {routine}",
    "let's do my {routine}",
    "let's work on my {routine}",
    "play my {routine} routine",
    "guide me through my {routine} routine",
    "help me loosen my {routine}",
    "massage my {routine}",
    "my {routine} routine",
    "the {routine} routine",
    "{routine}",
]
LIST_SAMPLES = [
    "what routines do you have",
    "what routines are there",
    "which routines do you have",
    "list the routines",
    "list my routines",
    "what can I work on",
    "what areas can you do",
    "what are my options",
]
PROGRESS_SAMPLES = [
    "how did I do this week",
    "how did I do {period}",
    "how am I doing",
    "what's my progress",
    "what is my progress",
    "what's my progress {period}",
    "what did I do {period}",
    "how many sessions did I do {period}",
    "give me my weekly summary",
    "my progress",
]
RESUME_SAMPLES = [
    "resume my routine",
    "continue my routine",
    "carry on with my routine",
    "pick up where I left off",
    "keep going with my routine",
    "finish my routine",
    "resume where I stopped",
]
FORGET_SAMPLES = [
    "forget my history",
    "delete my history",
    "erase my history",
    "clear my history",
    "delete my progress",
    "forget everything about me",
]
PERIODS = {
    "this_week": ["this week", "so far this week"],
    "last_week": ["last week", "the week before"],
    "this_month": ["this month", "so far this month"],
}
BUILT_INS = [
    "AMAZON.PauseIntent", "AMAZON.ResumeIntent", "AMAZON.NextIntent", "AMAZON.PreviousIntent",
    "AMAZON.RepeatIntent", "AMAZON.StartOverIntent", "AMAZON.LoopOnIntent",
    "AMAZON.LoopOffIntent", "AMAZON.ShuffleOnIntent", "AMAZON.ShuffleOffIntent",
    "AMAZON.CancelIntent", "AMAZON.StopIntent", "AMAZON.HelpIntent", "AMAZON.FallbackIntent",
    "AMAZON.NavigateHomeIntent", "AMAZON.YesIntent", "AMAZON.NoIntent",
]


def routine_slot_values(library: Library) -> list[dict[str, Any]]:
    """Return the ROUTINE slot values: id = routine id, value = spoken name, synonyms."""
    return [
        {"id": r.id, "name": {"value": r.name, "synonyms": list(r.synonyms)}}
        for r in sorted(library.routines, key=lambda r: r.id)
    ]


def build_model(library: Library) -> dict[str, Any]:
    """Return the whole en-US interaction model for this routine library."""
    intents: list[dict[str, Any]] = [
        {"name": "StartRoutineIntent",
         "slots": [{"name": "routine", "type": "ROUTINE"}],
         "samples": START_SAMPLES},
        {"name": "ListRoutinesIntent", "slots": [], "samples": LIST_SAMPLES},
        {"name": "ProgressIntent",
         "slots": [{"name": "period", "type": "PERIOD"}],
         "samples": PROGRESS_SAMPLES},
        {"name": "ResumeRoutineIntent", "slots": [], "samples": RESUME_SAMPLES},
        {"name": "ForgetHistoryIntent", "slots": [], "samples": FORGET_SAMPLES},
    ]
    intents += [{"name": name, "samples": []} for name in BUILT_INS]
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": INVOCATION_NAME,
                "intents": intents,
                "types": [
                    {"name": "ROUTINE", "values": routine_slot_values(library)},
                    {"name": "PERIOD", "values": [
                        {"id": pid, "name": {"value": names[0], "synonyms": names[1:]}}
                        for pid, names in PERIODS.items()
                    ]},
                ],
            }
        }
    }


def render_model(library: Library) -> str:
    """Return the model as the exact text committed to the repository."""
    return json.dumps(build_model(library), indent=2, ensure_ascii=False) + "\n"


def write_model(library: Library, path: Path = MODEL_PATH) -> Path:
    """Write the generated model to the skill package."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_model(library), encoding="utf-8")
    return path


def check_model(library: Library, path: Path = MODEL_PATH) -> str | None:
    """Return a sentence describing drift between the committed model and routines/, or None."""
    if not path.exists():
        return f"{path} is missing; run 'trigger-coach model' to generate it."
    if path.read_text(encoding="utf-8") != render_model(library):
        return (f"{path} does not match routines/ (slot values or samples changed); "
                "run 'trigger-coach model' and commit the result.")
    return None
