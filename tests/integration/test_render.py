"""Render a short routine for real (Piper voice, ffmpeg) and check the files that come out.

Every track is decoded with ffmpeg and measured: length against the plan, loud speech,
quiet holds, peaks under -1 dBFS, one speech level across tracks. Re-renders are counted
on the voice and encoder objects: unchanged means no synthesis and no encoding.
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
from skill.render import load_manifest, render_library, render_preview, render_routine
from skill.render.cache import Store
from skill.render.encode import Mp3Encoder, decode
from skill.render.layout import SAMPLE_RATE
from skill.render.mix import TARGET_DBFS, speech_level
from skill.render.progress import ProgressBar, ProgressEvent
from skill.render.tracks import Renderer, RenderError
from skill.render.voices import PiperVoice, VoiceError, make_voice

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


def test_cues_and_tones_sit_well_under_the_speech(rendered):
    _settings, _manifest, plans, decoded = rendered
    for plan, pcm in zip(plans, decoded, strict=True):
        for seg in plan.segments:
            if seg.kind != "speech":
                peak = np.abs(span(pcm, seg.start, seg.end)).max() / 32768
                assert 20 * np.log10(peak) < -10, seg.name


def test_peaks_stay_under_minus_one_dbfs_after_decoding(rendered):
    *_, decoded = rendered
    for pcm in decoded:
        peak = 20 * np.log10(np.abs(pcm.astype(np.int32)).max() / 32768)
        assert peak <= -1.0 + 0.1


def test_speech_level_is_the_same_on_every_track_within_one_and_a_half_db(rendered):
    _settings, _manifest, plans, decoded = rendered
    levels = []
    for plan, pcm in zip(plans, decoded, strict=True):
        first = next(s for s in plan.segments if s.kind == "speech")
        spoken = [s for s in plan.segments if s.kind == "speech" and s.start < plan.intro]
        levels.append(speech_level(span(pcm, first.start, spoken[-1].end).astype(np.float32) / 32768))
    assert max(levels) - min(levels) <= 3.0
    assert all(abs(level - TARGET_DBFS) <= 1.5 for level in levels), levels


def test_the_manifest_is_written_and_lists_file_duration_and_transcript(rendered):
    settings, manifest, plans, _decoded = rendered
    assert load_manifest("test-short", settings) == manifest
    data = json.loads((settings.tracks_dir / "manifests" / "test-short.json").read_text())
    assert set(data) == {"routine_id", "voice", "renderer_version", "format", "tracks"}
    first = data["tracks"][1]
    assert set(first) == {"index", "kind", "side", "file", "duration_ms", "transcript", "plan", "settle", "wordless"}
    assert (first["index"], first["kind"], first["side"]) == (1, "hold", "right")
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
    assert abs(len(decode(out)) / SAMPLE_RATE - manifest.duration_ms / 1000) < 0.1
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
