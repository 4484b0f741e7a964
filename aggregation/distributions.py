"""Parameter distributions of scenario files, their quantisation, and strict field types (leaf module).

Device kinds draw per-unit parameters from these validated blocks with the
model's generator; nothing here touches global random state.

The field types (:data:`FiniteFloat`, :data:`PositiveFloat`, … :data:`Count`)
carry a unit's physical range and reject NaN, ±inf, booleans and numeric
strings. They live here, at the bottom of ``aggregation``, so that device specs
can use them (``aggregation`` must not import ``scenarios``);
``scenarios.limits`` re-exports them. Ranges and reasons: ``docs/scenarios.md``.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

__all__ = [
    "STRICT_CONFIG", "ClippedNormal", "Count", "EnergyKWh", "FiniteFloat", "Fraction", "HourOfDay", "Hours",
    "NonNegativeFloat", "PositiveFloat", "PowerKW", "Strict", "TemperatureC", "Uniform", "check_range", "quantise",
]

# strict: a YAML boolean (``count: true``) or a quoted number (``"1.5"``) is an
# error, not 1 or 1.5; ints are still accepted where a float is meant.
# allow_inf_nan=False: .nan/.inf never reach a model (issue 10).
STRICT_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""Any finite number (no NaN, no ±inf, no bool, no string)."""

PositiveFloat = Annotated[FiniteFloat, Field(gt=0.0)]
"""Finite and > 0 (R, C, COP, ratings)."""

NonNegativeFloat = Annotated[FiniteFloat, Field(ge=0.0)]
"""Finite and >= 0."""

Fraction = Annotated[FiniteFloat, Field(ge=0.0, le=1.0)]
"""A share in [0, 1]."""

TemperatureC = Annotated[FiniteFloat, Field(ge=-50.0, le=70.0)]
"""°C, −50…70: outside any climate the weather files or comfort bands describe."""

HourOfDay = Annotated[FiniteFloat, Field(ge=0.0, le=24.0)]
"""Clock time in hours, 0…24 (24 is midnight at the end of the day)."""

Hours = Annotated[FiniteFloat, Field(ge=0.0, le=24.0 * 366)]
"""A duration in hours, 0…8784 (one leap year, the longest horizon)."""

EnergyKWh = Annotated[FiniteFloat, Field(ge=0.0, le=1e7)]
"""kWh, 0…10 GWh (no single DER or session is larger)."""

PowerKW = Annotated[FiniteFloat, Field(gt=0.0, le=1e7)]
"""A rating in kW, (0, 10 GW]."""

Count = Annotated[StrictInt, Field(ge=0, le=10_000_000)]
"""Units of a kind in a park before scaling, 0…10,000,000 (no bool, no float)."""

# No distribution parameter of any device is larger than this; bounding them
# keeps later arithmetic (R*C, exp(-dt/RC), sums over a million units) finite.
_MAX_ABS = 1e9


class Strict(BaseModel):
    """Base of every scenario block: unknown fields are errors, values are frozen, numbers strict and finite."""

    model_config = STRICT_CONFIG


def check_range(values: dict[str, float], *, ge: float | None = None, le: float | None = None,
                gt: float | None = None) -> None:
    """Raise ``ValueError`` naming the first value outside the physical range ``[ge|gt, le]``."""
    for name, v in values.items():
        if ge is not None and v < ge:
            raise ValueError(f"{name} ({v:g}) must be >= {ge:g}")
        if gt is not None and v <= gt:
            raise ValueError(f"{name} ({v:g}) must be > {gt:g}")
        if le is not None and v > le:
            raise ValueError(f"{name} ({v:g}) must be <= {le:g}")


_Bounded = Annotated[FiniteFloat, Field(ge=-_MAX_ABS, le=_MAX_ABS)]


class Uniform(Strict):
    """Uniform distribution on [low, high]."""

    low: _Bounded
    high: _Bounded

    def check(self, *, ge: float | None = None, le: float | None = None, gt: float | None = None) -> Uniform:
        """Both ends inside a field's physical range (called by the spec that holds the distribution)."""
        check_range({"low": self.low, "high": self.high}, ge=ge, le=le, gt=gt)
        return self

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class ClippedNormal(Strict):
    """Normal distribution clipped to [min, max]."""

    mean: _Bounded
    std: Annotated[FiniteFloat, Field(ge=0.0, le=_MAX_ABS)]
    min: _Bounded
    max: _Bounded

    def check(self, *, ge: float | None = None, le: float | None = None,
              gt: float | None = None) -> ClippedNormal:
        """``mean``, ``min`` and ``max`` inside a field's physical range (called by the spec that holds it)."""
        check_range({"mean": self.mean, "min": self.min, "max": self.max}, ge=ge, le=le, gt=gt)
        return self

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
