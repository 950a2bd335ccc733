"""Name the cue sounds a routine may use, with the recipe each is synthesized from.

The recipes are plain data so that the validator (pure) can check that a routine only
references cues that exist, and the renderer can synthesize them deterministically.
A recipe is a list of notes; each note is (start seconds, frequency Hz, length seconds,
gain dB). Partials add a soft bell-like colour.
"""

from __future__ import annotations

from typing import NamedTuple


class Note(NamedTuple):
    start: float
    hz: float
    seconds: float
    gain_db: float = 0.0


class Cue(NamedTuple):
    name: str
    notes: tuple[Note, ...]
    level_db: float  # peak dBFS; its short-term loudness lands 13-15 dB under speech at -15 LUFS
    partials: tuple[tuple[float, float], ...] = ((2.0, -12.0), (3.01, -20.0))

    @property
    def seconds(self) -> float:
        """Return the cue's length, from its first note's start to its last note's end."""
        return max(n.start + n.seconds for n in self.notes)


CUES: dict[str, Cue] = {
    cue.name: cue
    for cue in (
        # Closes an ordinary step: one soft note.
        Cue("chime", (Note(0.0, 880.0, 1.2),), level_db=-12.0),
        # Marks a change of side: two rising notes.
        Cue("switch", (Note(0.0, 660.0, 0.6), Note(0.35, 880.0, 1.0)), level_db=-12.0),
        # Closes the whole routine: a low, longer bell.
        Cue("bell", (Note(0.0, 523.25, 2.2), Note(0.0, 784.0, 2.2, -6.0)), level_db=-11.0),
        # A very quiet tick used for the last few seconds of a countdown.
        Cue("tick", (Note(0.0, 1320.0, 0.08),), level_db=-18.0, partials=()),
    )
}

DEFAULT_END_CUE = "chime"
SWITCH_CUE = "switch"
FINAL_CUE = "bell"
