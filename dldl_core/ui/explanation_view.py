"""What the Analyze page shows of one explanation: the CAM target picked on the page, the sentence that says what
the maps show, and the maps as panels, each with its colour bar and caption."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dldl_core.explain.methods import ignores_target
from dldl_core.explain.render import with_colorbar

if TYPE_CHECKING:  # the explainer imports torch; the page's texts do not need it
    from dldl_core.explain.explainer import Explanation

TARGETS = {"expected": "Expected age (what makes it older)", "younger": "What makes it younger",
           "bin": "One age bin (click a bar)", "contrast": "Contrast of two ages"}
COLOUR_CONVENTION = (
    "**How to read the colours.** The CAM maps run from dark violet (no evidence) to yellow (the strongest "
    "evidence for the target). The occlusion and region maps show how the expected age changes when that part of "
    "the face is hidden: **blue**, the face looks **younger** without it; **red**, **older**; clear, no change. "
    "Each map has its own colour bar; sides (right cheek, left eye) are the person's own.")


@dataclass(frozen=True)
class MapPanel:
    """One map as shown: an overlay with its colour bar below it, and its caption."""

    key: str  # cam_photo, cam, occlusion, regions
    image: np.ndarray  # (H, W, 3) uint8
    caption: str


def default_choices(age: float, low: int, top: int) -> dict[str, int]:
    """A face's first choices of the age bin (its own estimate) and of two ages to contrast (10 years either side),
    within ``low``..``top``."""
    age = int(round(min(max(age, float(low)), float(top))))
    return {"bin": age, "contrast_a": min(top, age + 10), "contrast_b": max(low, age - 10)}


def target_spec(kind: str, support: np.ndarray, age_bin: float = 0, contrast: tuple[int, int] = (0, 0)
                ) -> tuple[str, str | None]:
    """The explainer's target for a kind of ``TARGETS`` and its values, and a warning when they cannot be used
    (two equal ages: the expected age is explained meanwhile)."""
    if kind == "bin":
        return f"bin:{int(np.abs(np.asarray(support) - age_bin).argmin())}", None
    if kind == "contrast":
        a, b = contrast
        if a == b:
            return "expected", "Pick two different ages; showing the expected age meanwhile."
        return f"contrast:{a},{b}", None
    return kind, None


def target_description(target: str, support: np.ndarray) -> str:
    """A target spec in words: ``bin:83`` -> ``the probability of age 83``."""
    kind, _, rest = target.partition(":")
    if kind == "bin" and rest.isdigit() and int(rest) < len(support):
        return f"the probability of age {float(support[int(rest)]):g}"
    if kind == "contrast":
        a, _, b = rest.partition(",")
        return f"age {a} rather than age {b}"
    return {"expected": "the expected age (what makes the face look older)",
            "younger": "a younger expected age (what makes the face look younger)",
            "predicted": "the probability of the face's own estimate"}.get(target, target)


def maps_caption(explanation: Explanation, support: np.ndarray) -> str:
    """What the maps show: the CAM's target (or that its method ignores it), and that the occlusion maps are the
    change of the expected age whatever the target."""
    if ignores_target(explanation.method):
        cam = (f"{explanation.method} ignores the target: its map is the main pattern of the last layer's features, "
               f"the same for every target.")
    else:
        cam = f"The {explanation.method} maps show the evidence for {target_description(explanation.target, support)}."
    return (f"{cam} The occlusion and region maps always show the change of the expected age when a part is hidden, "
            f"whatever the CAM's target. The network sees the aligned face alone (no mirror) and estimates "
            f"{explanation.age:.1f} from it.")


def map_panels(explanation: Explanation) -> list[MapPanel]:
    """The maps to show, in order, each with its colour bar: the CAM on the photo (when the face came from one) and
    on the aligned face, the sliding-window occlusion (when computed) and the face regions."""
    method = explanation.method + (" (ignores the target)" if ignores_target(explanation.method) else "")
    chosen = [("cam_photo", explanation.overlays_image.get("cam"), "cam", f"{method} on the photo"),
              ("cam", explanation.overlays["cam"], "cam", f"{method} on the aligned face"),
              ("occlusion", explanation.overlays.get("occlusion"), "occlusion",
               "sliding-window occlusion (change of age)"),
              ("regions", explanation.overlays["regions"], "regions", "face regions (change of age)")]
    return [MapPanel(key, with_colorbar(image, explanation.scales[scale]), caption)
            for key, image, scale, caption in chosen if image is not None]


def target_units(target: str) -> str:
    """The unit of a target's value: years for the expected age, log-probability for a bin or a contrast."""
    return "years" if target in ("expected", "older", "younger") else "log-probability units"


def faithfulness_sentence(explanation: Explanation) -> str | None:
    """How faithful the CAM is for this face, in words: its deletion gain over random orders, with the fill named
    and the random orders' spread as the yardstick (None when it was not measured)."""
    check = explanation.faithfulness
    if not check:
        return None
    from dldl_core.explain.methods import FILLS

    units = target_units(explanation.target)
    moves = {"expected": "lowers the expected age", "older": "lowers the expected age",
             "younger": "raises the expected age"}.get(explanation.target, "lowers the explained score")
    gain, spread = check["gain"], check["random_spread"]
    if gain > spread:
        verdict = "clearly more faithful than chance for this face"
    elif gain > 0:
        verdict = "better than chance for this face, but within the spread of random orders"
    else:
        verdict = "no better than chance for this face: do not read much into this map"
    return (f"**Faithfulness for this face.** Hiding the face cell by cell in the order of the {explanation.method} "
            f"map (hidden cells replaced by {FILLS.get(check['fill'], check['fill'])}) {moves} by "
            f"{check['map_auc']:.2f} {units} on average along the deletion curve; random orders by "
            f"{check['random_auc']:.2f} (± {spread:.2f} between orders). Gain {gain:+.2f}: {verdict}.")
