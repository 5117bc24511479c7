"""Age groupings: the model card's age bands and the paper's age stages.

Both cover every age from 0 up, each group from its first age up to (not including) the next group's first age,
and both refuse an age that is negative or not finite instead of filing it anywhere.
"""
from __future__ import annotations

import math

AgeGroups = tuple[tuple[str, float, float], ...]  # (name, first age, first age of the next group)

# The model card's bands: MAE and bias per band of the true age (dldl_core.maths.metrics.per_band).
AGE_BANDS: AgeGroups = (
    ("0-12", 0, 13), ("13-19", 13, 20), ("20-39", 20, 40), ("40-59", 40, 60), ("60-79", 60, 80), ("80+", 80, math.inf))
# The DLDL-v2 paper's age stages: what the network looks at in infants, children, teenagers, adults and seniors
# (dldl_core.explain.stages).
AGE_STAGES: AgeGroups = (
    ("0-3", 0, 4), ("4-12", 4, 13), ("13-19", 13, 20), ("20-39", 20, 40), ("40-59", 40, 60), ("60+", 60, math.inf))


def group_names(groups: AgeGroups) -> list[str]:
    """The names of ``groups``, youngest first."""
    return [name for name, _, _ in groups]


def age_group(age: float, groups: AgeGroups) -> str:
    """The name of the group of ``groups`` that holds ``age``.

    Raises:
        ValueError: a negative or non-finite age, or one that no group holds.
    """
    age = float(age)
    if not math.isfinite(age) or age < 0:
        raise ValueError(f"age {age} is not a finite age of at least 0")
    for name, first, after in groups:
        if first <= age < after:
            return name
    raise ValueError(f"age {age} is in none of the groups {group_names(groups)}")


def age_band(age: float) -> str:
    """The model card's band of an age: ``0-12``, ``13-19``, ``20-39``, ``40-59``, ``60-79`` or ``80+``."""
    return age_group(age, AGE_BANDS)


def age_stage(age: float) -> str:
    """The paper's stage of an age: ``0-3``, ``4-12``, ``13-19``, ``20-39``, ``40-59`` or ``60+``."""
    return age_group(age, AGE_STAGES)
