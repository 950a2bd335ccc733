"""Generate the en-US interaction model from skill.alexa.intents and the routines/ library.

`trigger-coach model` writes skill-package/interactionModels/custom/en-US.json and
`trigger-coach model --check` (run by the test command) fails when the committed file and
the routines drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skill.alexa import intents
from skill.config import PROJECT_ROOT
from skill.core.routines import Library

MODEL_PATH = PROJECT_ROOT / "skill-package" / "interactionModels" / "custom" / "en-US.json"
INVOCATION_NAME = "trigger coach"


def routine_slot_values(library: Library) -> list[dict[str, Any]]:
    """Return the ROUTINE slot values: id = routine id, value = spoken name, synonyms."""
    return [
        {"id": r.id, "name": {"value": r.name, "synonyms": list(r.synonyms)}}
        for r in sorted(library.routines, key=lambda r: r.id)
    ]


def build_model(library: Library) -> dict[str, Any]:
    """Return the whole en-US interaction model for this routine library."""
    declared: list[dict[str, Any]] = []
    for intent in intents.ALL:
        entry: dict[str, Any] = {"name": intent.name}
        if intent.custom:
            entry["slots"] = [{"name": s.name, "type": s.type} for s in intent.slots]
        entry["samples"] = list(intent.samples)
        declared.append(entry)
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": INVOCATION_NAME,
                "intents": declared,
                "types": [
                    {"name": intents.ROUTINE.type, "values": routine_slot_values(library)},
                    {"name": intents.PERIOD.type, "values": [
                        {"id": pid, "name": {"value": names[0], "synonyms": names[1:]}}
                        for pid, names in intents.PERIOD_VALUES.items()
                    ]},
                    {"name": intents.LENGTH.type, "values": [
                        {"id": lid, "name": {"value": names[0], "synonyms": list(names[1:])}}
                        for lid, names in intents.LENGTH_VALUES.items()
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
