"""Load routines from JSON into frozen models, and check them against every content rule.

This is the one routine loader: the skill, the renderer, the interaction-model generator,
the validator and the tests all call `load_library()`. It never raises on bad content;
it returns every problem it found, each with file, JSON pointer and the rule it breaks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import jsonschema

from skill.core.cues import DEFAULT_END_CUE
from skill.core.steps import StepKind, settle_seconds

ROUTINES_DIR = Path(__file__).resolve().parents[2] / "routines"
SCHEMA_PATH = ROUTINES_DIR / "schema.json"
# Files beside the routines that are not routines: their schema, and the complaints file (skill.content).
NOT_ROUTINES = frozenset({"schema.json", "complaints.json", "complaints.schema.json"})

HOLD_MIN_SECONDS = 20
HOLD_MAX_SECONDS = 90
LENGTH_TOLERANCE = 0.20

class Length(StrEnum):
    """How much of a routine plays: all of it, or the quick version derived from it."""

    FULL = "full"
    QUICK = "quick"


class Breath(NamedTuple):
    inhale: int
    exhale: int
    hold: int = 0

    @property
    def seconds(self) -> int:
        """Return the length of one breath cycle."""
        return self.inhale + self.hold + self.exhale


class Step(NamedTuple):
    kind: StepKind
    say: str
    per_side: bool = False
    seconds: int = 0
    pressure: str | None = None
    breath: Breath | None = None
    breaths: int = 0
    stroke_seconds: int = 0
    end_cue: str = DEFAULT_END_CUE
    caution: str | None = None
    settle_override: int | None = None  # the step's own `settle_seconds`, if it sets one
    quick_keep: bool | None = None  # the step's own `quick`: kept or dropped; None: the rule's
    quick_timed: int | None = None  # seconds (or breaths) of its timed part in the quick version
    region: str | None = None  # a place step's spot (skill.core.placements.REGIONS)
    where: str | None = None  # a place step's spot in a few words, for screens

    @property
    def timed_seconds(self) -> int:
        """Return how long the step's timed part runs, after its instruction and settle."""
        timed_by = self.kind.rules.timed_by
        if timed_by == "breaths":
            return self.breaths * self.breath.seconds if self.breath is not None else 0
        return self.seconds if timed_by == "seconds" else 0

    @property
    def settle_seconds(self) -> int:
        """Return the quiet seconds after the last word: the step's own, else its kind's."""
        return settle_seconds(self.kind, self.settle_override)


class Safety(NamedTuple):
    spoken: str
    notes: tuple[str, ...]


class Routine(NamedTuple):
    id: str
    title: str
    name: str
    synonyms: tuple[str, ...]
    area: str
    equipment: tuple[str, ...]
    minutes: int
    intro: str
    safety: Safety
    steps: tuple[Step, ...]
    first_side: str = "right"
    source: str = ""
    length: Length = Length.FULL
    step_numbers: tuple[int, ...] = ()  # each step's index in the file (a derived version's)

    @property
    def key(self) -> str:
        """Return what names this version of the routine: its id, with the length if not full."""
        return self.id if self.length is Length.FULL else f"{self.id}.{self.length}"

    def step_number(self, index: int) -> int:
        """Return the index in the routine file of this version's step `index`."""
        return self.step_numbers[index] if self.step_numbers else index

    @property
    def spoken_names(self) -> tuple[str, ...]:
        """Return the name and every synonym, the phrases a person may say."""
        return (self.name, *self.synonyms)


class Problem(NamedTuple):
    file: str
    pointer: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}#{self.pointer or '/'}: [{self.rule}] {self.message}"


class Library(NamedTuple):
    routines: tuple[Routine, ...]
    problems: tuple[Problem, ...] = ()

    def get(self, routine_id: str) -> Routine | None:
        """Return the routine with this id, or None."""
        return next((r for r in self.routines if r.id == routine_id), None)

    def find(self, spoken: str) -> Routine | None:
        """Return the routine whose name or synonym matches what was said, or None."""
        wanted = normalise(spoken)
        for routine in self.routines:
            if wanted in {normalise(n) for n in (routine.id, *routine.spoken_names)}:
                return routine
        return None


def normalise(phrase: str) -> str:
    """Fold a spoken phrase to lower-case words, for matching names and synonyms."""
    words = re.findall(r"[a-z0-9']+", phrase.lower().replace("-", " "))
    if words and words[-1] == "routine":
        words = words[:-1]
    if words and words[0] in {"my", "the"}:
        words = words[1:]
    return " ".join(words)


@cache
def schema_validator(path: Path = SCHEMA_PATH) -> jsonschema.protocols.Validator:
    """Return a checked JSON Schema validator for the schema file at `path` (loaded once)."""
    import jsonschema  # ~40 ms to import: only the checking path pays for it

    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _pointer(path: Iterable[Any]) -> str:
    return "".join(f"/{part}" for part in path)


def _step_from_json(data: dict[str, Any]) -> Step:
    breath = data.get("breath")
    quick = data.get("quick")
    return Step(
        kind=StepKind(data["kind"]),
        say=data["say"],
        per_side=bool(data.get("per_side", False)),
        seconds=int(data.get("seconds", 0)),
        pressure=data.get("pressure"),
        breath=Breath(breath["in"], breath["out"], breath.get("hold", 0)) if breath else None,
        breaths=int(data.get("breaths", 0)),
        stroke_seconds=int(data.get("stroke_seconds", 0)),
        end_cue=data.get("end_cue", DEFAULT_END_CUE),
        caution=data.get("caution"),
        settle_override=data.get("settle_seconds"),
        quick_keep=None if quick is None else bool(quick),
        quick_timed=next(iter(quick.values()), None) if isinstance(quick, dict) else None,
        region=data.get("region"),
        where=data.get("where"),
    )


def routine_from_json(data: dict[str, Any], source: str = "") -> Routine:
    """Build a Routine from JSON that has already passed the schema."""
    return Routine(
        id=data["id"],
        title=data["title"],
        name=data["name"],
        synonyms=tuple(data["synonyms"]),
        area=data["area"],
        equipment=tuple(data["equipment"]),
        minutes=int(data["minutes"]),
        intro=data["intro"],
        safety=Safety(data["safety"]["spoken"], tuple(data["safety"]["notes"])),
        steps=tuple(_step_from_json(s) for s in data["steps"]),
        first_side=data.get("first_side", "right"),
        source=source,
    )


def read_json(path: Path) -> tuple[Any, Problem | None]:
    """Return a JSON file's data, or a Problem saying why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, Problem(str(path), "", "readable", f"Cannot read the file: {exc.strerror}.")
    except UnicodeDecodeError as exc:
        return None, Problem(str(path), "", "utf-8", f"The file is not UTF-8 text ({exc.reason}).")
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, Problem(
            str(path), "", "json",
            f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
        )


def routine_files(paths: Sequence[Path | str] | None = None) -> list[Path]:
    """Expand files and folders into the routine JSON files they hold (schema excluded)."""
    files: list[Path] = []
    for raw in paths or [ROUTINES_DIR]:
        path = Path(raw)
        if path.is_dir():
            files.extend(p for p in sorted(path.glob("*.json")) if p.name not in NOT_ROUTINES)
        else:
            files.append(path)
    return files


def load_library(paths: Sequence[Path | str] | None = None, *, check: bool = True) -> Library:
    """Load and check every routine under the given files or folders (default: routines/).

    Returns the routines that passed the schema together with every problem found;
    a routine with rule problems is still returned, so the caller decides what to do.
    With check=False (request time: the web service and Lambda, whose routines were
    checked when they were rendered) the schema and content rules are skipped, and a file
    that cannot even be read into a Routine is still reported, not raised.
    """
    routines: list[Routine] = []
    problems: list[Problem] = []
    for path in routine_files(paths):
        if not path.exists():
            problems.append(Problem(str(path), "", "exists", "No such file or folder."))
            continue
        data, problem = read_json(path)
        if problem:
            problems.append(problem)
            continue
        if not check:
            try:
                routines.append(routine_from_json(data, source=str(path)))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                problems.append(Problem(str(path), "", "schema",
                                        f"Not a routine ({exc!r}); run 'trigger-coach validate'."))
            continue
        errors = sorted(schema_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            problems.extend(
                Problem(str(path), _pointer(e.absolute_path), "schema", e.message) for e in errors
            )
            continue
        routines.append(routine_from_json(data, source=str(path)))
    if check:
        from skill.core.validation import check_library  # validation needs the timeline; request time skips it

        problems.extend(check_library(routines))
    return Library(tuple(routines), tuple(problems))
