"""Draw the placement pictures: a calm standing figure, the worked side tinted, the ball on its spot.

A build step like the audio (needs Pillow). Every picture is drawn from a `Placement`
(region, side, tool; skill.core.placements) at one of two sizes, the square `art` and the
wide `background` a screen shows with a stream, and stored under a content hash of what it
was drawn from, so its name changes exactly when the picture does.

The figure is drawn SUPERSAMPLE times larger and scaled down, which smooths every edge.
Coordinates are the table's: fractions of the body's height (see skill.core.placements).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from skill.core.placements import Placement, Tool, View
from skill.core.screens import ART_PIXELS, BACKGROUND_PIXELS
from skill.render.cache import json_digest

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL import ImageDraw

SUPERSAMPLE = 4


@dataclass(frozen=True)
class Size:
    """One kind of picture a screen shows with a stream, and its pixel size."""

    name: str
    width: int
    height: int
    window: float  # how much of the body's height the picture spans


ART = Size("art", *ART_PIXELS, 0.52)
BACKGROUND = Size("background", *BACKGROUND_PIXELS, 1.16)
SIZES = (ART, BACKGROUND)

PAPER = (244, 241, 234)  # warm off-white
PAPER_EDGE = (226, 233, 238)  # cool edge of the soft gradient
BODY = (176, 190, 205)  # muted blue-grey
BODY_LINE = (128, 146, 166)  # landmarks: spine, shoulder blades, collarbones
HAIR = (120, 128, 142)
WORKED = (86, 150, 170)  # the side being worked: a calm teal
BALL = (236, 132, 78)  # warm coral: the one thing that stands out
BALL_LIGHT = (252, 196, 160)
ROLLER = (150, 118, 196)
ROLLER_END = (120, 92, 168)
BALL_RADIUS = 0.021  # a tennis ball on a 1.7 m person, a little larger so it reads on a small screen
ROLLER_HALF_LENGTH = 0.075
ROLLER_RADIUS = 0.024


@cache
def _drawing() -> str:
    """Return a hash of this module's source and Pillow's version: the drawing, as code."""
    from PIL import __version__ as pillow

    return hashlib.sha256(Path(__file__).read_bytes() + pillow.encode()).hexdigest()


def picture_key(placement: Placement, size: Size) -> str:
    """Return the content hash naming the picture of a placement at a size.

    It covers the drawing code itself, so a changed drawing gets new names (and screens,
    CDNs and the speaker never show a cached old picture).
    """
    return json_digest({"drawing": _drawing(), "placement": placement.key, "size": size.name,
                        "pixels": [size.width, size.height]})


def file_name(placement: Placement, size: Size) -> str:
    """Return the picture's file name: its content hash and .png."""
    return f"{picture_key(placement, size)}.png"


def png(placement: Placement, size: Size) -> bytes:
    """Return the picture of a placement at a size, as PNG bytes."""
    out = io.BytesIO()
    draw(placement, size).save(out, format="PNG", optimize=True)
    return out.getvalue()


def draw(placement: Placement, size: Size) -> PILImage.Image:
    """Return the picture of a placement at a size, as an RGB image."""
    from PIL import Image

    w, h = size.width * SUPERSAMPLE, size.height * SUPERSAMPLE
    spot = placement.spot
    mirror = _mirror(spot.view, placement.side)
    scale = h / size.window
    # Centre the square art on the spot; the wide background shows the whole figure off-centre.
    if size is ART:
        cx_body = spot.x * mirror * 0.5 if spot.view is not View.SIDE else 0.015 * mirror
        cy_body = min(max(spot.y, size.window / 2 - 0.03), 1.14 - size.window / 2)
        origin = (w / 2 - cx_body * scale, h / 2 - cy_body * scale)
    else:
        origin = (w * 0.66, h / 2 - 0.5 * scale)

    def px(x: float, y: float) -> tuple[float, float]:
        return origin[0] + x * scale, origin[1] + y * scale

    # The figure is drawn large on a layer of its own colour and scaled down with its mask, so
    # its edges blend into the paper without fringes; the halo is soft anyway and is made at
    # the final size; the ball or roller is drawn large on just the patch of picture it covers.
    layer = Image.new("RGB", (w, h), BODY)
    body = Image.new("L", (w, h), 0)
    _figure(body, spot.view, mirror, px, scale)
    _worked_side(layer, body, spot.view, mirror, px, placement.side)
    _landmarks(layer, spot.view, mirror, px, scale)
    final = (size.width, size.height)
    image = Image.composite(layer.resize(final, Image.Resampling.LANCZOS), _paper(*final),
                            body.resize(final, Image.Resampling.LANCZOS))
    _halo(image, placement, mirror, lambda x, y: tuple(c / SUPERSAMPLE for c in px(x, y)), scale / SUPERSAMPLE)
    _tool_patch(image, placement, mirror, px, scale)
    return image


def _mirror(view: View, side: str | None) -> int:
    """Return +1 when the worked side is drawn on the viewer's right, else -1.

    Seen from behind, the person's right is on the viewer's right; from the front, on the
    viewer's left. A side view shows the worked side, so the figure faces right for a right side.
    """
    right = side != "left"
    if view is View.FRONT:
        return -1 if right else 1
    return 1 if right else -1


def _paper(w: int, h: int) -> PILImage.Image:
    """Return a soft radial gradient, light in the middle, cooler toward the edges."""
    from PIL import Image

    small = Image.new("RGB", (64, 40 if w > h else 64))
    sw, sh = small.size
    for j in range(sh):
        for i in range(sw):
            d = min(1.0, math.hypot((i + 0.5) / sw - 0.5, (j + 0.5) / sh - 0.5) / 0.7)
            t = d * d
            small.putpixel((i, j), tuple(round(a + (b - a) * t) for a, b in zip(PAPER, PAPER_EDGE, strict=True)))
    return small.resize((w, h), Image.Resampling.BICUBIC)


# --- the figure ------------------------------------------------------------------------------

def _capsule(d: ImageDraw.ImageDraw, a: tuple[float, float], ra: float, b: tuple[float, float], rb: float,
             fill: int | tuple[int, ...]) -> None:
    """Fill a tapered limb: two circles and the band that joins them along their tangents."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    nx, ny = -uy, ux
    d.polygon([(ax + nx * ra, ay + ny * ra), (bx + nx * rb, by + ny * rb),
               (bx - nx * rb, by - ny * rb), (ax - nx * ra, ay - ny * ra)], fill=fill)
    d.ellipse([ax - ra, ay - ra, ax + ra, ay + ra], fill=fill)
    d.ellipse([bx - rb, by - rb, bx + rb, by + rb], fill=fill)


def _smooth(points: Sequence[tuple[float, float]], steps: int = 10) -> list[tuple[float, float]]:
    """Return a closed Catmull-Rom curve through the points."""
    out: list[tuple[float, float]] = []
    n = len(points)
    for i in range(n):
        p0, p1, p2, p3 = points[i - 1], points[i], points[(i + 1) % n], points[(i + 2) % n]
        for s in range(steps):
            t = s / steps
            t2, t3 = t * t, t * t * t
            out.append(tuple(  # type: ignore[arg-type]
                0.5 * (2 * p1[k] + (-p0[k] + p2[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2
                       + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3)
                for k in range(2)))
    return out


def _both(half: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Return an outline traced down the right half and back up the mirrored left half."""
    right = list(half)
    return right + [(-x, y) for x, y in reversed(right)]


# The right half of a front or back torso, from the neck down the side to the crotch.
TORSO = (
    (0.028, 0.152), (0.07, 0.168), (0.104, 0.18), (0.122, 0.196), (0.127, 0.218), (0.114, 0.25),
    (0.106, 0.29), (0.094, 0.34), (0.084, 0.385), (0.088, 0.43), (0.099, 0.475), (0.102, 0.51),
    (0.094, 0.545), (0.05, 0.562), (0.012, 0.55),
)
# A side view facing right: the front from the throat down, then the back from the buttock up.
PROFILE = (
    (0.022, 0.155), (0.04, 0.185), (0.066, 0.225), (0.068, 0.27), (0.054, 0.32), (0.05, 0.37),
    (0.056, 0.42), (0.058, 0.47), (0.054, 0.52), (0.052, 0.56), (-0.046, 0.585), (-0.066, 0.54),
    (-0.068, 0.5), (-0.05, 0.45), (-0.036, 0.4), (-0.044, 0.34), (-0.056, 0.27), (-0.052, 0.21),
    (-0.03, 0.165),
)


def _figure(mask: PILImage.Image, view: View, mirror: int, px, scale: float) -> None:
    """Fill the figure's silhouette into a mask."""
    from PIL import ImageDraw

    d = ImageDraw.Draw(mask)
    r = scale

    def cap(a, ra, b, rb):
        _capsule(d, px(*a), ra * r, px(*b), rb * r, 255)

    if view is View.SIDE:
        f = mirror
        hx, hy = px(0.004 * f, 0.064)
        d.ellipse([hx - 0.052 * r, hy - 0.064 * r, hx + 0.052 * r, hy + 0.064 * r], fill=255)
        cap((0.046 * f, 0.078), 0.009, (0.052 * f, 0.074), 0.008)  # nose
        cap((0.003 * f, 0.11), 0.026, (-0.002 * f, 0.17), 0.028)  # neck
        d.polygon([px(x * f, y) for x, y in _smooth(PROFILE)], fill=255)
        cap((0.0, 0.54), 0.052, (0.004 * f, 0.72), 0.033)  # thigh
        cap((0.004 * f, 0.72), 0.031, (-0.004 * f, 0.95), 0.018)  # shin
        cx, cy = px(-0.018 * f, 0.8)
        d.ellipse([cx - 0.03 * r, cy - 0.066 * r, cx + 0.03 * r, cy + 0.066 * r], fill=255)  # calf
        d.polygon([px(x * f, y) for x, y in _smooth(
            ((-0.022, 0.955), (0.012, 0.955), (0.05, 0.975), (0.088, 0.988), (0.09, 1.0),
             (-0.028, 1.0), (-0.034, 0.985)), 6)], fill=255)  # foot
        _arm_in_front(d, f, px, scale, 255)
        return
    hx, hy = px(0.0, 0.064)
    d.ellipse([hx - 0.047 * r, hy - 0.064 * r, hx + 0.047 * r, hy + 0.064 * r], fill=255)
    cap((0.0, 0.11), 0.027, (0.0, 0.165), 0.031)  # neck
    d.polygon([px(x, y) for x, y in _smooth(_both(TORSO))], fill=255)
    for s in (1, -1):  # arms a little away from the body, so the sides of the back show
        cap((0.112 * s, 0.205), 0.031, (0.168 * s, 0.355), 0.022)  # upper arm
        cap((0.168 * s, 0.355), 0.023, (0.212 * s, 0.49), 0.016)  # forearm
        _capsule(d, px(0.216 * s, 0.5), 0.017 * r, px(0.226 * s, 0.545), 0.015 * r, 255)  # hand
        cap((0.052 * s, 0.52), 0.05, (0.056 * s, 0.72), 0.032)  # thigh
        cap((0.056 * s, 0.72), 0.031, (0.058 * s, 0.955), 0.018)  # shin
        cx, cy = px(0.06 * s, 0.79)
        d.ellipse([cx - 0.035 * r, cy - 0.07 * r, cx + 0.035 * r, cy + 0.07 * r], fill=255)  # calf
        fx, fy = px(0.064 * s, 0.982)
        if view is View.FRONT:
            d.ellipse([fx - 0.026 * r, fy - 0.02 * r, fx + 0.026 * r, fy + 0.018 * r], fill=255)  # foot, toes to us
        else:
            d.ellipse([fx - 0.021 * r, fy - 0.024 * r, fx + 0.021 * r, fy + 0.018 * r], fill=255)  # heel


def _worked_side(image: PILImage.Image, body: PILImage.Image, view: View, mirror: int, px,
                 side: str | None) -> None:
    """Tint the worked half of the figure (front and back views; a side view shows only it)."""
    from PIL import Image, ImageChops, ImageDraw

    if side is None:
        return
    half = Image.new("L", image.size, 0)
    d = ImageDraw.Draw(half)
    mid = px(0.0, 0.0)[0]
    if view is View.SIDE:
        d.rectangle([0, 0, image.size[0], image.size[1]], fill=120)
    elif mirror > 0:
        d.rectangle([mid, 0, image.size[0], image.size[1]], fill=150)
    else:
        d.rectangle([0, 0, mid, image.size[1]], fill=150)
    image.paste(WORKED, mask=ImageChops.multiply(half, body))


def _landmarks(image: PILImage.Image, view: View, mirror: int, px, scale: float) -> None:
    """Draw the few landmarks that tell back from front and show where things are."""
    from PIL import ImageDraw

    d = ImageDraw.Draw(image)
    w = max(2, round(0.0032 * scale))

    def line(points, width=w, fill=BODY_LINE):
        d.line([px(x, y) for x, y in points], fill=fill, width=width, joint="curve")

    if view is View.SIDE:
        f = mirror
        hx, hy = px(0.004 * f, 0.064)
        r = scale
        d.chord([hx - 0.052 * r, hy - 0.064 * r, hx + 0.052 * r, hy + 0.064 * r],
                start=90 + 80 * f, end=270 + 80 * f, fill=HAIR)  # hair over the back of the head
        line([(-0.044 * f, 0.44), (0.0, 0.437), (0.046 * f, 0.452)])  # rim of the pelvis
        kx, ky = px(-0.004 * f, 0.522)
        k = 0.009 * scale
        d.ellipse([kx - k, ky - k, kx + k, ky + k], outline=BODY_LINE, width=w)  # the hip knob
        _arm_in_front(d, f, px, scale, tuple(round(c * 0.93) for c in BODY))
        return
    r = scale
    hx, hy = px(0.0, 0.064)
    if view is View.BACK:
        d.chord([hx - 0.047 * r, hy - 0.064 * r, hx + 0.047 * r, hy + 0.064 * r], start=150, end=390,
                fill=HAIR)  # the back of the head, mostly hair
        d.pieslice([hx - 0.047 * r, hy - 0.064 * r, hx + 0.047 * r, hy + 0.064 * r], start=180, end=360, fill=HAIR)
        line([(-0.03, 0.104), (0.0, 0.099), (0.03, 0.104)])  # the ridge at the base of the skull
        for i in range(15):  # the bumps of the spine
            y = 0.172 + i * 0.021
            cx, cy = px(0.0, y)
            k = 0.0036 * scale
            d.ellipse([cx - k, cy - k, cx + k, cy + k], fill=BODY_LINE)
        for s in (1, -1):
            line([(0.04 * s, 0.2), (0.036 * s, 0.255), (0.048 * s, 0.31), (0.062 * s, 0.318),
                  (0.096 * s, 0.236), (0.104 * s, 0.214)])  # shoulder blade
            line([(0.038 * s, 0.214), (0.075 * s, 0.204), (0.113 * s, 0.196)])  # its ridge
            line([(0.018 * s, 0.455), (0.05 * s, 0.436), (0.09 * s, 0.438)])  # top of the hip bone
            line([(0.006 * s, 0.556), (0.05 * s, 0.566), (0.088 * s, 0.552)])  # fold under the buttock
            line([(0.04 * s, 0.718), (0.072 * s, 0.718)])  # back of the knee
        line([(0.0, 0.49), (0.0, 0.556)])
    else:
        d.chord([hx - 0.047 * r, hy - 0.064 * r, hx + 0.047 * r, hy + 0.064 * r], start=180, end=360,
                fill=HAIR)  # hair on top, the face clear
        for s in (1, -1):
            line([(0.012 * s, 0.172), (0.06 * s, 0.176), (0.106 * s, 0.188)])  # collarbone
            kx, ky = px(0.056 * s, 0.712)
            k = 0.014 * scale
            d.ellipse([kx - k, ky - k * 1.2, kx + k, ky + k * 1.2], outline=BODY_LINE, width=w)  # kneecap
            line([(0.054 * s, 0.745), (0.056 * s, 0.93)])  # the ridge of the shin
            hx2, hy2 = px(0.078 * s, 0.462)
            k = 0.0045 * scale
            d.ellipse([hx2 - k, hy2 - k, hx2 + k, hy2 + k], fill=BODY_LINE)  # front point of the hip
        line([(0.0, 0.186), (0.0, 0.3)])  # breastbone


def _arm_in_front(d: ImageDraw.ImageDraw, f: int, px, scale: float, fill: int | tuple[int, ...]) -> None:
    """Draw a side view's near arm, reaching a little forward so the hip stays in sight."""
    r = scale
    _capsule(d, px(0.0, 0.205), 0.033 * r, px(0.05 * f, 0.355), 0.023 * r, fill)
    _capsule(d, px(0.05 * f, 0.355), 0.023 * r, px(0.1 * f, 0.47), 0.016 * r, fill)
    cx, cy = px(0.112 * f, 0.505)
    d.ellipse([cx - 0.018 * r, cy - 0.034 * r, cx + 0.018 * r, cy + 0.034 * r], fill=fill)


def _centres(placement: Placement, mirror: int) -> list[tuple[float, float]]:
    """Return where each ball sits across the figure, and how strongly it is drawn (1: the worked one)."""
    spot = placement.spot
    if placement.tool is Tool.TWO_BALLS:
        return [(-spot.x, 1.0 if placement.side is None or mirror < 0 else 0.45),
                (spot.x, 1.0 if placement.side is None or mirror > 0 else 0.45)]
    return [(spot.x * mirror, 1.0)]


def _halo(image: PILImage.Image, placement: Placement, mirror: int, px, scale: float) -> None:
    """Lay a soft warm glow around the spot, at the picture's own size."""
    from PIL import Image, ImageDraw, ImageFilter

    halo = Image.new("L", image.size, 0)
    d = ImageDraw.Draw(halo)
    for x, weight in _centres(placement, mirror):
        cx, cy = px(x, placement.spot.y)
        k = (0.05 if placement.tool is not Tool.ROLLER else 0.085) * scale
        d.ellipse([cx - k, cy - k, cx + k, cy + k], fill=round(150 * weight))
    image.paste(BALL_LIGHT, mask=halo.filter(ImageFilter.GaussianBlur(0.02 * scale)))


def _tool_patch(image: PILImage.Image, placement: Placement, mirror: int, px, scale: float) -> None:
    """Draw the ball, two balls or the roller SUPERSAMPLE times larger on the patch it covers."""
    from PIL import Image

    spot = placement.spot
    reach = max(spot.reach or ROLLER_HALF_LENGTH, spot.x + BALL_RADIUS * 1.2, ROLLER_RADIUS) + 0.02
    cx, cy = px(spot.x * mirror if placement.tool is not Tool.TWO_BALLS else 0.0, spot.y)
    half = reach * scale
    width, height = image.size
    box = [max(0, int((cx - half) / SUPERSAMPLE)), max(0, int((cy - half) / SUPERSAMPLE)),
           min(width, int((cx + half) / SUPERSAMPLE) + 1), min(height, int((cy + half) / SUPERSAMPLE) + 1)]
    if box[0] >= box[2] or box[1] >= box[3]:
        return
    patch = image.crop(box)
    big = patch.resize((patch.size[0] * SUPERSAMPLE, patch.size[1] * SUPERSAMPLE), Image.Resampling.BICUBIC)
    ox, oy = box[0] * SUPERSAMPLE, box[1] * SUPERSAMPLE
    _tool(big, placement, mirror, lambda x, y: (px(x, y)[0] - ox, px(x, y)[1] - oy), scale)
    image.paste(big.resize(patch.size, Image.Resampling.LANCZOS), box[:2])


def _tool(image: PILImage.Image, placement: Placement, mirror: int, px, scale: float) -> None:
    """Draw what presses on the spot: the ball, two balls in their sock, or the roller."""
    from PIL import ImageDraw

    spot = placement.spot
    centres = _centres(placement, mirror)
    d = ImageDraw.Draw(image)
    if placement.tool is Tool.ROLLER:
        cx, cy = px(spot.x * mirror, spot.y)
        angle = math.radians(spot.angle) * mirror
        reach = (spot.reach or ROLLER_HALF_LENGTH) * scale
        dx, dy = math.cos(angle) * reach, math.sin(angle) * reach
        a, b = (cx - dx, cy - dy), (cx + dx, cy + dy)
        rr = ROLLER_RADIUS * scale
        _capsule(d, a, rr, b, rr, ROLLER)
        d.ellipse([b[0] - rr * 0.55, b[1] - rr, b[0] + rr * 0.55, b[1] + rr], fill=ROLLER_END)
        d.line([(a[0], a[1] - rr * 0.45), (b[0], b[1] - rr * 0.45)], fill=(186, 164, 222),
               width=max(2, round(rr * 0.22)))
        return
    rb = BALL_RADIUS * scale
    if placement.tool is Tool.TWO_BALLS:  # the sock that holds them
        (x0, _), (x1, _) = centres
        _capsule(d, px(x0, spot.y), rb * 1.08, px(x1, spot.y), rb * 1.08, (214, 206, 196))
    for x, weight in centres:
        cx, cy = px(x, spot.y)
        colour = BALL if weight > 0.5 else tuple(round(c * 0.6 + p * 0.4) for c, p in zip(BALL, PAPER, strict=True))
        d.ellipse([cx - rb, cy - rb, cx + rb, cy + rb], fill=colour)
        hl = rb * 0.38
        d.ellipse([cx - rb * 0.45 - hl, cy - rb * 0.45 - hl, cx - rb * 0.45 + hl, cy - rb * 0.45 + hl],
                  fill=BALL_LIGHT)
