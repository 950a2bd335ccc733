"""Render a short routine for real (Piper voice, ffmpeg) and check the files that come out.

Every track is decoded with ffmpeg and measured: length against the plan, loud speech,
quiet holds. Levels are measured with an independent meter (ffmpeg's ebur128 filter with
true peak, tests/loudness.py) on the decoded samples: every speech passage at -16 to -14
LUFS, true peak at most -1 dBTP, cues and tones well under the speech in short-term
loudness. Re-renders are counted on the voice and encoder objects: unchanged means no
synthesis and no encoding.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from skill.config import Settings
from skill.core.routines import Routine, routine_from_json
from skill.core.timeline import expand
from skill.render import load_manifest, mix, render_library, render_preview, render_routine
from skill.render.cache import Store
from skill.render.encode import Mp3Encoder, decode
from skill.render.layout import SAMPLE_RATE
from skill.render.progress import ProgressBar, ProgressEvent
from skill.render.tracks import Renderer, RenderError
from skill.render.voices import PiperVoice, VoiceError, make_voice
from tests.loudness import measure

SHORT = {
    "id": "test-short",
    "title": "Short test",
    "name": "short test",
    "synonyms": ["short", "tiny test"],
    "area": "upper back",
    "equipment": ["tennis ball"],
    "minutes": 5,
    "intro": "A short routine that exists only for tests of the renderer.",
    "safety": {"spoken": "Stop if you feel sharp pain, numbness or tingling.", "notes": ["n"] * 5},
    "steps": [
        {"kind": "position", "say": "Lie on your back with your knees bent."},
        {"kind": "hold", "per_side": True, "say": "Rest on the ball on the {side} side.",
         "seconds": 30, "pressure": "moderate", "breath": {"in": 3, "out": 4}},
        {"kind": "switch", "say": "Now move the ball to your {side} side."},
        {"kind": "breathe", "say": "Finish with easy breaths.", "breaths": 2,
         "breath": {"in": 3, "out": 4}},
    ],
}


def routine(**step_changes: object) -> Routine:
    data = copy.deepcopy(SHORT)
    for key, value in step_changes.items():
        index, field = key.split("__")
        data["steps"][int(index[1:])][field] = value
    return routine_from_json(data)


def rms_db(x: np.ndarray) -> float:
    x = x.astype(np.float64) / 32768
    return 20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-12)


@pytest.fixture(scope="module")
def voice() -> PiperVoice:
    return PiperVoice()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, voice):
    """Render the short routine once; return settings, manifest and each track's plan."""
    settings = Settings(audio_dir=tmp_path_factory.mktemp("audio"))
    manifest = render_routine(routine(), settings, voice=voice)
    calls = voice.calls
    renderer = Renderer(settings, voice)
    plans = [renderer.plan(t) for t in expand(routine())]
    assert voice.calls == calls, "planning from a warm sentence cache synthesizes nothing"
    decoded = [decode(settings.tracks_dir / t.file) for t in manifest.tracks]
    return settings, manifest, plans, decoded


@pytest.fixture
def fresh(tmp_path, rendered) -> Settings:
    """Return settings with an empty track folder and the module's warm sentence cache."""
    shutil.copytree(rendered[0].cache_dir, tmp_path / "cache")
    return Settings(audio_dir=tmp_path)


def span(x: np.ndarray, start: int, end: int) -> np.ndarray:
    return x[max(0, start):max(0, end)]


def test_every_track_decodes_to_its_planned_length(rendered):
    _settings, manifest, plans, decoded = rendered
    assert [t.kind for t in manifest.tracks] == ["position", "hold", "switch", "hold", "breathe"]
    for entry, plan, pcm in zip(manifest.tracks, plans, decoded, strict=True):
        assert abs(len(pcm) - plan.total) / SAMPLE_RATE < 0.1
        assert len(pcm) == plan.total  # in fact sample-exact: gapless MP3, whole frames
        assert abs(entry.duration_ms / 1000 - plan.seconds) < 0.01


def test_the_timed_part_of_each_track_lasts_its_steps_seconds(rendered):
    _settings, _manifest, plans, _decoded = rendered
    assert [p.timed / SAMPLE_RATE for p in plans] == [0, 30, 0, 30, 14]


def test_speech_is_loud_and_hold_gaps_are_quiet_except_cues(rendered):
    _settings, _manifest, plans, decoded = rendered
    for plan, pcm in zip(plans, decoded, strict=True):
        covered = np.zeros(len(pcm), dtype=bool)
        for seg in plan.segments:
            covered[max(0, seg.start - 2000):seg.end + 2000] = True  # MP3 smears a little
            if seg.kind == "speech":
                assert rms_db(span(pcm, seg.start, seg.end)) > -30, seg.name
        timed = np.zeros(len(pcm), dtype=bool)
        timed[plan.intro:plan.intro + plan.timed] = True
        gaps = pcm[timed & ~covered]
        if len(gaps):
            assert rms_db(gaps) < -60


def test_every_speech_passage_measures_between_minus_16_and_minus_14_lufs_after_decoding(rendered):
    _settings, _manifest, plans, decoded = rendered
    levels = []
    for plan, pcm in zip(plans, decoded, strict=True):
        for start, end in mix.passages(plan):
            levels.append((plan.index, round(start / SAMPLE_RATE, 2), measure(span(pcm, start, end)).integrated))
    assert len(levels) >= 10
    assert all(-16.0 <= lufs <= -14.0 for *_, lufs in levels), levels
    assert max(lufs for *_, lufs in levels) - min(lufs for *_, lufs in levels) <= 1.5, levels


def test_the_true_peak_of_every_decoded_track_is_at_most_minus_one_dbtp(rendered):
    *_, decoded = rendered
    peaks = [measure(pcm).true_peak for pcm in decoded]
    assert all(peak <= -1.0 for peak in peaks), peaks


def test_cues_and_tones_sit_at_least_12_db_under_the_speech_in_short_term_loudness(rendered):
    # A cue's loudest 3 s window, heard among quiet, against its track's quietest passage.
    _settings, _manifest, plans, decoded = rendered
    heard = set()
    for plan, pcm in zip(plans, decoded, strict=True):
        passages = [measure(span(pcm, a, b)).integrated for a, b in mix.passages(plan)]
        for seg in plan.segments:
            if seg.kind != "speech":
                heard.add(seg.name)
                cue = measure(span(pcm, seg.start, seg.end)).short_term_max
                assert cue <= min(passages) - 12.0, (plan.index, seg.name, cue, passages)
                assert cue > -45.0, f"the {seg.name} is still heard ({cue} LUFS short-term)"
    assert {"chime", "switch", "bell", "exhale"} <= heard


def test_the_limiter_turns_a_too_loud_passage_down_smoothly_instead_of_clipping_it():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    loud = (2.0 * np.sin(2 * np.pi * 220 * t) * np.minimum(1.0, t * 8)).astype(np.float32)  # +6 dBFS
    out = mix.limit(loud)
    assert mix.true_peak(out) <= mix.PEAK_CEILING_DBTP + 0.05
    # A clipper would flatten each crest: its gain would swing within every cycle. The
    # limiter's gain is one smooth curve: constant over the steady tone, gliding elsewhere.
    steady = np.abs(loud[SAMPLE_RATE // 4:]) > 0.5
    gain = out[SAMPLE_RATE // 4:][steady] / loud[SAMPLE_RATE // 4:][steady]
    assert gain.max() - gain.min() < 0.01 * gain.mean()
    assert 20 * np.log10(gain.mean()) < mix.PEAK_CEILING_DBTP - 6.0 + 0.1
    moving = np.abs(loud) > 0.05
    assert np.max(np.abs(np.diff(out[moving] / loud[moving]))) < 0.02
    quiet = loud / 8
    assert np.array_equal(mix.limit(quiet), quiet)


def test_the_encoder_lowers_the_ceiling_where_the_codec_lifted_a_peak_until_the_decoded_file_is_under(tmp_path):
    rng = np.random.default_rng(3)
    t = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
    # Voice-like: a 150 Hz buzz with harmonics to 4 kHz, in syllable-long bursts.
    buzz = sum(np.sin(2 * np.pi * 150 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 27))
    x = (0.8 * buzz * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    asked = []

    def render(ceilings: np.ndarray) -> np.ndarray:
        asked.append(ceilings.copy())
        return np.round(mix.limit(x, 10 ** (ceilings / 20)) * 32767).astype(np.int16)

    encoder = Mp3Encoder()
    data = encoder.encode_under(render, len(x), -6.0, -6.2, mix.true_peaks)
    (tmp_path / "peaks.mp3").write_bytes(data)
    decoded = decode(tmp_path / "peaks.mp3")
    assert encoder.calls == 1 and encoder.attempts == len(asked) >= 2  # the first encode overshot
    assert np.all(asked[-1] <= -6.0) and asked[-1].min() < -6.2  # lowered where needed ...
    assert np.mean(asked[-1] == np.float32(-6.0)) > 0.5  # ... and left alone elsewhere
    assert measure(decoded).true_peak <= -6.0
    assert len(decoded) == len(x)


def test_a_file_that_is_not_an_mp3_is_a_clear_error():
    from skill.render.encode import EncodeError, mp3_samples

    with pytest.raises(EncodeError, match=r"The MP3's length cannot be read: Format not recognised"):
        mp3_samples(b"RIFF" + bytes(200))


def test_the_manifest_is_written_and_lists_file_duration_and_transcript(rendered):
    settings, manifest, plans, _decoded = rendered
    assert load_manifest("test-short", settings) == manifest
    data = json.loads((settings.tracks_dir / "manifests" / "test-short.json").read_text())
    assert set(data) == {"routine_id", "length", "voice", "renderer_version", "format", "tracks"}
    assert data["length"] == "full"
    first = data["tracks"][1]
    assert set(first) == {"index", "kind", "side", "file", "duration_ms", "transcript", "plan", "settle", "wordless",
                          "placement", "art", "background"}
    assert (first["index"], first["kind"], first["side"]) == (1, "hold", "right")
    assert (first["placement"], first["art"], first["background"]) == (None, "", ""), "no place step, no picture"
    assert first["file"].endswith(".mp3") and (settings.tracks_dir / first["file"]).is_file()
    texts = [line["text"] for line in first["transcript"]]
    assert texts[0] == "Rest on the ball on the right side."
    assert {"Ten more seconds.", "And release."} <= set(texts)  # a 30 s hold: one countdown cue
    assert "Halfway." not in texts
    for entry, plan in zip(manifest.tracks, plans, strict=True):
        assert [(s.t, s.text) for s in entry.transcript] == [(s.t, s.text) for s in plan.transcript]


def test_a_second_render_synthesizes_and_encodes_nothing(rendered, voice):
    settings, manifest, *_ = rendered
    encoder = Mp3Encoder()
    calls = voice.calls
    again = render_routine(routine(), settings, voice=voice, encoder=encoder)
    assert (voice.calls - calls, encoder.calls) == (0, 0)
    assert again == manifest


def test_changing_one_step_re_renders_only_its_tracks(fresh, voice):
    settings = fresh
    before = render_routine(routine(), settings, voice=voice)
    encoder, calls = Mp3Encoder(), voice.calls
    after = render_routine(routine(s1__seconds=25), settings, voice=voice, encoder=encoder)
    assert encoder.calls == 2  # the hold, on both sides
    assert voice.calls == calls  # every sentence was cached
    changed = [a.index for a, b in zip(after.tracks, before.tracks, strict=True) if a.file != b.file]
    assert changed == [1, 3]


def test_the_preview_is_one_mp3_with_switch_sides_where_the_timeline_puts_it(rendered, voice, tmp_path):
    settings, manifest, *_ = rendered
    encoder = Mp3Encoder()
    out = tmp_path / "preview.mp3"
    transcript = render_preview(routine(), settings, out, voice=voice, encoder=encoder)
    assert encoder.calls == 1
    switch = next(t.index for t in expand(routine()) if t.kind == "switch")
    before = sum(t.duration_ms for t in manifest.tracks[:switch]) / 1000
    first = next(line for line in transcript if line["track"] == switch)
    assert first["text"].startswith("Now move the ball to your left side")
    assert abs(first["t"] - before) <= 0.1
    whole = decode(out)
    assert abs(len(whole) / SAMPLE_RATE - manifest.duration_ms / 1000) < 0.1
    assert measure(whole).true_peak <= -1.0  # one encode of everything, checked like a track
    assert [line["t"] for line in transcript] == sorted(line["t"] for line in transcript)


# --- bad input ----------------------------------------------------------------------------

def test_a_text_the_voice_cannot_speak_names_routine_and_track_and_the_rest_still_render(fresh, voice):
    settings = fresh
    bad = routine(s2__say="🙂🙂🙂")
    with pytest.raises(RenderError) as caught:
        render_routine(bad, settings, voice=voice)
    [failure] = caught.value.failures
    assert (failure.routine_id, failure.track_index) == ("test-short", 2)
    assert "cannot speak '🙂🙂🙂'" in str(failure) and "Routine 'test-short', track 2" in str(failure)
    assert len(list(settings.tracks_dir.glob("*.mp3"))) == 4
    assert load_manifest("test-short", settings) is None


def test_an_unknown_cue_is_a_clear_error(fresh, voice):
    settings = fresh
    with pytest.raises(RenderError, match=r"track 0: \(position\) Cue 'gong' is not in the cue catalogue"):
        render_routine(routine(s0__end_cue="gong"), settings, voice=voice)


def test_an_unwritable_output_folder_is_one_clear_error_per_routine(tmp_path, voice):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the audio folder should be")
    settings = Settings(audio_dir=blocker)
    report = render_library([routine()], settings, voice=voice)
    [failure] = report.failures
    assert failure.track_index is None
    assert "Cannot write" in failure.reason and "not-a-folder" in failure.reason
    assert "TRIGGER_COACH_AUDIO_DIR" in failure.reason
    assert report.manifests == ()


def test_a_full_disk_fails_one_track_leaves_no_partial_file_and_a_rerender_finishes(fresh, voice):
    settings = fresh
    victim = Renderer(settings, voice).track_key(expand(routine())[1])

    def full_disk_for_victim(path: Path, mode: str):
        if path.name.startswith(f".{victim}.mp3"):
            return open("/dev/full", "wb")  # a real device that answers every write with ENOSPC
        return open(path, mode)

    store = Store(settings, open_file=full_disk_for_victim)
    report = render_library([routine()], settings, voice=voice, store=store)
    [failure] = report.failures
    assert (failure.routine_id, failure.track_index) == ("test-short", 1)
    assert "No space left on device" in failure.reason
    assert not (settings.tracks_dir / f"{victim}.mp3").exists()
    assert not list(settings.tracks_dir.rglob("*.tmp"))
    assert report.tracks_rendered == 4 and load_manifest("test-short", settings) is None

    encoder = Mp3Encoder()
    manifest = render_routine(routine(), settings, voice=voice, encoder=encoder)
    assert encoder.calls == 1 and manifest.tracks[1].file == f"{victim}.mp3"


def test_a_failing_routine_does_not_stop_the_library(fresh, voice):
    settings = fresh
    broken = routine_from_json({**copy.deepcopy(SHORT), "id": "test-broken"} | {
        "steps": [*SHORT["steps"][:3], {**SHORT["steps"][3], "say": "✨"}]})
    seen = []
    report = render_library([broken, routine()], settings, voice=voice, progress=seen.append)
    assert [m.routine_id for m in report.manifests] == ["test-short"]
    assert [(f.routine_id, f.track_index) for f in report.failures] == [("test-broken", 4)]
    assert [e.tracks_done for e in seen] == list(range(1, 11)) and seen[-1].tracks_total == 10
    assert seen[4].failed and not seen[5].failed
    assert "1 failed" in report.summary()


def test_an_unknown_voice_setting_is_a_sentence():
    with pytest.raises(VoiceError, match=r"The voice 'festival' is not known; use piper, polly:NAME"):
        make_voice(Settings(voice="festival"))


def test_the_progress_bar_draws_tracks_audio_and_an_eta_from_rendered_tracks_only():
    now = [0.0]
    out = io.StringIO()
    bar = ProgressBar(out, clock=lambda: now[0])
    bar(ProgressEvent("upper-back", 0, 10, 40, 60.0, reused=True))
    now[0] = 12.0
    bar(ProgressEvent("upper-back", 1, 12, 40, 186.0, reused=False))
    assert bar.line(ProgressEvent("upper-back", 1, 12, 40, 186.0, reused=False)) == (
        "[###.......] 12/40 tracks · 3.1 min audio · ETA 5:36")
    bar(ProgressEvent("upper-back", 2, 40, 40, 600.0, reused=True))
    assert out.getvalue().splitlines()[-1].endswith("40/40 tracks · 10.0 min audio · done")
