"""Training augmentation of DLDL-v2, batched with a separate random draw per image.

The paper's recipe: horizontal flip (p .5), grayscale (p .5), random rescale, rotation +-15 degrees, crop (a shift),
colour jitter (brightness, contrast, saturation 0.4). The ``wild`` preset adds what real photos do to a face and
the UTKFace chips rarely show: stronger roll, a perspective warp (a turned or nodded head), directional light,
a colour cast, pasted occluders (a hand, a glass, a phone), blur, low resolution and JPEG blocking; ``wild_eyewear``
adds glasses over the eyes (dark lenses or clear lenses in thick frames), ``wild_hands`` hands in the face's own skin
colour (a palm and four fingers) over the mouth, chin or a cheek, ``wild_heads`` heads turned or nodded on a cylinder.
torchvision.transforms.v2 draws one set of parameters per call, so applying it per image costs a Python round trip per
image, which on a small CPU is slower than the TinyAgeNet step itself. Here the same operations run once per batch,
with per-image parameters: one affine grid for rotation + rescale + shift, and broadcast arithmetic for flip,
grayscale and jitter (grayscale weights from torchvision's ``rgb_to_grayscale``).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from dldl_core.models.preprocess import template_points


@dataclass(frozen=True)
class AugmentConfig:
    flip: float = 0.5  # probability of a horizontal flip
    grayscale: float = 0.5  # probability of grayscale
    rotation: float = 15.0  # max |rotation| in degrees
    scale: tuple[float, float] = (0.9, 1.1)  # random rescale range
    shift: float = 0.06  # max |shift| as a fraction of the size (the random crop)
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    perspective: float = 0.0  # max perspective strength (yaw; pitch at half of it), in grid units
    light: float = 0.0  # probability of a directional light gradient (strength up to 0.9) and a gamma change
    colour_cast: float = 0.0  # max per-channel gain change (a white-balance or make-up-like tint)
    occlusion: float = 0.0  # probability of a pasted occluder (a textured rectangle or ellipse)
    blur: float = 0.0  # probability of a Gaussian blur (sigma up to 2 % of the size)
    low_resolution: float = 0.0  # probability of a down-and-up resize (to a fraction of the size in the range below)
    low_resolution_range: tuple[float, float] = (0.25, 0.6)  # the fraction of the size that resize goes down to
    jpeg: float = 0.0  # probability of JPEG compression at quality 15-60
    low_light: float = 0.0  # probability of a dim, grainy exposure (see _low_light)
    eyewear: float = 0.0  # probability of glasses drawn over the chip's eyes, before the warp (see _eyewear)
    hands: float = 0.0  # probability of a hand over the lower face or a cheek, before the warp (see _hand)
    head_turn: float = 0.0  # probability of a head turned or nodded on a cylinder, foreshortened (see _head_turn)
    head_turn_degrees: float = 35.0  # the largest turn or nod

    def to_dict(self) -> dict:
        return asdict(self)


def augment_preset(name: str) -> AugmentConfig:
    """``paper``: the DLDL-v2 recipe; ``light``: half its rotation, shift, rescale, jitter and grayscale rate, for
    small networks that underfit under the full recipe; ``wild``: the paper's recipe with stronger roll and every
    operation of real photos; ``wild_light``: the paper's rotation with lighter jitter and grayscale, and about half
    of wild's rates of the real-photo operations (a last, settling stage after ``wild``); ``wild_night``:
    ``wild_light`` plus dim, grainy exposures on 15 % of the faces (a network that read sensor grain as wrinkled skin
    put the faces of a dim real group photo at 45-65: benchmarks/real_group_photo.py); ``wild_resample``:
    ``wild_light`` with wider rescale and shift (the product's own alignment differs from the chips' by a few per
    cent) and frequent mild down-and-up resizing, to test whether resampling on the way from a photo costs a 128 px
    network accuracy (it did not help: see the model card); ``wild_eyewear``: ``wild_night`` plus glasses on 15 %
    of the faces and twice its rate of pasted occluders (a hand or glasses over the face were the wild proxy's two
    worst conditions); ``wild_hands``: ``wild_eyewear`` plus a hand in the face's skin colour on 15 % of the faces,
    with the flat pasted occluders back down to 15 % (flat patches had not helped with a hand over the face);
    ``wild_heads``: ``wild_eyewear`` plus, on 30 % of the faces, a head turned or nodded by up to 35 degrees on a
    cylinder (the planar perspective warp does not foreshorten a face as a turned head does)."""
    if name == "paper":
        return AugmentConfig()
    if name == "light":
        return AugmentConfig(grayscale=0.25, rotation=7.5, scale=(0.95, 1.05), shift=0.03,
                             brightness=0.2, contrast=0.2, saturation=0.2)
    if name == "wild":
        return AugmentConfig(rotation=25.0, scale=(0.85, 1.15), shift=0.08, perspective=0.3, light=0.4,
                             colour_cast=0.15, occlusion=0.25, blur=0.15, low_resolution=0.15, jpeg=0.2)
    if name == "wild_light":
        return AugmentConfig(grayscale=0.25, rotation=15.0, scale=(0.9, 1.1), shift=0.05, brightness=0.3,
                             contrast=0.3, saturation=0.3, perspective=0.15, light=0.2, colour_cast=0.1,
                             occlusion=0.1, blur=0.1, low_resolution=0.1, jpeg=0.1)
    if name == "wild_night":
        return replace(augment_preset("wild_light"), low_light=0.15)
    if name == "wild_resample":
        return replace(augment_preset("wild_light"), scale=(0.85, 1.15), shift=0.08, blur=0.15, low_resolution=0.35,
                       low_resolution_range=(0.3, 0.8), jpeg=0.15)
    if name == "wild_eyewear":
        return replace(augment_preset("wild_night"), eyewear=0.15, occlusion=0.2)
    if name == "wild_hands":
        return replace(augment_preset("wild_eyewear"), hands=0.15, occlusion=0.15)
    if name == "wild_heads":
        return replace(augment_preset("wild_eyewear"), head_turn=0.3)
    raise ValueError(f"unknown augmentation preset {name!r}: choose one of {', '.join(AUGMENT_PRESETS)}")


AUGMENT_PRESETS = ("paper", "light", "wild", "wild_light", "wild_night", "wild_resample", "wild_eyewear", "wild_hands",
                   "wild_heads")


def _uniform(n: int, lo: float, hi: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device) * (hi - lo) + lo


def augment_batch(images: torch.Tensor, config: AugmentConfig = AugmentConfig(),
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, 3, H, W) float in [0, 1] -> augmented (B, 3, H, W) float in [0, 1]."""
    b, dev = images.shape[0], images.device
    angle = _uniform(b, -config.rotation, config.rotation, generator, dev) * math.pi / 180
    scale = _uniform(b, *config.scale, generator, dev)
    shift = _uniform(2 * b, -config.shift, config.shift, generator, dev).reshape(b, 2) * 2  # in [-1, 1] units
    flip = torch.rand(b, generator=generator, device=dev) < config.flip
    sign = torch.where(flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos * sign, -sin, shift[:, 0]], 1),
                         torch.stack([sin * sign, cos, shift[:, 1]], 1)], 1)  # (B, 2, 3) output -> input
    if config.eyewear > 0:  # drawn at the template's eyes, so before the warp moves them
        images = _eyewear(images, config.eyewear, generator)
    if config.hands > 0:  # placed from the template's nose and mouth, so before the warp too
        images = _hand(images, config.hands, generator)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if config.perspective > 0:
        grid = _perspective(grid, config.perspective, generator)
    if config.head_turn > 0:
        grid = _head_turn(grid, config.head_turn, config.head_turn_degrees, generator)
    x = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if config.occlusion > 0:
        x = _occlude(x, config.occlusion, generator)
    if config.light > 0:
        x = _directional_light(x, config.light, generator)
    if config.colour_cast > 0:
        x = x * _uniform(3 * b, 1 - config.colour_cast, 1 + config.colour_cast, generator, dev).reshape(b, 3, 1, 1)

    def jitter(strength: float) -> torch.Tensor:
        return _uniform(b, 1 - strength, 1 + strength, generator, dev).reshape(b, 1, 1, 1)

    x = x * jitter(config.brightness)
    gray = TF.rgb_to_grayscale(x.clamp(0, 1))  # (B, 1, H, W)
    x = (x - gray.mean((2, 3), keepdim=True)) * jitter(config.contrast) + gray.mean((2, 3), keepdim=True)
    gray = TF.rgb_to_grayscale(x.clamp(0, 1))
    x = gray + (x - gray) * jitter(config.saturation)
    to_gray = (torch.rand(b, generator=generator, device=dev) < config.grayscale).reshape(b, 1, 1, 1)
    x = torch.where(to_gray, TF.rgb_to_grayscale(x.clamp(0, 1)).expand_as(x), x).clamp(0, 1)
    if config.low_light > 0:
        x = _low_light(x, config.low_light, generator)
    return _camera(x, config, generator)


def _chosen(b: int, p: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return (torch.rand(b, generator=generator, device=device) < p).reshape(b, 1, 1, 1)


def _perspective(grid: torch.Tensor, strength: float, generator: torch.Generator | None) -> torch.Tensor:
    """Divide each sampling position by 1 + g x + h y: a projective warp, as when a head turns (g) or nods (h)."""
    b = grid.shape[0]
    g = _uniform(b, -strength, strength, generator, grid.device).reshape(b, 1, 1)
    h = _uniform(b, -strength / 2, strength / 2, generator, grid.device).reshape(b, 1, 1)
    denominator = 1 + g * grid[..., 0] + h * grid[..., 1]
    return grid / denominator.unsqueeze(-1)


def cylinder_turn(grid: torch.Tensor, radians: torch.Tensor, nod: torch.Tensor, radius: torch.Tensor,
                  distance: torch.Tensor) -> torch.Tensor:
    """Sampling positions (B, H, W, 2) in [-1, 1] units -> those that show each image as a head on a cylinder of
    ``radius`` (B,), turned by ``radians`` (B,) about its vertical axis (``nod``, (B,) bool: about its horizontal
    axis), seen by a pinhole camera ``distance`` (B,) away, all in half image widths. A point shown at u on the
    cylinder came from angle arcsin(u / r) - turn; the side that turned away is squeezed towards the silhouette and,
    now farther, drawn smaller, the other side wider and larger. Where the cylinder shows its back, the image's edge
    on that side (the chip's background) is drawn."""
    grid = torch.where(nod.reshape(-1, 1, 1, 1), grid.flip(-1), grid)  # a nod: the same turn with x and y swapped
    r, d = radius.reshape(-1, 1, 1), distance.reshape(-1, 1, 1)
    seen = torch.asin((grid[..., 0] / r).clamp(-1, 1))
    source = seen - radians.reshape(-1, 1, 1)
    across = torch.where(source.abs() <= math.pi / 2, r * torch.sin(source), torch.sign(source))
    along = grid[..., 1] * (d - r * torch.cos(source)) / (d - r * torch.cos(seen))
    turned = torch.stack([across, along], -1)
    return torch.where(nod.reshape(-1, 1, 1, 1), turned.flip(-1), turned)


def _head_turn(grid: torch.Tensor, p: float, max_degrees: float, generator: torch.Generator | None) -> torch.Tensor:
    """A share ``p`` of the faces turned or nodded (half each) by up to ``max_degrees`` either way, on a cylinder 1-1.2
    half widths in radius seen from 3-6 half widths (``cylinder_turn``); the others keep their positions."""
    b, dev = grid.shape[0], grid.device
    chosen = torch.rand(b, generator=generator, device=dev) < p
    radians = _uniform(b, -max_degrees, max_degrees, generator, dev) * math.pi / 180
    nod = torch.rand(b, generator=generator, device=dev) < 0.5
    turned = cylinder_turn(grid, radians, nod, _uniform(b, 1.0, 1.2, generator, dev),
                           _uniform(b, 3.0, 6.0, generator, dev))
    return torch.where(chosen.reshape(b, 1, 1, 1), turned, grid)


def _directional_light(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """A light gradient across the face in a random direction (one side lit, the other in shade) and a gamma."""
    b, _, h, w = x.shape
    dev = x.device
    angle = _uniform(b, 0, 2 * math.pi, generator, dev).reshape(b, 1, 1, 1)
    strength = _uniform(b, 0.2, 0.9, generator, dev).reshape(b, 1, 1, 1)
    ys = torch.linspace(-1, 1, h, device=dev).reshape(1, 1, h, 1)
    xs = torch.linspace(-1, 1, w, device=dev).reshape(1, 1, 1, w)
    gain = 1 + strength * (torch.cos(angle) * xs + torch.sin(angle) * ys)
    gamma = torch.exp(_uniform(b, -0.5, 0.5, generator, dev)).reshape(b, 1, 1, 1)
    lit = (x * gain).clamp(0, 1) ** gamma
    return torch.where(_chosen(b, p, generator, dev), lit, x)


def _low_light(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """A dim scene on a small sensor, on the chosen faces only: the light cut to 0.25-0.6 with a gamma of 1.0-1.3,
    grain (luminance noise of std 0.01-0.04, chroma noise of half that, both blurred by one sigma of 0-1.2 px per
    batch, as demosaicing and resampling correlate it), and on half of them the exposure pulled back up by a random
    share of the lost light, as a phone's auto-exposure does, which amplifies the grain with the face."""
    return _on_chosen(x, p, generator, _dim)


def _dim(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Every image of ``x`` dimmed and grainy as ``_low_light`` says."""
    b, _, h, w = x.shape
    dev = x.device
    gain = _uniform(b, 0.25, 0.6, generator, dev).reshape(b, 1, 1, 1)
    gamma = _uniform(b, 1.0, 1.3, generator, dev).reshape(b, 1, 1, 1)
    std = _uniform(b, 0.01, 0.04, generator, dev).reshape(b, 1, 1, 1)
    noise = (torch.randn(b, 1, h, w, generator=generator, device=dev)
             + 0.5 * torch.randn(b, 3, h, w, generator=generator, device=dev))
    sigma = float(_uniform(1, 0.0, 1.2, generator, dev))
    if sigma > 0.3:
        kernel = 2 * math.ceil(3 * sigma) + 1
        noise = TF.gaussian_blur(noise, [kernel, kernel], [sigma])
        noise = noise / noise.std((1, 2, 3), keepdim=True).clamp_min(1e-6)  # blurring must not weaken the grain
    dark = (x * gain).clamp(0, 1) ** gamma + std * noise
    recovered = 1 + _uniform(b, 0, 1, generator, dev).reshape(b, 1, 1, 1) * (1 / gain - 1)
    return torch.where(_chosen(b, 0.5, generator, dev), dark * recovered, dark).clamp(0, 1)


def _on_chosen(x: torch.Tensor, p: float, generator: torch.Generator | None,
               effect: Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]) -> torch.Tensor:
    """``effect`` applied to a random share ``p`` of the batch, computed on those images only (an effect on 10-15 %
    of the faces then costs 10-15 % of its batch price)."""
    chosen = _chosen(x.shape[0], p, generator, x.device).flatten().nonzero().flatten()
    if not len(chosen):
        return x
    out = x.clone()
    out[chosen] = effect(x[chosen], generator)
    return out


def _occlude(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Paste a shaded, noisy rectangle or ellipse over a random part of the lower two thirds of the face (a hand,
    a glass, a phone), in a random or a skin colour."""
    b, _, h, w = x.shape
    dev = x.device
    cx, cy = _uniform(b, 0.1, 0.9, generator, dev), _uniform(b, 0.3, 1.0, generator, dev)
    rx, ry = _uniform(b, 0.12, 0.3, generator, dev), _uniform(b, 0.12, 0.3, generator, dev)
    ys = torch.linspace(0, 1, h, device=dev).reshape(1, h, 1)
    xs = torch.linspace(0, 1, w, device=dev).reshape(1, 1, w)
    dx, dy = (xs - cx.reshape(b, 1, 1)) / rx.reshape(b, 1, 1), (ys - cy.reshape(b, 1, 1)) / ry.reshape(b, 1, 1)
    ellipse = torch.rand(b, generator=generator, device=dev).reshape(b, 1, 1) < 0.5
    inside = torch.where(ellipse, dx ** 2 + dy ** 2 <= 1, (dx.abs() <= 1) & (dy.abs() <= 1)).unsqueeze(1)
    colour = torch.rand(b, 3, 1, 1, generator=generator, device=dev)
    skin = x.mean((2, 3), keepdim=True) * _uniform(b, 0.8, 1.25, generator, dev).reshape(b, 1, 1, 1)
    colour = torch.where(_chosen(b, 0.5, generator, dev), skin, colour)  # half of them skin-coloured, like a hand
    shading = 1 + 0.3 * (dx.unsqueeze(1) * _uniform(b, -1, 1, generator, dev).reshape(b, 1, 1, 1))
    noise = 0.08 * torch.randn(b, 1, h, w, generator=generator, device=dev)
    patch = (colour * shading + noise).clamp(0, 1)
    return torch.where(inside & _chosen(b, p, generator, dev), patch, x)


def _eyewear(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Glasses over the aligned chip's eyes: two lenses (ellipses, or rounded rectangles as a superellipse) a little
    off the template's eye centres, either dark and tinted (sunglasses) or clear in a thick dark frame, joined by a
    bridge."""
    return _on_chosen(x, p, generator, _draw_glasses)


def _draw_glasses(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Glasses on every face of ``x``, as ``_eyewear`` says."""
    b, _, h, w = x.shape
    dev = x.device
    eyes = torch.as_tensor(template_points(None, 1.0)[:2], dtype=x.dtype, device=dev)  # (2, 2) x, y in [0, 1]
    spread = float((eyes[1] - eyes[0]).norm())
    centre = eyes.mean(0) + _uniform(2 * b, -0.02, 0.02, generator, dev).reshape(b, 2)
    half = (eyes[1] - eyes[0]).abs()[0] / 2 * _uniform(b, 0.9, 1.1, generator, dev)  # lens centres' half spacing
    rx = spread * _uniform(b, 0.26, 0.36, generator, dev)
    ry = rx * _uniform(b, 0.6, 0.9, generator, dev)
    power = torch.where(_chosen(b, 0.5, generator, dev).reshape(b), 2.0, 4.0)  # ellipse or rounded rectangle
    ys = torch.linspace(0, 1, h, device=dev, dtype=x.dtype).reshape(1, h, 1)
    xs = torch.linspace(0, 1, w, device=dev, dtype=x.dtype).reshape(1, 1, w)

    def lens_radius(side: float) -> torch.Tensor:  # (B, H, W): 1 on the lens's rim
        dx = (xs - (centre[:, 0] + side * half).reshape(b, 1, 1)) / rx.reshape(b, 1, 1)
        dy = (ys - centre[:, 1].reshape(b, 1, 1)) / ry.reshape(b, 1, 1)
        k = power.reshape(b, 1, 1)
        return (dx.abs() ** k + dy.abs() ** k) ** (1 / k)

    radius = torch.minimum(lens_radius(-1.0), lens_radius(1.0)).unsqueeze(1)
    thickness = _uniform(b, 0.08, 0.22, generator, dev).reshape(b, 1, 1, 1)
    bridge = ((ys - centre[:, 1].reshape(b, 1, 1)).abs() <= ry.reshape(b, 1, 1) * 0.12) & \
             ((xs - centre[:, 0].reshape(b, 1, 1)).abs() <= half.reshape(b, 1, 1))
    frame = (radius > 1) & ((radius <= 1 + thickness) | bridge.unsqueeze(1))
    frame_colour = _uniform(3 * b, 0.0, 0.3, generator, dev).reshape(b, 3, 1, 1)
    sunglasses = _chosen(b, 0.5, generator, dev)
    tint = torch.where(sunglasses, _uniform(b, 0.6, 0.95, generator, dev).reshape(b, 1, 1, 1),
                       _uniform(b, 0.0, 0.15, generator, dev).reshape(b, 1, 1, 1))
    lens_colour = _uniform(3 * b, 0.0, 0.2, generator, dev).reshape(b, 3, 1, 1)
    glazed = x * (1 - tint) + lens_colour * tint
    out = torch.where(radius <= 1, glazed, x)
    return torch.where(frame, frame_colour.expand_as(x), out)


def _hand(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """A hand over the chosen faces: a palm (an ellipse) and four fingers (capsules side by side with thin gaps
    between them) pointing in any direction, centred anywhere from one cheek to the other between the nose and the
    chin, in the skin colour around the face's own nose (with a per-channel change of up to 8 % and a brightness
    change of up to 20 %), each part shaded like a cylinder, lit from one side, with anti-aliased edges."""
    return _on_chosen(x, p, generator, _draw_hands)


def _draw_hands(faces: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """A hand on every face of ``faces``, as ``_hand`` says."""
    n, _, h, w = faces.shape
    dev, dt = faces.device, faces.dtype
    points = torch.as_tensor(template_points(None, 1.0), dtype=dt, device=dev)
    nose, mouth = points[2], points[3]
    r0, c0 = int(nose[1] * h), int(nose[0] * w)
    half = max(h // 16, 1)
    skin = faces[:, :, max(r0 - half, 0):r0 + half, max(c0 - half, 0):c0 + half].mean((2, 3), keepdim=True)
    skin = skin * _uniform(3 * n, 0.92, 1.08, generator, dev).reshape(n, 3, 1, 1)
    skin = skin * _uniform(n, 0.8, 1.2, generator, dev).reshape(n, 1, 1, 1)
    centre = torch.stack([mouth[0] + _uniform(n, -0.25, 0.25, generator, dev),
                          mouth[1] + _uniform(n, -0.12, 0.15, generator, dev)], 1)  # (n, 2)
    angle = _uniform(n, 0, 2 * math.pi, generator, dev)
    along, across = torch.cos(angle), torch.sin(angle)  # the fingers' direction
    ys = torch.linspace(0, 1, h, device=dev, dtype=dt).reshape(1, h, 1)
    xs = torch.linspace(0, 1, w, device=dev, dtype=dt).reshape(1, 1, w)
    dx, dy = xs - centre[:, 0].reshape(n, 1, 1), ys - centre[:, 1].reshape(n, 1, 1)
    u = dx * along.reshape(n, 1, 1) + dy * across.reshape(n, 1, 1)  # along the fingers
    v = -dx * across.reshape(n, 1, 1) + dy * along.reshape(n, 1, 1)  # across them
    palm_across, palm_along = _uniform(n, 0.13, 0.2, generator, dev), _uniform(n, 0.11, 0.17, generator, dev)
    finger = palm_across * 2 / 4.15  # four fingers and three thin gaps span the palm
    length = _uniform(n, 0.2, 0.32, generator, dev)
    edge = 1.5 / w  # the anti-aliased rim, in chip units
    start = (palm_along * 0.5).reshape(n, 1, 1)  # where the fingers leave the palm
    rho = ((u / palm_along.reshape(n, 1, 1)) ** 2 + (v / palm_across.reshape(n, 1, 1)) ** 2).sqrt()
    alpha = ((1 - rho) * palm_along.reshape(n, 1, 1) / edge + 0.5).clamp(0, 1)
    shade = 1 - 0.2 * rho.clamp(max=1) ** 2
    for k, share in enumerate((0.85, 1.0, 0.95, 0.75)):  # index to little finger
        offset, radius = (k - 1.5) * finger * 1.04, finger / 2
        end = start + (length * share).reshape(n, 1, 1)
        along_clamped = torch.minimum(torch.maximum(u, start), end)
        distance = ((u - along_clamped) ** 2 + (v - offset.reshape(n, 1, 1)) ** 2).sqrt()
        part = ((radius.reshape(n, 1, 1) - distance) / edge + 0.5).clamp(0, 1)
        part_shade = 1 - 0.3 * (distance / radius.reshape(n, 1, 1)).clamp(max=1) ** 2
        shade = torch.where(part > alpha, part_shade, shade)
        alpha = torch.maximum(alpha, part)
    light_angle = _uniform(n, 0, 2 * math.pi, generator, dev).reshape(n, 1, 1)
    light = 1 + _uniform(n, 0.05, 0.25, generator, dev).reshape(n, 1, 1) * (
        torch.cos(light_angle) * dx + torch.sin(light_angle) * dy) / 0.25
    hand = (skin * (shade * light).unsqueeze(1)
            + 0.015 * torch.randn(n, 1, h, w, generator=generator, device=dev, dtype=dt)).clamp(0, 1)
    return faces * (1 - alpha.unsqueeze(1)) + hand * alpha.unsqueeze(1)


def _camera(x: torch.Tensor, config: AugmentConfig, generator: torch.Generator | None) -> torch.Tensor:
    """Blur, low resolution and JPEG, each with one strength per batch and applied to a random subset of it."""
    b, _, h, w = x.shape
    dev = x.device
    if config.blur > 0:
        sigma = float(_uniform(1, 0.4, max(0.02 * w, 0.5), generator, dev))
        kernel = 2 * math.ceil(3 * sigma) + 1
        x = _on_chosen(x, config.blur, generator, lambda chosen, _: TF.gaussian_blur(chosen, [kernel, kernel], [sigma]))
    if config.low_resolution > 0:
        factor = float(_uniform(1, *config.low_resolution_range, generator, dev))
        small = F.interpolate(x, size=(max(int(h * factor), 8), max(int(w * factor), 8)), mode="area")
        up = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        x = torch.where(_chosen(b, config.low_resolution, generator, dev), up, x)
    if config.jpeg > 0 and dev.type == "cpu":
        chosen = _chosen(b, config.jpeg, generator, dev).flatten().nonzero().flatten()
        if len(chosen):
            quality = int(_uniform(1, 15, 60, generator, dev))
            with warnings.catch_warnings():  # torchvision 0.29 announces a move of its codecs to another package
                warnings.simplefilter("ignore", DeprecationWarning)
                encoded = TF.jpeg((x[chosen] * 255).round().to(torch.uint8), quality)
            x = x.clone()
            x[chosen] = encoded.float() / 255
    return x.clamp(0, 1)
