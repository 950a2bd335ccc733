"""Plan a track's sound sample by sample: what plays when, and what is said when.

Pure: given a timeline Track and the measured length of every sentence and sound it may
use, return a TrackPlan. The mixer plays the plan; the manifest's transcript comes from it.
All positions are integer samples at SAMPLE_RATE, so a plan is frame-exact and the encoded
file's length can be checked against it.

A track is three parts laid end to end:
  intro  = lead-in, the instruction's sentences with pauses between, then the settle:
           quiet (no word, no tone) for the step's settle seconds, or a short gap when
           the step asks for none
  timed  = exactly `track.seconds` (breathing cues, pace tones, countdown; never longer)
  outro  = a short gap (timed tracks only), the end cue, on the last track the closing
           sentence, and a tail of silence that rounds the track up to whole MP3 frames.
What the timed part says and plays comes from the step kind's rules (skill/core/steps.py).
Spacing rules inside the timed part, in priority order:
  - "And release" ends the part; "Ten more seconds" comes ten seconds before the end; the
    kind's mid cue ("Halfway.") comes only in parts longer than ONE_COUNTDOWN_MAX_SECONDS,
    so a hold of 30 s or less hears one countdown cue, not two;
  - no two spoken cues start closer than CUE_SPACING_SECONDS apart; the words of the
    breath itself ("Breathe in", "and out") are the one exception among themselves, and
    a breath cycle whose words would crowd a cue is played as tones instead;
  - breath words only for the first SPOKEN_BREATH_CYCLES cycles, then tones;
  - tones never sit on top of words: a breath tone is cut short GUARD before a spoken cue
    (or skipped if that leaves less than MIN_TONE_SECONDS), a pace tone near one is skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from skill.core.timeline import SENTENCE_PAUSE_SECONDS, Track
from skill.text import en_US as speech

SAMPLE_RATE = 44_100
# Tracks are whole MP3 frames: libmp3lame (via ffmpeg) pads a final frame shorter than
# ~48 samples, which would make the file longer than planned. See encode.py.
FRAME_SAMPLES = 1152

# Bump when a rule below changes what is heard (or what a plan records for the manifest)
# in a way the constants cannot show.
LAYOUT_VERSION = 4
LEAD_IN_SECONDS = 0.05  # room for the first fade-in; keeps transcript times near track start
GAP_SECONDS = 0.8  # after the instruction of a step that asks for no settle time
CUE_GAP_SECONDS = 0.25  # between the end of a timed part and the end cue
CLOSING_GAP_SECONDS = 0.3  # between the final bell and the closing sentence
TAIL_SECONDS = 0.6  # silence that ends every track
GUARD_SECONDS = 0.25  # breathing and pace sounds keep this far from spoken cues
MIN_TONE_SECONDS = 1.0  # a breath tone cut shorter than this is skipped instead
SPOKEN_BREATH_CYCLES = 2  # cycles that say "Breathe in … and out"; later ones use tones
CUE_SPACING_SECONDS = 8.0  # spoken cues start at least this far apart
ONE_COUNTDOWN_MAX_SECONDS = 30  # a timed part this long or shorter gets no mid cue
TEN_MORE_MIN_SECONDS = 20
WORDLESS_MIN_SECONDS = 5.0  # a span without words this long is marked in the manifest

INHALE_TONE = "inhale"
EXHALE_TONE = "exhale"
STROKE_TONES = ("stroke-up", "stroke-back")  # alternate: one stroke up, one stroke back

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class LayoutError(ValueError):
    """A track cannot be planned: it names a sound or sentence that was not provided."""


@dataclass(frozen=True)
class Segment:
    """One sound placed in a track: speech (name is the text), a cue or a tone."""

    start: int
    length: int
    kind: str  # "speech" | "cue" | "tone"
    name: str

    @property
    def end(self) -> int:
        """Return the sample just after the segment."""
        return self.start + self.length


@dataclass(frozen=True)
class Line:
    """One spoken cue in a transcript: seconds from the start, and the words."""

    t: float
    text: str


@dataclass(frozen=True)
class TrackPlan:
    """The exact sample layout of one track.

    `settle` is the quiet span (start, end) after the instruction's last word when the
    step asks for settle time, else None; `key` identifies the plan's inputs (see plan_key).
    """

    index: int
    segments: tuple[Segment, ...]
    intro: int
    timed: int
    outro: int
    settle: tuple[int, int] | None = None
    key: str = ""

    @property
    def total(self) -> int:
        """Return the track's length in samples."""
        return self.intro + self.timed + self.outro

    @property
    def seconds(self) -> float:
        """Return the track's length in seconds."""
        return self.total / SAMPLE_RATE

    @property
    def wordless(self) -> tuple[tuple[int, int, str], ...]:
        """Return spans of WORDLESS_MIN_SECONDS or more with no words, after the settle.

        Each is (start, end, "silent" or "tones"); a span ends where words or the end cue
        start, so the pacing of the step itself is what shows.
        """
        spans: list[tuple[int, int, str]] = []
        at = 0
        for seg in (s for s in self.segments if s.kind in ("speech", "cue")):
            start = self.settle[1] if self.settle and at == self.settle[0] else at
            if seg.start - start >= samples(WORDLESS_MIN_SECONDS):
                tones = any(t.kind == "tone" and t.start < seg.start and t.end > start for t in self.segments)
                spans.append((start, seg.start, "tones" if tones else "silent"))
            at = max(at, seg.end)
        return tuple(spans)

    def manifest_fields(self) -> dict[str, object]:
        """Return what a manifest records about the plan: key, settle and wordless spans (seconds)."""
        def sec(n: int) -> float:
            return round(n / SAMPLE_RATE, 3)

        return {
            "plan": self.key,
            "settle": [sec(self.settle[0]), sec(self.settle[1])] if self.settle else None,
            "wordless": [[sec(a), sec(b), what] for a, b, what in self.wordless],
        }

    @property
    def transcript(self) -> tuple[Line, ...]:
        """Return every spoken segment as a Line, in time order."""
        return tuple(
            Line(round(s.start / SAMPLE_RATE, 3), s.name) for s in self.segments if s.kind == "speech"
        )


def samples(seconds: float) -> int:
    """Convert seconds to a whole number of samples."""
    return round(seconds * SAMPLE_RATE)


def sentences(text: str) -> tuple[str, ...]:
    """Split text into sentences, the unit the voice speaks and the cache stores."""
    return tuple(s for s in (p.strip() for p in _SENTENCE_END.split(text.strip())) if s)


def instruction(track: Track) -> tuple[str, ...]:
    """Return the sentences spoken before the settle and the timed part."""
    said = sentences(track.text)
    if track.kind.rules.strokes:
        said += sentences(speech.ROLL_PACE)
    return said


def closing(track: Track) -> tuple[str, ...]:
    """Return the sentences spoken after the end cue (only on the routine's last track)."""
    return sentences(speech.ROUTINE_DONE) if track.is_last else ()


def timed_phrases(track: Track) -> tuple[str, ...]:
    """Return the cue phrases the timed part may say (some may be skipped for room)."""
    rules = track.kind.rules
    phrases: list[str] = []
    if rules.breath_cues and track.breath is not None:
        phrases += [speech.BREATH_IN, speech.BREATH_OUT]
    if rules.mid_cue:
        phrases.append(rules.mid_cue)
    if rules.countdown:
        phrases += [speech.TEN_MORE, speech.RELEASE]
    return tuple(phrases)


def spoken_texts(track: Track) -> tuple[str, ...]:
    """Return every text the track may speak, each once: what the voice must synthesize."""
    return tuple(dict.fromkeys((*instruction(track), *timed_phrases(track), *closing(track))))


def fixed_sounds(track: Track) -> tuple[str, ...]:
    """Return the names of fixed-length sounds the track uses (its end cue, pace tones)."""
    return (track.end_cue, *(STROKE_TONES if track.kind.rules.strokes else ()))


def timed_samples(track: Track) -> int:
    """Return the exact length of the track's timed part in samples."""
    return samples(track.seconds) if track.kind.rules.timed else 0


def settle_samples(track: Track) -> int:
    """Return the quiet after the instruction: the step's settle, or the short gap."""
    return samples(max(GAP_SECONDS, track.settle_seconds))


def fingerprint(track: Track) -> dict[str, object]:
    """Return everything from the track and this module that shapes the plan, as JSON data.

    Measured speech lengths are not here: they follow from the texts and the voice key.
    """
    breath = track.breath
    return {
        "kind": track.kind,
        "text": track.text,
        "settle_seconds": track.settle_seconds,
        "seconds": track.seconds,
        "breath": [breath.inhale, breath.hold, breath.exhale] if breath else None,
        "pressure": track.pressure,
        "stroke_seconds": track.stroke_seconds,
        "end_cue": track.end_cue,
        "is_last": track.is_last,
        "said": list(spoken_texts(track)),
        "layout": [
            LAYOUT_VERSION, SAMPLE_RATE, FRAME_SAMPLES, LEAD_IN_SECONDS, SENTENCE_PAUSE_SECONDS,
            GAP_SECONDS, CUE_GAP_SECONDS, CLOSING_GAP_SECONDS, TAIL_SECONDS, GUARD_SECONDS,
            MIN_TONE_SECONDS, SPOKEN_BREATH_CYCLES, CUE_SPACING_SECONDS,
            ONE_COUNTDOWN_MAX_SECONDS, TEN_MORE_MIN_SECONDS,
        ],
    }


def plan_key(track: Track) -> str:
    """Return a short hash of the track's fingerprint: equal keys, equal plans for one voice."""
    data = json.dumps(fingerprint(track), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def rendered_from(plans: Sequence[str], tracks: Sequence[Track]) -> bool:
    """Return True if a manifest's plan keys are exactly those of these timeline tracks."""
    return list(plans) == [plan_key(t) for t in tracks]


def _length(lengths: Mapping[str, int], name: str, what: str) -> int:
    try:
        return lengths[name]
    except KeyError:
        if what == "cue":
            known = ", ".join(sorted(n for n in lengths if n not in STROKE_TONES)) or "none"
            raise LayoutError(
                f"Cue {name!r} is not in the cue catalogue (skill/core/cues.py); use one of: {known}."
            ) from None
        raise LayoutError(f"No measured length was given for the {what} {name!r}.") from None


def _speak_in_turn(texts: tuple[str, ...], start: int, lengths: Mapping[str, int]) -> tuple[list[Segment], int]:
    """Place sentences one after another with sentence pauses; return them and the end."""
    pause = samples(SENTENCE_PAUSE_SECONDS)
    placed: list[Segment] = []
    at = start
    for i, text in enumerate(texts):
        if i:
            at += pause
        n = _length(lengths, text, "sentence")
        placed.append(Segment(at, n, "speech", text))
        at += n
    return placed, at


class _TimedPart:
    """Collect non-overlapping sounds inside [0, total), spoken cues first."""

    def __init__(self, total: int):
        self.total = total
        self.guard = samples(GUARD_SECONDS)
        self.spacing = samples(CUE_SPACING_SECONDS)
        self.spoken: list[tuple[Segment, bool]] = []  # (segment, is a breath word)
        self.other: list[Segment] = []

    def _clear(self, seg: Segment) -> bool:
        """Return True if seg keeps GUARD away from spoken cues and overlaps no other sound."""
        g = self.guard
        return all(seg.end + g <= s.start or s.end + g <= seg.start for s, _ in self.spoken) and all(
            seg.end <= s.start or s.end <= seg.start for s in self.other
        )

    def _spaced(self, seg: Segment, breath: bool) -> bool:
        """Return True if seg starts CUE_SPACING from every spoken cue (breath words: from cues)."""
        return all(abs(seg.start - s.start) >= self.spacing
                   for s, was_breath in self.spoken if not (breath and was_breath))

    def fits(self, text: str, start: int, length: int, *, breath: bool = False) -> Segment | None:
        """Return the spoken segment if it fits at start without crowding anything, else None."""
        seg = Segment(start, length, "speech", text)
        if start < 0 or seg.end > self.total or not self._clear(seg) or not self._spaced(seg, breath):
            return None
        return seg

    def say(self, text: str, start: int, length: int, *, clamp: bool) -> bool:
        """Place a spoken cue at start (clamped inside the part if asked); return success."""
        if clamp:
            start = max(0, min(start, self.total - length))
        seg = self.fits(text, start, length)
        if seg is not None:
            self.spoken.append((seg, False))
        return seg is not None

    def say_breath(self, words: list[Segment]) -> bool:
        """Place the words of one breath cycle together, or none of them; return success."""
        before = len(self.spoken)
        for w in words:
            if self.fits(w.name, w.start, w.length, breath=True) is None:
                del self.spoken[before:]
                return False
            self.spoken.append((w, True))
        return True

    def sound(self, kind: str, name: str, start: int, length: int, min_length: int) -> None:
        """Place a tone, cut at the part's end or GUARD before the next spoken cue; skip it
        if that leaves less than min_length or it starts too close to speech."""
        later = [s.start - self.guard for s, _ in self.spoken if s.start > start]
        length = min(length, self.total - start, *(end - start for end in later))
        seg = Segment(start, length, kind, name)
        if length >= min_length and self._clear(seg):
            self.other.append(seg)

    def segments(self, offset: int) -> list[Segment]:
        """Return every placed sound, shifted by offset samples."""
        placed = [s for s, _ in self.spoken] + self.other
        return [Segment(s.start + offset, s.length, s.kind, s.name) for s in placed]


def _countdown(part: _TimedPart, track: Track, lengths: Mapping[str, int]) -> None:
    rules = track.kind.rules
    release = _length(lengths, speech.RELEASE, "sentence")
    part.say(speech.RELEASE, part.total - release, release, clamp=False)
    if track.seconds >= TEN_MORE_MIN_SECONDS:
        part.say(speech.TEN_MORE, part.total - samples(10), _length(lengths, speech.TEN_MORE, "sentence"),
                 clamp=True)
    if rules.mid_cue and track.seconds > ONE_COUNTDOWN_MAX_SECONDS:
        part.say(rules.mid_cue, part.total // 2, _length(lengths, rules.mid_cue, "sentence"), clamp=True)


def _breathing(part: _TimedPart, track: Track, lengths: Mapping[str, int]) -> None:
    breath = track.breath
    assert breath is not None
    cycle = samples(breath.seconds)
    if cycle <= 0:
        return
    inhale, exhale = samples(breath.inhale), samples(breath.exhale)
    out_at = samples(breath.inhale + breath.hold)
    min_tone = samples(MIN_TONE_SECONDS)
    phases = ((speech.BREATH_IN, 0, inhale, INHALE_TONE), (speech.BREATH_OUT, out_at, exhale, EXHALE_TONE))
    for k, start in enumerate(range(0, part.total, cycle)):
        inside = [(text, start + offset, phase, tone) for text, offset, phase, tone in phases
                  if start + offset < part.total]
        words = [Segment(at, _length(lengths, text, "sentence"), "speech", text) for text, at, _, _ in inside]
        if k < SPOKEN_BREATH_CYCLES and words and part.say_breath(words):
            continue
        for _text, at, phase, tone in inside:
            part.sound("tone", tone, at, phase, min_tone)


def _strokes(part: _TimedPart, track: Track, lengths: Mapping[str, int]) -> None:
    every = samples(track.stroke_seconds)
    if every <= 0:
        return
    for k, start in enumerate(range(0, part.total, every)):
        name = STROKE_TONES[k % 2]
        n = _length(lengths, name, "tone")
        if start + n <= part.total:
            part.sound("tone", name, start, n, n)


def plan_track(track: Track, speech_lengths: Mapping[str, int], sound_lengths: Mapping[str, int]) -> TrackPlan:
    """Lay out a track from the measured length (in samples) of its sentences and sounds.

    `speech_lengths` maps every text in `spoken_texts(track)` to its length; `sound_lengths`
    maps cue and tone names (the cue catalogue plus the pace tones) to theirs. Raise
    LayoutError if the track's end cue is not among the sounds.
    """
    rules = track.kind.rules
    segments, said_end = _speak_in_turn(instruction(track), samples(LEAD_IN_SECONDS), speech_lengths)
    intro = said_end + settle_samples(track)

    timed = timed_samples(track)
    part = _TimedPart(timed)
    if rules.countdown:
        _countdown(part, track, speech_lengths)
    if rules.breath_cues and track.breath is not None:
        _breathing(part, track, speech_lengths)
    if rules.strokes:
        _strokes(part, track, sound_lengths)
    segments += part.segments(intro)

    at = intro + timed + (samples(CUE_GAP_SECONDS) if timed else 0)
    cue = _length(sound_lengths, track.end_cue, "cue")
    segments.append(Segment(at, cue, "cue", track.end_cue))
    at += cue
    if track.is_last:
        said, at = _speak_in_turn(closing(track), at + samples(CLOSING_GAP_SECONDS), speech_lengths)
        segments += said
    total = -(-(at + samples(TAIL_SECONDS)) // FRAME_SAMPLES) * FRAME_SAMPLES
    return TrackPlan(
        index=track.index,
        segments=tuple(sorted(segments, key=lambda s: s.start)),
        intro=intro,
        timed=timed,
        outro=total - intro - timed,
        settle=(said_end, intro) if track.settle_seconds else None,
        key=plan_key(track),
    )
