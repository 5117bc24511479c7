"""A wild-photo proxy: an aligned face chip turned into a photo-like scene under one named condition.

There are no labelled real photos to test on, so each condition imitates one thing a real photo does to a face (a head
turned or rolled, hard or dim light, blur, compression, a small face, a hand, glasses, make-up, a group) and pastes
the chip into a photo with ``dldl_core.data.synthetic``; the full pipeline (detect, align, network) then has to find
and read the face. Every single-face condition ``(chip, rng) -> photo`` takes a (C, C, 3) uint8 chip aligned like the
training chips (its keypoints at the default template, dldl_core.models.preprocess) and draws the condition's own
random numbers from a child of ``rng``, so a seed gives the same background, face size and place as ``pasted``:
conditions differ from the baseline by their effect alone. ``group_photo`` takes several chips and returns where each
went."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from dldl_core.data.synthetic import paste_face, paste_into_photo, random_background, scale_and_rotate
from dldl_core.models.preprocess import template_points

PHOTO_SIZE = (480, 640)  # (H, W) of a single-face scene, as in the pasted pipeline
THUMBNAIL_SIZE = (120, 160)  # low_resolution: a thumbnail or a far webcam frame
GROUP_SIZE = (960, 1280)  # group_photo
CAMERA_DISTANCE = 2.0  # yaw/pitch: a pinhole camera this many chip widths from the head (about 50 cm)
WARM_TINT = (1.12, 1.0, 0.82)  # RGB gains of a tungsten / sunset light
COLD_TINT = (0.86, 0.97, 1.14)  # of shade or a fluorescent tube


def _effect_rng(rng: np.random.Generator) -> np.random.Generator:
    """A child generator for a condition's own numbers; ``rng`` itself is left where it was."""
    return rng.spawn(1)[0]


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def chip_points(size: int) -> np.ndarray:
    """(6, 2) keypoints of an aligned (size, size) chip in pixels: right eye, left eye, nose, mouth, ears."""
    return template_points(None, size)


# --- geometry ---------------------------------------------------------------------------------------------------

def pasted(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The baseline: the chip rolled by up to +-20 degrees, 30-80 % of the photo's width (``paste_into_photo``)."""
    return paste_into_photo(chip, rng)


def _rolled(chip: np.ndarray, rng: np.random.Generator, degrees: float) -> np.ndarray:
    sign = _effect_rng(rng).choice((-1.0, 1.0))
    return paste_face(chip, rng, rotation=sign * degrees)[0]


def roll_30(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _rolled(chip, rng, 30.0)


def roll_45(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _rolled(chip, rng, 45.0)


def turned_head_maps(size: int, degrees: float, distance: float = CAMERA_DISTANCE) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps (map_x, map_y), each (size, size) float32, that show a (size, size) chip as a head turned
    by ``degrees`` about the vertical axis (positive: the image's left side turns away). The chip is wrapped on a
    vertical cylinder as wide as itself and turned; seen by a pinhole camera ``distance`` chip widths away, the
    receding side is squeezed towards the silhouette and, being farther, shorter, the other side wider and taller.
    -1 where the turned head shows what the chip does not. For a nod, swap and transpose the maps."""
    radius, camera = size / 2, distance * size
    u = (np.arange(size) + 0.5 - radius) / radius  # output columns across the cylinder, -1..1
    seen = np.arcsin(np.clip(u, -1, 1))  # angle on the cylinder now shown at each column
    source = seen + np.radians(degrees)  # where that surface point was before the turn
    x_src = np.where(np.abs(source) <= np.pi / 2, radius + radius * np.sin(source) - 0.5, -1.0)
    growth = (camera - radius * np.cos(source)) / (camera - radius * np.cos(seen))  # was farther: now larger
    rows = np.arange(size) + 0.5 - radius
    map_x = np.broadcast_to(x_src[None, :], (size, size))
    map_y = radius + rows[:, None] / growth[None, :] - 0.5  # (S, S)
    return map_x.astype(np.float32), map_y.astype(np.float32)


def _turned(chip: np.ndarray, rng: np.random.Generator, degrees: float, nod: bool) -> np.ndarray:
    """The chip turned (``nod``: nodded) as a head, pasted with the background where the head shows nothing."""
    size = chip.shape[0]
    map_x, map_y = turned_head_maps(size, degrees)
    if nod:
        map_x, map_y = map_y.T.copy(), map_x.T.copy()
    warped = cv2.remap(chip, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    inside = cv2.remap(np.full((size, size), 255, np.uint8), map_x, map_y, cv2.INTER_NEAREST,
                       borderMode=cv2.BORDER_CONSTANT)
    return paste_face(warped, rng, mask=inside)[0]


def yaw(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fx = _effect_rng(rng)
    return _turned(chip, rng, fx.choice((-1.0, 1.0)) * fx.uniform(25, 35), nod=False)


def pitch(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fx = _effect_rng(rng)
    return _turned(chip, rng, fx.choice((-1.0, 1.0)) * fx.uniform(25, 35), nod=True)


# --- light and camera -------------------------------------------------------------------------------------------

def light_field(shape: tuple[int, int], box: tuple[int, int, int, int], direction: float, lit: float,
                shade: float) -> np.ndarray:
    """(H, W) gains of a hard directional light: ``lit`` on the side of the face at angle ``direction`` (radians),
    ``shade`` on the other, the edge running through the face's centre over about a third of its width."""
    h, w = shape
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    along = (xx - (x0 + x1) / 2) * np.cos(direction) + (yy - (y0 + y1) / 2) * np.sin(direction)
    lit_share = 1 / (1 + np.exp(-along / max((x1 - x0) / 12, 1.0)))
    return shade + (lit - shade) * lit_share


def strong_light(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fx = _effect_rng(rng)
    photo, box = paste_face(chip, rng)
    gain = light_field(photo.shape[:2], box, fx.uniform(0, 2 * np.pi), fx.uniform(1.5, 1.8), fx.uniform(0.3, 0.5))
    tint = np.asarray(WARM_TINT if fx.random() < 0.5 else COLD_TINT, np.float32)
    return _to_uint8(photo * gain[..., None] * tint)


def low_light(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fx = _effect_rng(rng)
    photo = paste_into_photo(chip, rng).astype(np.float32) / 255
    dark = (photo * fx.uniform(0.25, 0.4)) ** fx.uniform(1.0, 1.3) * 255
    grain = fx.normal(0, fx.uniform(4, 8), dark.shape[:2])[..., None]  # luminance noise, all channels alike
    colour = fx.normal(0, 3, dark.shape)  # chroma noise
    return _to_uint8(dark + grain + colour)


def blur(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fx = _effect_rng(rng)
    photo, (x0, _, x1, _) = paste_face(chip, rng)
    sigma = fx.uniform(2, 3) * (x1 - x0) / 200  # 2-3 px at a 200 px face
    return cv2.GaussianBlur(photo, (0, 0), sigma)


def jpeg(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    quality = int(_effect_rng(rng).integers(8, 16))
    photo = paste_into_photo(chip, rng)
    _, data = cv2.imencode(".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def low_resolution(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    width = THUMBNAIL_SIZE[1]
    return paste_into_photo(chip, rng, THUMBNAIL_SIZE, (36 / width, 48 / width))


# --- things on the face -----------------------------------------------------------------------------------------

def _ellipse_mask(shape: tuple[int, int], centre: np.ndarray, axes: tuple[float, float], angle: float,
                  soft: float) -> np.ndarray:
    """(H, W) float32 in [0, 1]: a filled ellipse with edges blurred by ``soft`` pixels."""
    mask = np.zeros(shape, np.float32)
    cv2.ellipse(mask, (int(round(centre[0])), int(round(centre[1]))), (int(round(axes[0])), int(round(axes[1]))),
                angle, 0, 360, 1.0, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(mask, (0, 0), soft) if soft > 0 else mask


def draw_hand(chip: np.ndarray, centre: np.ndarray, axes: tuple[float, float], angle: float,
              skin: np.ndarray) -> np.ndarray:
    """A hand as a skin-coloured ellipse, lit from above (darker towards its rim) with finger creases along it."""
    size = chip.shape[0]
    mask = _ellipse_mask(chip.shape[:2], centre, axes, angle, size / 150)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    u, v = (xx - centre[0]) * c + (yy - centre[1]) * s, -(xx - centre[0]) * s + (yy - centre[1]) * c
    rim = np.clip((u / axes[0]) ** 2 + (v / axes[1]) ** 2, 0, 1)
    shading = 1.12 - 0.3 * rim - 0.1 * (yy - centre[1]) / max(axes)
    creases = np.ones_like(mask)
    for k in (-1, 0, 1):  # the gaps between four fingers, along the ellipse's long axis
        creases[(np.abs(v - k * axes[1] / 2) < size / 300 + 0.5) & (np.abs(u) < 0.8 * axes[0])] = 0.86
    hand = skin[None, None, :] * (shading * cv2.GaussianBlur(creases, (0, 0), size / 200))[..., None]
    return _to_uint8(chip * (1 - mask[..., None]) + hand * mask[..., None])


def skin_colour(chip: np.ndarray) -> np.ndarray:
    """(3,) float: the median colour of the cheek below each eye."""
    points, half = chip_points(chip.shape[0]), chip.shape[0] // 20
    patches = [chip[int(p[1]) - half:int(p[1]) + half, int(p[0]) - half:int(p[0]) + half].reshape(-1, 3)
               for p in (points[0] * 0.5 + points[3] * 0.5, points[1] * 0.5 + points[3] * 0.5)]
    return np.median(np.concatenate(patches), axis=0).astype(np.float32)


def hand_occluder(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fx, size = _effect_rng(rng), chip.shape[0]
    eye_right, eye_left, _, mouth = chip_points(size)[:4]
    if fx.random() < 0.5:  # over the mouth and chin, fingers across
        centre, axes, angle = (*mouth, 0, 0.04 * size), (0.3 * size, 0.16 * size), fx.uniform(-15, 15)
    else:  # flat on one cheek, fingers upwards
        eye = eye_right if fx.random() < 0.5 else eye_left
        centre = eye + (eye - mouth) * (0.2, -0.6) + (0, 0.05 * size)
        axes, angle = (0.28 * size, 0.14 * size), 90 + fx.uniform(-20, 20)
    skin = skin_colour(chip) * fx.uniform(0.9, 1.1, 3).astype(np.float32)
    return paste_into_photo(draw_hand(chip, centre, axes, angle, skin), rng)


def draw_glasses(chip: np.ndarray, sunglasses: bool, colour: tuple[int, int, int]) -> np.ndarray:
    """Glasses from the template's eyes: dark lenses (``sunglasses``) or thick frames, a bridge and the temples."""
    size = chip.shape[0]
    eye_right, eye_left = chip_points(size)[:2]
    spread = float(np.hypot(*(eye_left - eye_right)))
    axes, angle = (0.3 * spread, 0.22 * spread), float(np.degrees(np.arctan2(*(eye_left - eye_right)[::-1])))
    out = chip.astype(np.float32)
    lenses = sum(_ellipse_mask(chip.shape[:2], e, axes, angle, 0) for e in (eye_right, eye_left))
    tint = 0.9 if sunglasses else 0.12
    out = out * (1 - tint * lenses[..., None]) + np.float32(20) * tint * lenses[..., None]
    frames = _to_uint8(out)
    thick = max(2, int(spread * (0.04 if sunglasses else 0.08)))
    for eye in (eye_right, eye_left):
        cv2.ellipse(frames, tuple(int(v) for v in eye), tuple(int(v) for v in axes), angle, 0, 360, colour, thick,
                    cv2.LINE_AA)
    inner = [tuple(int(v) for v in e + d * axes[0] * (eye_left - eye_right) / spread)
             for e, d in ((eye_right, 1), (eye_left, -1))]
    cv2.line(frames, inner[0], inner[1], colour, thick, cv2.LINE_AA)
    for eye, d in ((eye_right, -1), (eye_left, 1)):
        outer = eye + d * axes[0] * (eye_left - eye_right) / spread
        cv2.line(frames, tuple(int(v) for v in outer), (int(outer[0] + d * 0.18 * spread), int(outer[1])),
                 colour, thick, cv2.LINE_AA)
    return frames


def glasses(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fx = _effect_rng(rng)
    colour = tuple(int(v) for v in fx.integers(10, 60, 3))
    return paste_into_photo(draw_glasses(chip, bool(fx.random() < 0.5), colour), rng)


def apply_makeup(chip: np.ndarray, lipstick: np.ndarray, blush: np.ndarray, strength: float) -> np.ndarray:
    """Foundation (the skin smoothed by an edge-keeping filter, which hides fine wrinkles), blush on the cheeks
    and lipstick on the mouth that keeps the lips' own shading and spares pale teeth; colours RGB, ``strength``
    in [0, 1]."""
    size = chip.shape[0]
    eye_right, eye_left, nose, mouth = chip_points(size)[:4]
    face = _ellipse_mask(chip.shape[:2], (eye_right + eye_left + mouth) / 3, (0.3 * size, 0.36 * size), 0, size / 30)
    smooth = cv2.bilateralFilter(chip, 9, 40, 9).astype(np.float32)
    out = chip * (1 - strength * face[..., None]) + smooth * strength * face[..., None]
    for eye in (eye_right, eye_left):
        cheek = _ellipse_mask(chip.shape[:2], eye * 0.45 + nose * 0.55 + (eye - nose) * (0.5, 0),
                              (0.1 * size, 0.07 * size), 0, size / 25)[..., None] * 0.45 * strength
        out = out * (1 - cheek) + blush * cheek
    saturation = cv2.cvtColor(chip, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float32)
    lip_like = np.clip((saturation - 40) / 40, 0, 1)  # lips are saturated, teeth are not
    mouth_area = _ellipse_mask(chip.shape[:2], mouth, (0.12 * size, 0.05 * size), 0, size / 120)
    lips = (mouth_area * lip_like)[..., None]
    shading = out.mean(axis=2, keepdims=True) / max(float(out[mouth_area > 0.5].mean()), 1.0)
    return _to_uint8(out * (1 - 0.75 * lips) + lipstick * shading * 0.75 * lips)


def makeup(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fx = _effect_rng(rng)
    lipstick = np.asarray([(190, 20, 40), (200, 60, 110), (120, 20, 50)][fx.integers(3)], np.float32)
    blush = np.asarray((235, 120, 130), np.float32)
    return paste_into_photo(apply_makeup(chip, lipstick, blush, fx.uniform(0.6, 0.9)), rng)


# --- several faces ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupPhoto:
    photo: np.ndarray  # (H, W, 3) uint8
    boxes: list[tuple[int, int, int, int]]  # each chip's square (x0, y0, x1, y1) before its roll, in chip order


def _free_corner(side: int, taken: list[tuple[int, int, int, int]], shape: tuple[int, int],
                 rng: np.random.Generator, tries: int = 200) -> tuple[int, int]:
    """A random top-left corner for a (side, side) square that overlaps none of ``taken`` (the last try if none)."""
    h, w = shape
    for _ in range(tries):
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        if all(x + side <= a or c <= x or y + side <= b or d <= y for a, b, c, d in taken):
            break
    return x, y


def group_photo(chips: Sequence[np.ndarray], rng: np.random.Generator) -> GroupPhoto:
    """Every chip, 10-20 % of the width and rolled by up to +-10 degrees, in one 1280x960 scene, none overlapping."""
    h, w = GROUP_SIZE
    photo, boxes = random_background(h, w, rng), []
    for chip in chips:
        side = int(rng.uniform(0.10, 0.20) * w)
        face, inside = scale_and_rotate(chip, side, rng.uniform(-10, 10))
        x, y = _free_corner(side, boxes, GROUP_SIZE, rng)
        region = photo[y:y + side, x:x + side]
        region[inside > 0] = face[inside > 0]
        boxes.append((x, y, x + side, y + side))
    return GroupPhoto(photo, boxes)


@dataclass(frozen=True)
class Condition:
    make: Callable  # (chip, rng) -> (H, W, 3) photo; for a group, (chips, rng) -> GroupPhoto
    description: str
    photo_size: tuple[int, int]  # (H, W) of the photo it makes
    faces: tuple[int, int] = (1, 1)  # faces per photo, fewest and most

    @property
    def is_group(self) -> bool:
        return self.faces[1] > 1


CONDITIONS: dict[str, Condition] = {
    "pasted": Condition(pasted, "baseline: rolled up to +-20 degrees, 30-80 % of a 640x480 photo's width",
                        PHOTO_SIZE),
    "roll_30": Condition(roll_30, "head rolled by exactly +-30 degrees", PHOTO_SIZE),
    "roll_45": Condition(roll_45, "head rolled by exactly +-45 degrees", PHOTO_SIZE),
    "yaw": Condition(yaw, "head turned 25-35 degrees left or right (the chip on a cylinder, in perspective)",
                     PHOTO_SIZE),
    "pitch": Condition(pitch, "head nodded 25-35 degrees up or down (the chip on a cylinder, in perspective)",
                       PHOTO_SIZE),
    "strong_light": Condition(strong_light, "hard side light: one side x1.5-1.8 and clipped, the other x0.3-0.5, "
                              "warm or cold tint", PHOTO_SIZE),
    "low_light": Condition(low_light, "dark: gain 0.25-0.4, gamma 1-1.3, sensor noise", PHOTO_SIZE),
    "blur": Condition(blur, "Gaussian blur, sigma 2-3 px per 200 px of face", PHOTO_SIZE),
    "jpeg": Condition(jpeg, "JPEG quality 8-15", PHOTO_SIZE),
    "low_resolution": Condition(low_resolution, "a 160x120 photo with the face 36-48 px wide", THUMBNAIL_SIZE),
    "hand_occluder": Condition(hand_occluder, "a hand over the mouth and chin or on one cheek", PHOTO_SIZE),
    "glasses": Condition(glasses, "dark sunglasses or thick frames", PHOTO_SIZE),
    "makeup": Condition(makeup, "foundation that smooths the skin, blush and lipstick", PHOTO_SIZE),
    "group_photo": Condition(group_photo, "4-6 faces, each 10-20 % of a 1280x960 photo's width, rolled up to +-10 "
                             "degrees", GROUP_SIZE, faces=(4, 6)),
}
