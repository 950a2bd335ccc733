"""Generate the en-US interaction model from skill.alexa.intents, the routines/ library and its complaints file.

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
from skill.content.complaints import complaints_path, load_complaints
from skill.core.complaints import ComplaintBook
from skill.core.routines import Library

MODEL_PATH = PROJECT_ROOT / "skill-package" / "interactionModels" / "custom" / "en-US.json"
INVOCATION_NAME = "trigger coach"


def routine_slot_values(library: Library) -> list[dict[str, Any]]:
    """Return the ROUTINE slot values: id = routine id, value = spoken name, synonyms."""
    return [
        {"id": r.id, "name": {"value": r.name, "synonyms": list(r.synonyms)}}
        for r in sorted(library.routines, key=lambda r: r.id)
    ]


def spoken_values(values: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """Return slot values from {id: (spoken value, synonyms...)}."""
    return [{"id": vid, "name": {"value": names[0], "synonyms": list(names[1:])}}
            for vid, names in values.items()]


def complaint_slot_values(book: ComplaintBook) -> list[dict[str, Any]]:
    """Return the COMPLAINT slot values: id = complaint or red-flag id, value = first phrase, synonyms."""
    return spoken_values({e.id: tuple(e.phrases) for e in (*book.complaints, *book.red_flags)})


def _default_complaints(library: Library) -> ComplaintBook:
    return load_complaints(complaints_path(), library.routines, check=False)[0]


def build_model(library: Library, complaints: ComplaintBook | None = None) -> dict[str, Any]:
    """Return the whole en-US interaction model for this routine library and complaints (default: routines/)."""
    complaints = complaints if complaints is not None else _default_complaints(library)
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
                    {"name": intents.PERIOD.type, "values": spoken_values(intents.PERIOD_VALUES)},
                    {"name": intents.FEELING.type, "values": spoken_values(intents.FEELING_VALUES)},
                    {"name": intents.COMPLAINT.type, "values": complaint_slot_values(complaints)},
                    {"name": intents.LENGTH.type, "values": spoken_values(intents.LENGTH_VALUES)},
                    {"name": intents.RECURRENCE.type, "values": spoken_values(intents.RECURRENCE_VALUES)},
                ],
            }
        }
    }


def render_model(library: Library, complaints: ComplaintBook | None = None) -> str:
    """Return the model as the exact text committed to the repository."""
    return json.dumps(build_model(library, complaints), indent=2, ensure_ascii=False) + "\n"


def write_model(library: Library, complaints: ComplaintBook | None = None, path: Path = MODEL_PATH) -> Path:
    """Write the generated model to the skill package."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_model(library, complaints), encoding="utf-8")
    return path


def check_model(
    library: Library, complaints: ComplaintBook | None = None, path: Path = MODEL_PATH,
) -> str | None:
    """Return a sentence describing drift between the committed model and routines/, or None."""
    if not path.exists():
        return f"{path} is missing; run 'trigger-coach model' to generate it."
    if path.read_text(encoding="utf-8") != render_model(library, complaints):
        return (f"{path} does not match routines/ (slot values, complaints or samples changed); "
                "run 'trigger-coach model' and commit the result.")
    return None
