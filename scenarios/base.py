"""What every scenario kind shares: the error type, strict models, common blocks and fields.

Kept apart from :mod:`scenarios.schema` (which dispatches on ``kind``) so that
a scenario kind's module (e.g. ``scenarios.multi_energy``) can build its schema
from these pieces without importing the dispatcher: no import loop.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from grid.weather import WEATHER_FILES

from .errors import ScenarioError

__all__ = [
    "FitnessSpec", "GridSpec", "content_hash", "OutputSpec", "ScenarioBase", "ScenarioError", "SeriesSignalSpec",
    "SimbenchSignalSpec", "Strict", "SystemIndexSpec", "WeatherSpec",
]


class Strict(BaseModel):
    """Base of every schema block: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WeatherSpec(Strict):
    file: Annotated[str, Field(description="bundled pvlib TMY file")] = "12839.tm2"

    @field_validator("file")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in WEATHER_FILES:
            raise ValueError(f"must be one of {sorted(WEATHER_FILES)}")
        return v


class SimbenchSignalSpec(Strict):
    """System generation built from SimBench profiles (fractions of peak load)."""

    load_profile: str = "hv_mixed1"
    pv_profile: str = "PV5"
    wind_profile: str = "WP1"
    pv_capacity_per_peak_load: Annotated[float, Field(ge=0.0, le=10.0, description="MWp per MW of peak load")] = 1.0
    wind_capacity_per_peak_load: Annotated[float, Field(ge=0.0, le=10.0, description="MW per MW of peak load")] = 0.8
    peak_load_mw: Annotated[float, Field(gt=0.0, le=1e6)] = 1000.0


class SeriesSignalSpec(Strict):
    """System generation given explicitly, one value per period."""

    e_res_mwh: list[Annotated[float, Field(ge=0.0)]]
    e_tot_mwh: list[Annotated[float, Field(gt=0.0)]]

    @model_validator(mode="after")
    def _lengths(self) -> SeriesSignalSpec:
        if len(self.e_res_mwh) != len(self.e_tot_mwh):
            raise ValueError("e_res_mwh and e_tot_mwh must have the same length")
        if any(r > t for r, t in zip(self.e_res_mwh, self.e_tot_mwh, strict=True)):
            raise ValueError("renewable generation cannot exceed total generation in a period")
        return self


class SystemIndexSpec(Strict):
    """Where the system zero-carbon index eta_GI(t) comes from."""

    source: Literal["simbench", "series", "grid"] = "simbench"
    simbench: SimbenchSignalSpec = SimbenchSignalSpec()
    series: SeriesSignalSpec | None = None

    @model_validator(mode="after")
    def _series_given(self) -> SystemIndexSpec:
        if self.source == "series" and self.series is None:
            raise ValueError("source 'series' needs a 'series' block with e_res_mwh and e_tot_mwh")
        return self


class FitnessSpec(Strict):
    similarity_lambda: Annotated[float, Field(gt=0.0, le=100.0, description="lambda of Eq. 3")] = 1.0


class GridSpec(Strict):
    """Grid coupling (used when ``system_index.source`` is ``grid`` or by uptake sweeps)."""

    case: Literal["case14", "case39"] = "case39"
    sweep_agents: list[Annotated[int, Field(ge=0, le=100_000_000)]] = []
    options: dict[str, Any] = {}


class OutputSpec(Strict):
    plots: bool = True
    checkpoint_every_steps: Annotated[int, Field(ge=0, le=100_000)] = 0


class ScenarioBase(Strict):
    """Fields every scenario kind has; a kind subclasses it and narrows ``kind`` to its own ``Literal``.

    The runner's results-folder lifecycle uses only these fields.
    """

    kind: str
    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_\-]+$")]
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    horizon_h: Annotated[float, Field(gt=0.0, le=24.0 * 366, description="hours")] = 24.0
    step_h: Annotated[float, Field(ge=0.25, le=6.0, description="hours, a multiple of 0.25")] = 1.0
    start_day_of_year: Annotated[int, Field(ge=1, le=365)] = 196
    output: OutputSpec = OutputSpec()

    @model_validator(mode="after")
    def _steps(self) -> ScenarioBase:
        per = self.step_h * 4
        if abs(per - round(per)) > 1e-9:
            raise ValueError(f"step_h must be a multiple of 0.25 h, got {self.step_h}")
        steps = self.horizon_h / self.step_h
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"horizon_h ({self.horizon_h}) must be a whole number of steps of {self.step_h} h")
        return self

    @property
    def n_steps(self) -> int:
        """Periods in the horizon."""
        return int(round(self.horizon_h / self.step_h))

    def content_hash(self) -> str:
        """SHA-256 of the validated content (stable across formatting of the file)."""
        return content_hash(self)


def content_hash(sc: BaseModel) -> str:
    """SHA-256 of a validated scenario's JSON dump (any kind's schema)."""
    return hashlib.sha256(sc.model_dump_json().encode()).hexdigest()
