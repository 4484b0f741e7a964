"""Parameter distributions of scenario files and their quantisation (leaf module).

Device kinds draw per-unit parameters from these validated blocks with the
model's generator; nothing here touches global random state.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    """Base of every scenario block: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Uniform(Strict):
    """Uniform distribution on [low, high]."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class ClippedNormal(Strict):
    """Normal distribution clipped to [min, max]."""

    mean: float
    std: Annotated[float, Field(ge=0.0)]
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> ClippedNormal:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must be >= min ({self.min})")
        if not self.min <= self.mean <= self.max:
            raise ValueError(f"mean ({self.mean}) must lie in [min, max] = [{self.min}, {self.max}]")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.clip(rng.normal(self.mean, self.std, n), self.min, self.max)


def quantise(x: np.ndarray, dist: Uniform | ClippedNormal, levels: int | None) -> np.ndarray:
    """Snap draws of ``dist`` to ``levels`` equally spaced values (identity when ``levels`` is None).

    The range is [low, high] of a Uniform and [max(min, mean - 3 std), min(max, mean + 3 std)]
    of a ClippedNormal, cut into ``levels`` equal bins; each draw becomes its bin's midpoint
    (values beyond the range fall into the end bins). Draws are quantised after sampling,
    so the random stream is the same with and without quantisation.
    """
    if levels is None:
        return x
    if hasattr(dist, "low"):
        lo, hi = float(dist.low), float(dist.high)
    else:
        lo, hi = max(dist.min, dist.mean - 3.0 * dist.std), min(dist.max, dist.mean + 3.0 * dist.std)
    if hi <= lo:
        return np.full_like(x, lo)
    width = (hi - lo) / levels
    k = np.clip(np.floor((x - lo) / width), 0, levels - 1)
    return lo + (k + 0.5) * width
