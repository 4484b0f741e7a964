"""Electric heat pump (seed 001 §2.2 item 7): Q_HP = COP * P_HP, 0 <= P_HP <= P_max, COP_min <= COP <= COP_max.

COP is a fixed parameter per unit (seed 001 Table 1: 4.5) validated against its bounds; the
electric input is the action. Sign: ``p_kw >= 0`` is consumption (a load on the electric bus).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, Field, model_validator

from aggregation.distributions import STRICT_CONFIG
from aggregation.kinds.base import DeviceKind, SoA, register_kind


class HeatPumpSpec(BaseModel):
    """One heat-pump group (seed 001 Table 1: 200 kW, COP 4.5)."""

    # strict and finite: booleans, quoted numbers, NaN and inf are errors (issue 10).
    model_config = STRICT_CONFIG

    p_max_kw: float = Field(200.0, gt=0, le=1e7, allow_inf_nan=False)
    cop: float = Field(4.5, gt=0, le=10, allow_inf_nan=False)
    cop_min: float = Field(1.0, gt=0, le=10, allow_inf_nan=False)
    cop_max: float = Field(8.0, gt=0, le=10, allow_inf_nan=False)
    # emissions charged to the heat pump's electricity (seed 001 Table 6 lists the heat pump as an emitter)
    emission_kg_per_kwh_e: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)
    count: int = Field(1, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> HeatPumpSpec:
        if not self.cop_min <= self.cop <= self.cop_max:
            raise ValueError("need cop_min <= cop <= cop_max")
        return self


@dataclass
class HeatPumpSoA(SoA):
    """Heat-pump units, (n,) each."""

    p_max_kw: np.ndarray
    cop: np.ndarray


@register_kind
class HeatPumpKind(DeviceKind):
    """Heat pumps: continuous electric input in [0, P_max]."""

    name: ClassVar[str] = "me_heat_pump"
    label: ClassVar[str] = "heat pump"
    spec_cls = HeatPumpSpec
    soa_cls = HeatPumpSoA
    actions = "continuous"
    order: ClassVar[int] = 63
    load_sign: ClassVar[int] = 1

    @classmethod
    def build(cls, spec: HeatPumpSpec, n: int = 1, rng: np.random.Generator | None = None) -> HeatPumpSoA:
        return HeatPumpSoA(p_max_kw=spec.p_max_kw * np.ones(n), cop=spec.cop * np.ones(n))

    @classmethod
    def bounds(cls, soa: HeatPumpSoA, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros_like(soa.p_max_kw), soa.p_max_kw.copy()

    @classmethod
    def step(cls, soa: HeatPumpSoA, p_set_kw: np.ndarray, dt_h: float, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Keys (n,): ``p_kw`` (electric input), ``q_heat_kw`` = COP*p, ``ambient_kwh`` = heat drawn from
        the environment (q - p)*dt (so that p*dt + ambient = q*dt), ``clip_kw``."""
        p_set = np.asarray(p_set_kw, dtype=np.float64)
        p = np.clip(p_set, 0.0, soa.p_max_kw)
        q = soa.cop * p
        return {"p_kw": p, "q_heat_kw": q, "ambient_kwh": (q - p) * dt_h, "clip_kw": p_set - p}
