"""What screens show with each track, over HTTP: metadata on every Play, and the pictures served.

The real app on loopback with the session's rendered routines (full and quick), real
manifests and real PNG files decoded with Pillow.
"""

from __future__ import annotations

import io
import json
import shutil
import urllib.error
import urllib.request

import pytest
from PIL import Image

from skill.alexa.catalog import Catalog
from skill.config import Settings
from skill.content.manifest import load_manifest
from skill.core.player import Token
from skill.core.routines import ROUTINES_DIR, load_library
from skill.core.screens import ART_PIXELS, BACKGROUND_PIXELS
from tests import alexa
from tests.alexa import ask, play_of
from tests.conftest import TEST_ROUTINES

PUBLIC = "https://coach.example.test"


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def every_play(server, routine: str, length: str, user: str) -> list[dict]:
    """Start a routine and skip through it with "next", returning every Play directive sent."""
    slots = {"routine": (routine.replace("-", " "), routine), "length": (length, length)}
    plays = [play_of(ask(server, alexa.intent("StartRoutineIntent", slots, user=user)))]
    while True:
        token = plays[-1]["audioItem"]["stream"]["token"]
        r = ask(server, alexa.intent("AMAZON.NextIntent", user=user, audio_player={
            "token": token, "offsetInMilliseconds": 1_000, "playerActivity": "PLAYING"}))
        if not any(d["type"] == "AudioPlayer.Play" for d in alexa.directives(r)):
            return plays
        plays.append(play_of(r))


@pytest.mark.parametrize("length", ["full", "quick"])
@pytest.mark.parametrize("routine", TEST_ROUTINES)
def test_every_tracks_play_carries_title_subtitle_art_and_background_served_as_pngs_of_the_declared_size(
        server, app_settings, routine, length):
    plays = every_play(server, routine, length, f"amzn1.ask.account.SCREENS-{routine}-{length}")
    key = routine if length == "full" else f"{routine}.{length}"
    assert len(plays) == len(load_manifest(key, app_settings).tracks)
    seen: dict[str, tuple[int, int]] = {}
    for play in plays:
        meta = play["audioItem"]["metadata"]
        assert meta["title"].startswith(load_library().get(routine).title), meta
        assert len(meta["subtitle"]) > 5, meta
        for field, pixels in (("art", ART_PIXELS), ("backgroundImage", BACKGROUND_PIXELS)):
            (source,) = meta[field]["sources"]
            assert (source["widthPixels"], source["heightPixels"]) == pixels, source
            assert source["url"].startswith(PUBLIC + "/images/") and source["url"].endswith(".png")
            seen[source["url"]] = pixels
    sided = [p["audioItem"]["metadata"]["title"] for p in plays if "side" in p["audioItem"]["metadata"]["title"]]
    assert any(t.endswith("· right side") for t in sided) and any(t.endswith("· left side") for t in sided)
    for url, (width, height) in seen.items():
        status, headers, body = fetch(server.url + url.removeprefix(PUBLIC))
        assert status == 200, url
        assert headers["Content-Type"] == "image/png"
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
        with Image.open(io.BytesIO(body)) as picture:
            picture.load()
            assert (picture.format, picture.size) == ("PNG", (width, height))


def test_the_upper_backs_hold_reads_where_the_ball_is_how_long_and_how_to_breathe(server):
    plays = every_play(server, "upper-back", "full", "amzn1.ask.account.SCREENS-HOLD")
    subtitles = [p["audioItem"]["metadata"]["subtitle"] for p in plays]
    assert "Ball between the spine and the shoulder blade · hold 45 s · breathe in 4, out 6" in subtitles
    assert plays[3]["audioItem"]["metadata"]["title"] == "Upper back · right side"


@pytest.mark.parametrize("name", [
    "abc.png", "../manifests/calves.json", "0123456789abcdef0123.jpg", "0123456789ABCDEF0123.png",
    "0123456789abcdef0123.png", "%2e%2e%2fsecret.png", "0123456789abcdef0123.png.mp3",
])
def test_a_picture_name_outside_the_hash_pattern_or_not_rendered_is_a_404(server, name):
    status, _, body = fetch(f"{server.url}/images/{name}")
    assert status == 404, (name, body)


def test_each_manifest_full_and_quick_lists_two_pictures_per_track_that_exist_under_images(app_settings):
    for routine in TEST_ROUTINES:
        for key in (routine, f"{routine}.quick"):
            manifest = load_manifest(key, app_settings)
            assert manifest is not None and manifest.images, key
            for track in manifest.tracks:
                assert track.placement is not None and track.art != track.background, (key, track.index)
                assert (app_settings.images_dir / track.art).is_file()
                assert (app_settings.images_dir / track.background).is_file()
            assert json.loads((app_settings.tracks_dir / "manifests" / f"{key}.json").read_text())["tracks"][0]["art"]


def _catalog_with(tmp_path, rendered_audio, change) -> Catalog:
    folder = tmp_path / "routines"
    folder.mkdir(parents=True)
    shutil.copy(ROUTINES_DIR / "schema.json", folder)
    data = json.loads((ROUTINES_DIR / "upper-back.json").read_text())
    change(data)
    (folder / "upper-back.json").write_text(json.dumps(data))
    library = load_library([folder])
    assert not library.problems, library.problems
    return Catalog(library, Settings(audio_dir=rendered_audio, public_url=PUBLIC))


def test_changing_only_a_spots_screen_words_changes_the_tokens_of_the_tracks_that_show_them(tmp_path, rendered_audio):
    shipped = _catalog_with(tmp_path / "a", rendered_audio, lambda data: None)
    reworded = _catalog_with(tmp_path / "b", rendered_audio,
                             lambda data: data["steps"][5].update(where="Ball up by the top of the blade"))
    before, after = shipped.program("upper-back"), reworded.program("upper-back")
    assert before is not None and after is not None and before.track_ms == after.track_ms
    changed = [i for i in range(len(before.screens)) if before.screen(i) != after.screen(i)]
    titles = [reworded.track("upper-back", i).subtitle for i in changed]
    assert changed and all(t.startswith("Ball up by the top of the blade") for t in titles), titles
    assert all(Token.parse(f"upper-back|r|{i}|1|{after.screen(i)}").screen == after.screen(i) for i in changed)


def test_a_spot_moved_to_another_region_since_the_render_is_not_played_until_it_is_drawn(tmp_path, rendered_audio):
    moved = _catalog_with(tmp_path, rendered_audio, lambda data: data["steps"][5].update(region="shoulder-blade-flat"))
    assert moved.program("upper-back") is None
    assert moved.program("upper-back", "quick") is not None, "the quick version plays only the first spot"
