"""Measure a rendered routine's levels on its decoded MP3s with ffmpeg's ebur128 meter.

Run: python bench/bench_levels.py [ROUTINE_ID] [AUDIO_DIR]   (default upper-back, var/bench-audio)

Renders the routine (reusing whatever AUDIO_DIR already holds), decodes every track with
ffmpeg and prints, against the targets of the renderer (skill/render/mix.py):
  1. speech passages: integrated loudness, lowest and highest (target -16 to -14 LUFS);
  2. true peak of every track, highest (target at most -1 dBTP);
  3. cues and tones: loudest short-term loudness, and how far under the quietest speech
     passage of its track each one sits (the tests ask for at least 12 dB);
  4. the whole tracks' integrated loudness, to show how holds pull it down;
  5. how many encoder runs the true-peak check needed per track.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests` importable
    sys.path.insert(0, str(ROOT))

from skill.config import Settings  # noqa: E402
from skill.core.routines import load_library  # noqa: E402
from skill.core.timeline import expand  # noqa: E402
from skill.render import mix, render_routine  # noqa: E402
from skill.render.encode import Mp3Encoder, decode  # noqa: E402
from skill.render.tracks import Renderer  # noqa: E402
from skill.render.voices import make_voice  # noqa: E402
from tests.loudness import measure  # noqa: E402


def main(routine_id: str = "upper-back", audio_dir: str | None = None) -> None:
    """Render one routine and print its measured levels."""
    routine = load_library().get(routine_id)
    if routine is None:
        sys.exit(f"No routine {routine_id!r} in routines/.")
    settings = Settings(audio_dir=Path(audio_dir) if audio_dir else ROOT / "var" / "bench-audio")
    voice, encoder = make_voice(settings), Mp3Encoder()
    manifest = render_routine(routine, settings, voice=voice, encoder=encoder)
    renderer = Renderer(settings, voice)
    speech, peaks, whole, under = [], [], [], []
    loudest_cue = float("-inf")
    for entry, track in zip(manifest.tracks, expand(routine), strict=True):
        plan = renderer.plan(track)
        pcm = decode(settings.tracks_dir / entry.file)
        levels = [measure(pcm[a:b]).integrated for a, b in mix.passages(plan)]
        speech += levels
        track_level = measure(pcm)
        peaks.append(track_level.true_peak)
        whole.append(track_level.integrated)
        for seg in plan.segments:
            if seg.kind != "speech":
                cue = measure(pcm[seg.start:seg.end]).short_term_max
                loudest_cue = max(loudest_cue, cue)
                under.append(min(levels) - cue)
    print(f"Routine {routine.id!r}: {len(manifest.tracks)} tracks, {len(speech)} speech passages")
    print(f"1. speech passages          {min(speech):6.1f} .. {max(speech):6.1f} LUFS   (target -16 .. -14)")
    print(f"2. true peak, highest       {max(peaks):6.1f} dBTP           (target <= -1)")
    print(f"3. cues and tones, loudest  {loudest_cue:6.1f} LUFS short-term; {min(under):.1f} .. {max(under):.1f} dB "
          "under their track's quietest passage (tests: >= 12)")
    print(f"4. whole tracks             {min(whole):6.1f} .. {max(whole):6.1f} LUFS integrated")
    if encoder.calls:
        print(f"5. encoder runs per track   {encoder.attempts / encoder.calls:.2f} "
              f"({encoder.attempts} for {encoder.calls} tracks rendered now)")
    else:
        print("5. encoder runs per track   (every track was reused; use an empty AUDIO_DIR to count them)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
