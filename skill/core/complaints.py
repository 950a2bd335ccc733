"""Map what people say hurts to the routines that may help, and spot the signs that need a clinician.

Pure: `complaints_from_json` builds the book from JSON already read and schema-checked by
`skill.content.complaints`; `ComplaintBook.match` turns what was heard into a complaint or a
red flag; `check_complaints` holds the rules the schema cannot express. Matching a red flag
always wins: any red-flag phrase inside what was heard stops the coaching, even when the
rest of the sentence names a complaint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from skill.core.claims import MEDICAL_CLAIMS
from skill.core.routines import Problem, Routine
from skill.text import en_US as speech

EMERGENCY = "emergency"  # call emergency services now
PROMPT = "prompt"  # see a clinician soon, before any self-massage
URGENCIES = (EMERGENCY, PROMPT)

# An explanation says where pain *often* comes from; it never states a cause as fact.
HEDGE = re.compile(r"\b(often|may|might|can|sometimes|commonly)\b", re.I)


class Complaint(NamedTuple):
    """A way people describe discomfort, where it often comes from, and what to offer, in order."""

    id: str
    phrases: tuple[str, ...]
    explanation: str
    routines: tuple[str, ...]


class RedFlag(NamedTuple):
    """A sign that needs medical help instead of self-massage; nothing is started for it."""

    id: str
    phrases: tuple[str, ...]
    about: str  # what it is, as a noun phrase said back: "chest pain or pressure"
    urgency: str  # EMERGENCY or PROMPT


class ComplaintBook(NamedTuple):
    complaints: tuple[Complaint, ...] = ()
    red_flags: tuple[RedFlag, ...] = ()
    source: str = ""

    def get(self, entry_id: str | None) -> Complaint | RedFlag | None:
        """Return the complaint or red flag with this id, or None."""
        return next((e for e in (*self.red_flags, *self.complaints) if e.id == entry_id), None)

    def match(self, heard: str | None, resolved_id: str | None = None) -> Complaint | RedFlag | None:
        """Return what was said: a red flag found anywhere in it first, then the resolved or named complaint.

        `resolved_id` is the id Alexa's entity resolution matched, if any; `heard` is the
        slot's text. Without an exact match, the longest complaint phrase inside the text wins.
        """
        words = phrase_key(heard or "")
        flag = self._red_flag_in(words)
        if flag is not None:
            return flag
        entry = self.get(resolved_id)
        if entry is not None:
            return entry
        if not words:
            return None
        exact = next((c for c in self.complaints if words in map(phrase_key, c.phrases)), None)
        if exact is not None:
            return exact
        inside = [(len(key), c) for c in self.complaints for key in map(phrase_key, c.phrases)
                  if key and _contains(words, key)]
        return max(inside, key=lambda f: f[0])[1] if inside else None

    def _red_flag_in(self, words: str) -> RedFlag | None:
        hits = [(f.urgency == EMERGENCY, len(key), f) for f in self.red_flags
                for key in map(phrase_key, f.phrases) if key and _contains(words, key)]
        return max(hits, key=lambda h: (h[0], h[1]))[2] if hits else None

    def examples(self, count: int = 4) -> list[str]:
        """Return a few complaints' first phrases, spread over the file, each offering a different routine."""
        firsts: dict[str, str] = {}
        for complaint in self.complaints:
            firsts.setdefault(complaint.routines[0], complaint.phrases[0])
        phrases = list(firsts.values())
        if len(phrases) <= count:
            return phrases
        return [phrases[i * len(phrases) // count] for i in range(count)]


def phrase_key(phrase: str) -> str:
    """Fold a spoken phrase to lower-case words without apostrophes or leading fillers ("a", "my", "the")."""
    folded = re.sub(r"['\u2019]", "", phrase.lower()).replace("-", " ")  # "can't" and "cant" alike
    words = re.findall(r"[a-z0-9]+", folded)
    while words and words[0] in speech.PHRASE_FILLERS:
        words = words[1:]
    return " ".join(words)


def _contains(words: str, key: str) -> bool:
    return f" {key} " in f" {words} "


def offers(complaint: Complaint, available: Sequence[str]) -> tuple[str, ...]:
    """Return the complaint's routines this library has, in the order to offer them."""
    return tuple(r for r in complaint.routines if r in available)


def complaints_from_json(data: dict, source: str = "") -> ComplaintBook:
    """Build the book from complaints JSON that has already passed its schema."""
    return ComplaintBook(
        complaints=tuple(
            Complaint(c["id"], tuple(c["phrases"]), c["explanation"], tuple(c["routines"]))
            for c in data["complaints"]
        ),
        red_flags=tuple(
            RedFlag(f["id"], tuple(f["phrases"]), f["about"], f["urgency"])
            for f in data["red_flags"]
        ),
        source=source,
    )


# --- rules the schema cannot express -------------------------------------------------------

def check_complaints(book: ComplaintBook, routines: Sequence[Routine]) -> list[Problem]:
    """Return every problem of the book against this routine library (empty when it is sound)."""
    return [*_unique_ids(book), *_targets_exist(book, routines), *_one_phrase_one_meaning(book, routines),
            *_complaints_not_read_as_red_flags(book), *_explanations(book)]


def _where(book: ComplaintBook, entry: Complaint | RedFlag, field: str = "") -> str:
    group, items = (("complaints", book.complaints) if isinstance(entry, Complaint)
                    else ("red_flags", book.red_flags))
    index = next(i for i, e in enumerate(items) if e is entry)
    return f"/{group}/{index}" + (f"/{field}" if field else "")


def _unique_ids(book: ComplaintBook) -> Iterator[Problem]:
    seen: set[str] = set()
    for entry in (*book.complaints, *book.red_flags):
        if entry.id in seen:
            yield Problem(book.source, _where(book, entry, "id"), "unique-id",
                          f"The id '{entry.id}' is used twice; give each complaint and red flag its own id.")
        seen.add(entry.id)


def _targets_exist(book: ComplaintBook, routines: Sequence[Routine]) -> Iterator[Problem]:
    known = {r.id for r in routines}
    for complaint in book.complaints:
        for i, routine_id in enumerate(complaint.routines):
            if routine_id not in known:
                yield Problem(book.source, _where(book, complaint, f"routines/{i}"), "routine-exists",
                              f"Complaint '{complaint.id}' offers routine '{routine_id}', which is not in "
                              f"the library; use one of: {', '.join(sorted(known))}.")


def _one_phrase_one_meaning(book: ComplaintBook, routines: Sequence[Routine]) -> Iterator[Problem]:
    claimed: dict[str, str] = {}
    for routine in routines:
        for name in (routine.id, *routine.spoken_names):
            claimed.setdefault(phrase_key(name), f"routine '{routine.id}'")
    for entry in (*book.red_flags, *book.complaints):
        kind = "red flag" if isinstance(entry, RedFlag) else "complaint"
        for i, phrase in enumerate(entry.phrases):
            key = phrase_key(phrase)
            owner = claimed.get(key)
            if owner is not None:
                yield Problem(book.source, _where(book, entry, f"phrases/{i}"), "phrase-claimed-once",
                              f"The phrase '{phrase}' of {kind} '{entry.id}' is already claimed by {owner}; "
                              "one utterance must map to one thing, so remove or reword one of them.")
            else:
                claimed[key] = f"{kind} '{entry.id}'"


def _complaints_not_read_as_red_flags(book: ComplaintBook) -> Iterator[Problem]:
    for complaint in book.complaints:
        for i, phrase in enumerate(complaint.phrases):
            flag = book._red_flag_in(phrase_key(phrase))
            if flag is not None:
                yield Problem(book.source, _where(book, complaint, f"phrases/{i}"), "red-flag-wins",
                              f"The phrase '{phrase}' of complaint '{complaint.id}' contains a phrase of red "
                              f"flag '{flag.id}', so it would never start a routine; reword it or drop it.")


def _explanations(book: ComplaintBook) -> Iterator[Problem]:
    for flag in book.red_flags:  # said back in the advice: "<about> can be a sign of ..."
        claim = MEDICAL_CLAIMS.search(flag.about)
        if claim:
            yield Problem(book.source, _where(book, flag, "about"), "no-medical-claims",
                          f"'{claim.group(0)}' in what red flag '{flag.id}' is about is a medical claim; "
                          "name the sign as a person would notice it, e.g. 'a swollen, warm or red calf'.")
    for complaint in book.complaints:
        where = _where(book, complaint, "explanation")
        text = complaint.explanation
        claim = MEDICAL_CLAIMS.search(text)
        if claim:
            yield Problem(book.source, where, "no-medical-claims",
                          f"'{claim.group(0)}' in the explanation of '{complaint.id}' is a medical claim; "
                          "say where such pain often comes from, e.g. 'often comes from', 'may ease'.")
        if not HEDGE.search(text):
            yield Problem(book.source, where, "hedged",
                          f"The explanation of '{complaint.id}' states a cause as fact: {text!r}; "
                          "say 'often', 'may' or 'can', since referred pain is a place to try, not a diagnosis.")
        if len(re.findall(r"[.!?](\s|$)", text)) != 1 or not text.rstrip().endswith("."):
            yield Problem(book.source, where, "one-sentence",
                          f"The explanation of '{complaint.id}' must be one sentence ending in a full stop: {text!r}.")
