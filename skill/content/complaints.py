"""Read routines/complaints.json, check it against its schema and the routine library.

This is the one complaints loader: the validator, the interaction-model generator and the
skill all call `load_complaints()`. Like the routine loader it never raises on bad content;
it returns the book it could build together with every problem found.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from skill.core.complaints import ComplaintBook, check_complaints, complaints_from_json
from skill.core.routines import ROUTINES_DIR, Problem, Routine, read_json, schema_validator

if TYPE_CHECKING:
    pass

COMPLAINTS_NAME = "complaints.json"
SCHEMA_NAME = "complaints.schema.json"
SCHEMA_PATH = ROUTINES_DIR / SCHEMA_NAME


def complaints_path(routines_dir: Path | str = ROUTINES_DIR) -> Path:
    """Return where the complaints file of a routines folder lives."""
    return Path(routines_dir) / COMPLAINTS_NAME


def load_complaints(
    path: Path | str, routines: Sequence[Routine], *, check: bool = True,
) -> tuple[ComplaintBook, tuple[Problem, ...]]:
    """Load the complaints file and return the book with every problem found in it.

    With check=True (validate, model, serve) the file must pass its schema and every rule
    of `skill.core.complaints.check_complaints` against `routines`; with check=False
    (request time, like the routine loader) only a file that cannot be read is reported.
    A file that fails is returned as an empty book, so the skill can still start routines.
    """
    path = Path(path)
    if not path.exists():
        return ComplaintBook(source=str(path)), (
            Problem(str(path), "", "exists", f"No complaints file; create {COMPLAINTS_NAME} beside the routines."),)
    data, problem = read_json(path)
    if problem:
        return ComplaintBook(source=str(path)), (problem,)
    if check:
        errors = sorted(schema_validator(SCHEMA_PATH).iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            return ComplaintBook(source=str(path)), tuple(
                Problem(str(path), "".join(f"/{p}" for p in e.absolute_path), "schema", e.message)
                for e in errors)
    try:
        book = complaints_from_json(data, source=str(path))
    except (KeyError, TypeError, AttributeError) as exc:
        return ComplaintBook(source=str(path)), (
            Problem(str(path), "", "schema", f"Not a complaints file ({exc!r}); run 'trigger-coach validate'."),)
    return book, tuple(check_complaints(book, routines)) if check else ()
