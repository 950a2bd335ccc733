"""Generate one interaction model per locale, and the store listing, from intents, routines and text.

Intent names and slots come from skill.alexa.intents, slot values from the routines/ library
and its complaints file, and each locale's own words (invocation name, extra synonyms and
samples, the store listing) from its skill.text module. `trigger-coach model` writes
skill-package/interactionModels/custom/<locale>.json for every locale and the
publishing-information locales of skill-package/skill.json; `trigger-coach model --check`
(run by the test command) fails when any of them drifts from what would be generated.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skill import text
from skill.alexa import intents
from skill.config import PROJECT_ROOT
from skill.content.complaints import complaints_path, load_complaints
from skill.core.complaints import ComplaintBook
from skill.core.routines import Library

if TYPE_CHECKING:
    from collections.abc import Sequence

PACKAGE_DIR = PROJECT_ROOT / "skill-package"
MODEL_DIR = PACKAGE_DIR / "interactionModels" / "custom"
MODEL_PATH = MODEL_DIR / f"{text.BASE}.json"
SKILL_JSON = PACKAGE_DIR / "skill.json"
INVOCATION_NAME = text.for_locale(text.BASE).INVOCATION_NAME
# Where the skill is offered, by locale: the country part of each locale we have text for.
COUNTRIES = tuple(sorted({locale.split("-")[1] for locale in text.LOCALES}))


def model_path(locale: str, folder: Path = MODEL_DIR) -> Path:
    """Return where a locale's interaction model lives."""
    return Path(folder) / f"{locale}.json"


def routine_words(library: Library) -> dict[str, tuple[str, ...]]:
    """Return the ROUTINE slot's words by routine id: the spoken name, then its synonyms."""
    return {r.id: (r.name, *r.synonyms) for r in sorted(library.routines, key=lambda r: r.id)}


def complaint_words(book: ComplaintBook) -> dict[str, tuple[str, ...]]:
    """Return the COMPLAINT slot's words by complaint or red-flag id: its phrases, the first one the value."""
    return {e.id: tuple(e.phrases) for e in (*book.complaints, *book.red_flags)}


def spoken_values(values: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """Return slot values from {id: (spoken value, synonyms...)}."""
    return [{"id": vid, "name": {"value": names[0], "synonyms": list(names[1:])}}
            for vid, names in values.items()]


def _default_complaints(library: Library) -> ComplaintBook:
    return load_complaints(complaints_path(), library.routines, check=False)[0]


def slot_words(library: Library, complaints: ComplaintBook, locale: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """Return every slot type's words in a locale, by slot type and value id, its synonyms added.

    ROUTINE and COMPLAINT come from routines/, the others are the text's SLOT_VALUES (which
    already hold the locale's MODEL_SYNONYMS). A synonym for a value id or slot type the model
    does not have is an error naming the file to fix.
    """
    said = text.for_locale(locale)
    fix = f"fix MODEL_SYNONYMS in skill/text/{locale.replace('-', '_')}.py"
    from_routines = {intents.ROUTINE.type: routine_words(library), intents.COMPLAINT.type: complaint_words(complaints)}
    words = {**from_routines, **said.SLOT_VALUES}
    unknown = sorted(set(said.MODEL_SYNONYMS) - set(words))
    if unknown:
        raise ValueError(f"The {locale} text adds synonyms to slot type(s) {unknown}, which the model does not "
                         f"have (known: {sorted(words)}); {fix}.")
    for slot_type, extra in said.MODEL_SYNONYMS.items():
        unknown = sorted(set(extra) - set(words[slot_type]))
        if unknown:
            raise ValueError(f"The {locale} text adds synonyms to {slot_type} value(s) {unknown}, which the model "
                             f"does not have (known: {sorted(words[slot_type])}); {fix}.")
    return {**said.SLOT_VALUES, **{slot_type: text.added_words(values, said.MODEL_SYNONYMS.get(slot_type, {}))
                                   for slot_type, values in from_routines.items()}}


# The slot types in the order each model lists them.
SLOT_TYPES = (intents.ROUTINE.type, intents.PERIOD.type, intents.FEELING.type, intents.COMPLAINT.type,
              intents.LENGTH.type, intents.RECURRENCE.type)


def build_model(library: Library, complaints: ComplaintBook | None = None,
                locale: str = text.BASE) -> dict[str, Any]:
    """Return a locale's whole interaction model for this routine library and complaints (default: routines/)."""
    complaints = complaints if complaints is not None else _default_complaints(library)
    said = text.for_locale(locale)
    custom = {i.name for i in intents.CUSTOM}
    unknown = sorted(set(said.MODEL_SAMPLES) - custom)
    if unknown:
        raise ValueError(f"The {locale} text adds samples to intent(s) {unknown}, which are not custom intents "
                         f"in skill/alexa/intents.py; fix MODEL_SAMPLES in skill/text/{locale.replace('-', '_')}.py.")
    missing = sorted(custom - set(said.INTENT_SAMPLES))
    if missing:
        raise ValueError(f"The {locale} text has no samples for intent(s) {missing}; add them to INTENT_SAMPLES "
                         "in skill/text/en_US.py.")
    declared: list[dict[str, Any]] = []
    for intent in intents.ALL:
        entry: dict[str, Any] = {"name": intent.name}
        if intent.custom:
            entry["slots"] = [{"name": s.name, "type": s.type} for s in intent.slots]
        entry["samples"] = list(said.INTENT_SAMPLES.get(intent.name, ()))
        declared.append(entry)
    words = slot_words(library, complaints, locale)
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": said.INVOCATION_NAME,
                "intents": declared,
                "types": [{"name": name, "values": spoken_values(words[name])} for name in SLOT_TYPES],
            }
        }
    }


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_model(library: Library, complaints: ComplaintBook | None = None, locale: str = text.BASE) -> str:
    """Return a locale's model as the exact text committed to the repository."""
    return _json(build_model(library, complaints, locale))


def store_listing(locale: str, icons: dict[str, str]) -> dict[str, Any]:
    """Return a locale's skill.json publishing information: name, summary, description, examples, keywords."""
    said = text.for_locale(locale)
    return {
        "name": said.STORE_NAME,
        "summary": said.STORE_SUMMARY,
        "description": said.STORE_DESCRIPTION,
        "examplePhrases": list(said.STORE_EXAMPLES),
        "keywords": list(said.STORE_KEYWORDS),
        **icons,
    }


def render_skill_json(current: dict[str, Any], locales: Sequence[str] = text.LOCALES) -> str:
    """Return skill.json with its per-locale publishing and privacy entries generated; the rest is kept.

    Icons and privacy links are not words: a locale that has none yet takes en-US's.
    """
    manifest = current["manifest"]
    publishing = manifest["publishingInformation"]
    privacy = manifest["privacyAndCompliance"]
    old_listings, old_privacy = publishing.get("locales", {}), privacy.get("locales", {})
    icon_keys = ("smallIconUri", "largeIconUri")
    base_icons = {k: v for k, v in old_listings.get(text.BASE, {}).items() if k in icon_keys}
    listings, links = {}, {}
    for locale in locales:
        own = old_listings.get(locale, {})
        icons = {k: own.get(k, base_icons.get(k)) for k in icon_keys if k in own or k in base_icons}
        listings[locale] = store_listing(locale, icons)
        links[locale] = old_privacy.get(locale, old_privacy.get(text.BASE, {}))
    publishing["locales"] = listings
    publishing["distributionCountries"] = list(COUNTRIES)
    privacy["locales"] = links
    return _json(current)


def write_model(library: Library, complaints: ComplaintBook | None = None, folder: Path = MODEL_DIR,
                skill_json: Path = SKILL_JSON) -> list[Path]:
    """Write every locale's generated model and the listings in skill.json; return the paths written."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    written = []
    for locale in text.LOCALES:
        path = model_path(locale, folder)
        path.write_text(render_model(library, complaints, locale), encoding="utf-8")
        written.append(path)
    current = json.loads(Path(skill_json).read_text(encoding="utf-8"))
    Path(skill_json).write_text(render_skill_json(current), encoding="utf-8")
    return [*written, Path(skill_json)]


def check_model(
    library: Library, complaints: ComplaintBook | None = None, folder: Path = MODEL_DIR,
    skill_json: Path = SKILL_JSON,
) -> str | None:
    """Return sentences describing drift between the committed models or listings and the sources, or None."""
    drift = []
    for locale in text.LOCALES:
        path = model_path(locale, folder)
        if not path.exists():
            drift.append(f"{path} is missing; run 'trigger-coach model' to generate it.")
        elif path.read_text(encoding="utf-8") != render_model(library, complaints, locale):
            drift.append(f"{path} does not match routines/ and skill/text/ (slot values, complaints, samples or "
                         "synonyms changed); run 'trigger-coach model' and commit the result.")
    committed = json.loads(Path(skill_json).read_text(encoding="utf-8"))
    if committed != json.loads(render_skill_json(copy.deepcopy(committed))):  # its layout is free
        drift.append(f"{skill_json} publishing information does not match skill/text/ (store listing or locales); "
                     "run 'trigger-coach model' and commit the result.")
    return " ".join(drift) or None
