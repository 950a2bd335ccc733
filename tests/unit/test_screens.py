"""What screens show with each track, derived from the timeline; and the pictures' geometry."""

from __future__ import annotations

import pytest

from skill.core.lengths import version
from skill.core.placements import REGIONS, Placement, Tool, View
from skill.core.routines import load_library
from skill.core.screens import screens, tag
from skill.core.steps import StepKind
from skill.core.timeline import expand

LIBRARY = load_library(check=False)


def test_titles_name_the_routine_and_the_side_and_subtitles_the_spot_the_task_and_the_breath():
    routine = LIBRARY.get("upper-back")
    shown = screens(routine)
    tracks = expand(routine)
    assert len(shown) == len(tracks)
    hold = next(i for i, t in enumerate(tracks) if t.kind is StepKind.HOLD and t.side == "right")
    assert shown[hold].title == "Upper back · right side"
    assert shown[hold].subtitle == "Ball between the spine and the shoulder blade · hold 45 s · breathe in 4, out 6"
    roll = next(i for i, t in enumerate(tracks) if t.kind is StepKind.ROLL)
    assert shown[roll].subtitle == "Ball between the spine and the shoulder blade · roll 45 s, 3 s strokes"
    assert shown[0].subtitle == "Get into position · next: ball between the spine and the shoulder blade"
    assert shown[0].title == "Upper back" and shown[-1].subtitle == "4 slow breaths · breathe in 4, out 6"


def test_a_quick_versions_screens_say_quick_and_show_its_shorter_times():
    quick = version(LIBRARY.get("calves"), "quick")
    shown = screens(quick)
    assert all(s.title.startswith("Calves, quick") for s in shown)
    assert "Roller under the middle of the calf · roll 30 s, 4 s strokes" in [s.subtitle for s in shown]


@pytest.mark.parametrize("routine", [r.id for r in LIBRARY.routines])
def test_every_track_shows_a_picture_and_ball_work_shows_the_spot_its_place_step_set(routine):
    r = LIBRARY.get(routine)
    tracks = expand(r)
    shown = screens(r)
    assert all(s.placement is not None and s.placement.region in REGIONS for s in shown)
    spot = None
    for track, screen in zip(tracks, shown, strict=True):
        if track.kind is StepKind.PLACE:
            spot = (r.steps[track.step_index].region, track.side)
        if track.kind.rules.ball_work:
            assert (screen.placement.region, screen.placement.side) == spot, (routine, track.index)
        assert all(len(part) <= 60 for part in screen.subtitle.split(" · ")), screen.subtitle


def test_moving_between_spots_previews_the_next_one_and_the_switch_the_other_sides_first():
    r = LIBRARY.get("upper-back")
    tracks = expand(r)
    shown = screens(r)
    switch = next(i for i, t in enumerate(tracks) if t.kind is StepKind.SWITCH)
    after = next(i for i in range(switch, len(tracks)) if tracks[i].kind is StepKind.PLACE)
    assert shown[switch].placement == shown[after].placement
    assert shown[after].placement.side == "left" and shown[0].placement.side == "right"


def test_the_tool_follows_the_kit():
    tools = {r.id: screens(r)[0].placement.tool for r in LIBRARY.routines}
    assert tools["calves"] is Tool.ROLLER and tools["neck-and-skull"] is Tool.TWO_BALLS
    assert tools["upper-back"] is tools["feet"] is Tool.BALL


def test_a_tag_changes_with_any_shown_text_or_file_and_is_eight_hex_digits():
    base = tag("Upper back", "Ball", "a.mp3", "b.png", "c.png")
    assert len(base) == 8 and int(base, 16) >= 0
    assert len({base, tag("Upper back ", "Ball", "a.mp3", "b.png", "c.png"), tag("Upper back", "Ball", "a.mp3",
               "b.png", "d.png"), tag("Upper back", "Ball", "x.mp3", "b.png", "c.png")}) == 4


# --- the pictures: left and right follow the view, the ball lands on the figure ---------------

def _ball_centre(image) -> tuple[float, float]:
    """Return the mean position of the pixels coloured like the ball."""
    from skill.render.pictures import BALL

    pixels = image.load()
    found = [(x, y) for y in range(0, image.size[1], 2) for x in range(0, image.size[0], 2)
             if all(abs(pixels[x, y][k] - BALL[k]) <= 12 for k in range(3))]
    assert found, "no ball drawn"
    return sum(x for x, _ in found) / len(found), sum(y for _, y in found) / len(found)


@pytest.mark.parametrize(("region", "side", "on_viewers_right"), [
    ("lower-back-waist", "right", True),  # seen from behind: the person's right on the viewer's right
    ("lower-back-waist", "left", False),
    ("chest-below-collarbone", "right", False),  # seen from the front: the person's right on the viewer's left
    ("chest-below-collarbone", "left", True),
])
def test_left_and_right_follow_the_view(region, side, on_viewers_right):
    from skill.render.pictures import BACKGROUND, draw

    image = draw(Placement(region, side, Tool.BALL), BACKGROUND)
    figure_midline = 0.66 * image.size[0]
    x, _ = _ball_centre(image)
    assert (x > figure_midline) is on_viewers_right


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_every_regions_ball_is_drawn_inside_the_square_art_near_its_centre(region):
    from skill.render.pictures import ART, draw

    tool = Tool.ROLLER if region in {"calf-middle", "hamstring-middle", "thigh-front", "shin-outer",
                                     "hip-flexor-below-hip-point", "side-of-back-below-armpit"} else Tool.BALL
    image = draw(Placement(region, "right", tool), ART)
    assert image.size == (480, 480)
    if tool is Tool.BALL:
        x, y = _ball_centre(image)
        # within the circle a round Echo Spot shows, well away from its edge
        assert (x - 240) ** 2 + (y - 240) ** 2 < 170 ** 2, (region, x, y)


def test_a_side_view_faces_the_way_the_worked_side_looks():
    from skill.render.pictures import BACKGROUND, draw

    spot = REGIONS["outer-hip-front"]
    assert spot.view is View.SIDE and spot.x > 0
    figure_axis = 0.66 * BACKGROUND.width
    right = _ball_centre(draw(Placement("outer-hip-front", "right", Tool.BALL), BACKGROUND))[0]
    left = _ball_centre(draw(Placement("outer-hip-front", "left", Tool.BALL), BACKGROUND))[0]
    assert left < figure_axis < right, "the front of the hip is toward the way the figure faces"
