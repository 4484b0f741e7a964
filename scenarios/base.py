"""What every scenario kind shares: the error type, strict models, common blocks and fields.

Kept apart from :mod:`scenarios.schema` (which dispatches on ``kind``) so that
a scenario kind's module (e.g. ``scenarios.multi_energy``) can build its schema
from these pieces without importing the dispatcher: no import loop.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from aggregation.distributions import STRICT_CONFIG
from grid.weather import WEATHER_FILES

from .errors import ScenarioError

__all__ = [
    "ClosedLoopSpec", "FitnessSpec", "GridSpec", "PlacementSpec", "content_hash", "OutputSpec", "ScenarioBase", "ScenarioError", "SeriesSignalSpec",
    "SimbenchSignalSpec", "Strict", "SystemIndexSpec", "WeatherSpec",
]


class Strict(BaseModel):
    """Base of every schema block: unknown fields are errors, values immutable, numbers strict and finite.

    Strict: ``count: true`` and ``count: "3"`` are errors, not 1 and 3 (an int is
    still accepted where a float is meant); NaN and ±inf are refused everywhere
    (issue 10, ``docs/scenarios.md``).
    """

    model_config = STRICT_CONFIG


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

    # 1e9 MWh in a period is a thousand times the world's hourly generation.
    e_res_mwh: Annotated[list[Annotated[float, Field(ge=0.0, le=1e9)]], Field(max_length=24 * 366 * 4)]
    e_tot_mwh: Annotated[list[Annotated[float, Field(gt=0.0, le=1e9)]], Field(max_length=24 * 366 * 4)]

    @model_validator(mode="after")
    def _lengths(self) -> SeriesSignalSpec:
        if len(self.e_res_mwh) != len(self.e_tot_mwh):
            raise ValueError("e_res_mwh and e_tot_mwh must have the same length")
        if any(r > t for r, t in zip(self.e_res_mwh, self.e_tot_mwh, strict=True)):
            raise ValueError("renewable generation cannot exceed total generation in a period")
        return self


class SystemIndexSpec(Strict):
    """Where the zero-carbon index eta_GI(t) the DERs respond to comes from.

    ``simbench``: SimBench profiles; ``series``: given values; ``grid``: the system renewable
    share of the grid case's own dispatch; ``grid_nodal``: the renewable share of the power
    consumed at each park's bus, by carbon emission flow over that dispatch (one model per bus
    group, ``docs/grid.md`` section 6.3).
    """

    source: Literal["simbench", "series", "grid", "grid_nodal"] = "simbench"
    simbench: SimbenchSignalSpec = SimbenchSignalSpec()
    series: SeriesSignalSpec | None = None

    @model_validator(mode="after")
    def _series_given(self) -> SystemIndexSpec:
        if self.source == "series" and self.series is None:
            raise ValueError("source 'series' needs a 'series' block with e_res_mwh and e_tot_mwh")
        return self


class FitnessSpec(Strict):
    similarity_lambda: Annotated[float, Field(gt=0.0, le=100.0, description="lambda of Eq. 3")] = 1.0


class ClosedLoopSpec(Strict):
    """Dispatch -> nodal index -> DERs -> park loads -> re-dispatch, within the day, to a fixed point."""

    enabled: Annotated[bool, Field(description="iterate to a fixed point; False: open loop (one pass)")] = False
    tolerance_mw: Annotated[
        float, Field(gt=0.0, le=1e4, allow_inf_nan=False,
                     description="MW; stop when no bus's park load changes by more in any period")
    ] = 0.1
    max_iterations: Annotated[
        int, Field(ge=1, le=50, description="DER passes at most (the open loop is the first); warns when reached")
    ] = 6
    damping: Annotated[
        float, Field(gt=0.0, le=1.0, allow_inf_nan=False,
                     description="share of the new response taken each pass (1: none; 0.5 halves oscillation)")
    ] = 1.0


class PlacementSpec(Strict):
    """How an agent count becomes whole replicated parks on buses (``grid.placement``)."""

    rule: Annotated[
        Literal["renewable_first", "park_bus"],
        Field(description="renewable_first: fill the bus list in order; park_bus: every park at its own 'bus'"),
    ] = "renewable_first"
    buses: Annotated[
        list[Annotated[int, Field(ge=0, le=100_000)]] | None,
        Field(description="pandapower bus order for renewable_first; None: the case's park buses"),
    ] = None
    max_load_share: Annotated[
        float, Field(gt=0.0, le=10.0, allow_inf_nan=False,
                     description="a bus holds replicas up to this share of its own peak load (nameplate peak)")
    ] = 1.0
    agents_per_replica: Annotated[
        int | None, Field(ge=1, le=100_000_000, description="agents of one replica; None: the parks at scale 1")
    ] = None

    @model_validator(mode="after")
    def _distinct(self) -> PlacementSpec:
        if self.buses is not None and (not self.buses or len(set(self.buses)) != len(self.buses)):
            raise ValueError("placement.buses must be a non-empty list of distinct buses")
        return self


class GridSpec(Strict):
    """Grid coupling (``system_index.source`` ``grid``/``grid_nodal``, and uptake sweeps)."""

    case: Literal["case14", "case30", "case39"] = "case39"
    sweep_agents: list[Annotated[int, Field(ge=0, le=100_000_000)]] = []
    options: dict[str, Any] = {}
    placement: PlacementSpec = PlacementSpec()
    closed_loop: ClosedLoopSpec = ClosedLoopSpec()
    bound: Annotated[bool, Field(description="solve the uptake bound for every agent count")] = True
    ac_check: Annotated[bool, Field(description="AC power flow on the final dispatch of every row")] = True


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
