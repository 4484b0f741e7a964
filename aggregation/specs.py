"""Validated parameter specifications of parks and their DERs.

These pydantic models are the part of a scenario file that describes the DER
population. They live here, next to the fleet they build, so that the
``scenarios`` package composes them rather than duplicating them. Every field
carries its unit in its name and its allowed range in its constraints.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AC_MODE_NAMES: tuple[str, ...] = ("off", "cool18", "cool22", "cool26", "cool30")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Uniform(_Strict):
    """Uniform distribution on [low, high]."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng, n: int):
        return rng.uniform(self.low, self.high, n)


class ClippedNormal(_Strict):
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

    def sample(self, rng, n: int):
        import numpy as np

        return np.clip(rng.normal(self.mean, self.std, n), self.min, self.max)


class ACSpec(_Strict):
    """Air conditioners of a park (first-order ETP model, see docs/devices.md)."""

    count: Annotated[int, Field(ge=0, le=10_000_000, description="number of units before scaling")]
    activated_share: Annotated[float, Field(ge=0.0, le=1.0, description="share of units that accept control")] = 0.8
    r_c_per_kw: Uniform = Uniform(low=2.0, high=3.3)
    c_kwh_per_c: Uniform = Uniform(low=1.0, high=2.0)
    cop: Uniform = Uniform(low=2.5, high=3.5)
    p_nominal_kw: Annotated[float, Field(gt=0.0, le=50.0, description="power in mode cool18 at 22 °C ambient")] = 1.5
    p_max_kw: Annotated[float, Field(gt=0.0, le=100.0, description="compressor electrical limit")] = 3.0
    on_hour: ClippedNormal = ClippedNormal(mean=8.0, std=1.0, min=0.0, max=23.0)
    off_hour: ClippedNormal = ClippedNormal(mean=19.0, std=1.0, min=1.0, max=24.0)
    mode_shares: dict[Literal["cool18", "cool22", "cool26", "cool30"], Annotated[float, Field(ge=0.0, le=1.0)]] = {
        "cool18": 0.25,
        "cool22": 0.5,
        "cool26": 0.25,
    }
    comfort_low_c: Annotated[float, Field(ge=10.0, le=30.0)] = 19.0
    comfort_high_c: Annotated[float, Field(ge=15.0, le=35.0)] = 27.0
    t_in_init_c: Uniform = Uniform(low=24.0, high=27.0)
    parameter_levels: Annotated[
        int | None,
        Field(ge=2, le=1_000_000, description="quantise R, C, COP draws to this many levels"),
    ] = None

    @model_validator(mode="after")
    def _consistent(self) -> ACSpec:
        total = sum(self.mode_shares.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"mode_shares must sum to 1, got {total:g}")
        if self.p_max_kw < self.p_nominal_kw:
            raise ValueError(f"p_max_kw ({self.p_max_kw}) must be >= p_nominal_kw ({self.p_nominal_kw})")
        if self.comfort_high_c <= self.comfort_low_c:
            raise ValueError("comfort_high_c must be > comfort_low_c")
        return self


class EVSpec(_Strict):
    """EV charging piles of a park; one charging session per pile per day."""

    count: Annotated[int, Field(ge=0, le=10_000_000, description="number of piles before scaling")]
    p_max_kw: Annotated[float, Field(gt=0.0, le=350.0, description="pile rating")] = 7.0
    arrival_h: ClippedNormal = ClippedNormal(mean=8.5, std=1.0, min=0.0, max=23.5)
    dwell_h: ClippedNormal = ClippedNormal(mean=8.0, std=1.5, min=0.5, max=23.0)
    energy_kwh: ClippedNormal = ClippedNormal(mean=20.0, std=8.0, min=2.0, max=80.0)
    activated_share: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    parameter_levels: Annotated[
        int | None,
        Field(ge=2, le=1_000_000, description="quantise arrival, dwell, energy draws to this many levels"),
    ] = None


class PVSpec(_Strict):
    """PV systems of a park (pvlib PVWatts chain, see docs/devices.md)."""

    count: Annotated[int, Field(ge=0, le=10_000_000)] = 1
    capacity_kw: Annotated[float, Field(gt=0.0, le=1_000_000.0, description="DC rating of each system, kWp")]
    tilt_deg: Annotated[float, Field(ge=0.0, le=90.0)] = 20.0
    azimuth_deg: Annotated[float, Field(ge=0.0, lt=360.0)] = 180.0
    gamma_pdc_per_c: Annotated[float, Field(ge=-0.01, le=0.0)] = -0.0037
    inverter_efficiency: Annotated[float, Field(gt=0.5, le=1.0)] = 0.96
    system_losses: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.14


class BaseLoadSpec(_Strict):
    """Non-flexible park load shaped by a SimBench standard load profile."""

    peak_kw: Annotated[float, Field(ge=0.0, le=10_000_000.0)] = 0.0
    profile: str = "G0-A"


class ParkSpec(_Strict):
    """One park (prosumer site) and its DERs."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
    bus: Annotated[int | None, Field(ge=0, description="grid bus index (grid layer)")] = None
    base_load: BaseLoadSpec = BaseLoadSpec()
    ac: ACSpec | None = None
    ev: EVSpec | None = None
    pv: PVSpec | None = None


RuleName = Literal["rule1", "rule2", "rule3", "rule4"]


class AggregationSpec(_Strict):
    """Self-organisation settings (seed 003 §3.4; algorithm in docs/aggregation.md).

    ``rules[i - 1]`` is the rule that forms level ``i`` from level ``i - 1``
    (level 0 are the DERs); only the first ``max_levels`` entries are used.
    """

    enabled: bool = False
    max_levels: Annotated[int, Field(ge=1, le=10, description="aggregator levels above the DERs")] = 5
    rules: list[RuleName] = ["rule3", "rule3", "rule3", "rule3", "rule3"]
    custom_rule: Annotated[str | None, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] = None
    group_size: Annotated[int, Field(ge=2, le=1000, description="units a merge proposal may join")] = 4
    epsilon_cvg_kw: Annotated[float, Field(gt=0.0, le=1e6, description="Eq. 13 threshold on the VPP load change")] = 0.5
    h_m: Annotated[int, Field(ge=1, le=100, description="consecutive stable iterations for convergence")] = 3
    max_iterations: Annotated[int, Field(ge=1, le=10_000)] = 50
    seed: Annotated[int, Field(ge=0, le=2**63 - 1, description="seed of the organiser's generator")] = 0
    proposal_rounds: Annotated[
        int, Field(ge=0, le=10_000, description="iterations per period in which free units propose merges")
    ] = 3
    proposal_jitter: Annotated[
        float, Field(ge=0.0, le=100.0, description="noise on complementary matching, in std of residuals")
    ] = 0.5
    joint_passes: Annotated[int, Field(ge=1, le=50, description="one-step passes of the joint-action improvement")] = 4
    comfort_guard_c: Annotated[
        float, Field(ge=0.0, le=20.0, description="ACs this close (°C) to their comfort limit never shed for a coalition")
    ] = 0.5
    snapshot_hour: Annotated[float, Field(ge=0.0, lt=24.0, description="hour of Fig. 7a and the hierarchy drawing")] = 10.0
    figure_level: Annotated[int, Field(ge=1, le=10, description="level shown in Fig. 7a (capped at max_levels)")] = 4
    graph_max_nodes: Annotated[
        int, Field(ge=10, le=10_000_000, description="node budget of each exported hierarchy graph")
    ] = 20_000

    @model_validator(mode="after")
    def _rules(self) -> AggregationSpec:
        if len(self.rules) < self.max_levels:
            raise ValueError(f"rules has {len(self.rules)} entries; one per level is needed ({self.max_levels})")
        if "rule4" in self.rules[: self.max_levels] and self.custom_rule is None:
            raise ValueError("rule4 needs custom_rule: 'module:function'")
        return self
