"""Gas turbine / combined-cycle plant with heat recovery (CHP).

Electric and heat output from gas input (seed 001 §2.2 item 1: P = eta_e*G, Q = eta_h*G;
seed 002 §3.1 ⑤: Q = chr*P with heat-to-power ratio chr = 0.6)::

    gas_kw = P / eta_e,   q_heat_kw = min(chr * P, Q_max)

Bounds P_min <= P <= P_max and multi-stage ramp limits that depend on the load band of the
previous period (seed 002 §3.1 ④: below 2 MW up 0.5 / down 0.4 MW/h, 2–4 MW up 1 / down 0.8,
from 4 MW up 0.7 / down 0.6; 1–5 MW). Operating cost a*P^2 + b*P + c per hour with P in MW
(seed 002 §3.3 ⑤; a 0.02, b 1.5, c 0.5), on top of the gas bought at the gas tariff.
Emissions: ``emission_kg_per_kwh_gas * gas`` (IPCC 2006 Vol. 2 Table 2.2: natural gas
56,100 kg CO2/TJ = 0.202 kg/kWh of fuel, i.e. 0.58 kg/kWh_e at eta_e 35 %) or, as the seed's
option, ``emission_kg_per_kwh_e * P`` (seed 002 Table 3: 0.35 kg/MWh = 0.00035 kg/kWh — a
thousand times below any gas plant; see docs/multi_energy.md).

Optional start/stop (``allow_shutdown``): P = 0 (off, no O&M constant) or P_min <= P <= P_max; a start
reaches at most max(P_min, band-0 up-rate*dt) in its first period, a stop is possible from P <= P_min + down-rate*dt, each start
costs ``start_cost``.

Sign: ``p_kw >= 0`` generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
from pydantic import BaseModel, Field, model_validator

from aggregation.distributions import STRICT_CONFIG
from aggregation.kinds.base import DeviceKind, SoA, register_kind

# Strict mode would refuse a YAML list for a tuple; lists are what files hold,
# so the container is lax while every element stays a strict, bounded, finite number.
_KwTuple = Annotated[
    tuple[Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0, le=1e7)], ...], Field(strict=False)
]


class GasTurbineSpec(BaseModel):
    """One gas-turbine/CHP group (defaults: seed 002 §3.1 ④⑤, §5.1)."""

    # strict and finite: booleans, quoted numbers, NaN and inf are errors (issue 10).
    model_config = STRICT_CONFIG

    p_min_kw: float = Field(1000.0, ge=0, le=1e7, allow_inf_nan=False)
    p_max_kw: float = Field(5000.0, gt=0, le=1e7, allow_inf_nan=False)
    p_init_kw: float = Field(1000.0, ge=0, le=1e7, allow_inf_nan=False)
    eta_electric: float = Field(0.35, gt=0, le=0.65, allow_inf_nan=False)
    heat_to_power_ratio: float = Field(0.6, ge=0, le=3, allow_inf_nan=False)
    heat_max_kw: float = Field(1e7, ge=0, le=1e7, allow_inf_nan=False)
    # band k covers [edge[k-1], edge[k]) (kW); len(ramp_up) == len(ramp_down) == len(edges) + 1
    ramp_band_edges_kw: _KwTuple = (2000.0, 4000.0)
    ramp_up_kw_per_h: _KwTuple = (500.0, 1000.0, 700.0)
    ramp_down_kw_per_h: _KwTuple = (400.0, 800.0, 600.0)
    cost_a_per_mw2h: float = Field(0.02, ge=0, le=1e6, allow_inf_nan=False)
    cost_b_per_mwh: float = Field(1.5, ge=0, le=1e6, allow_inf_nan=False)
    cost_c_per_h: float = Field(0.5, ge=0, le=1e6, allow_inf_nan=False)
    emission_kg_per_kwh_gas: float = Field(0.202, ge=0, le=1, allow_inf_nan=False)
    emission_kg_per_kwh_e: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)
    # optional start/stop: off (P = 0, no O&M constant) is allowed; a start goes to P_min, a stop is
    # allowed from P <= P_min + down-rate*dt; each start costs start_cost
    allow_shutdown: bool = False
    start_cost: float = Field(0.0, ge=0, le=1e7, allow_inf_nan=False)
    count: int = Field(1, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> GasTurbineSpec:
        if not (self.p_min_kw <= self.p_init_kw <= self.p_max_kw or (self.allow_shutdown and self.p_init_kw == 0)):
            raise ValueError("need p_min_kw <= p_init_kw <= p_max_kw (or p_init_kw = 0 with allow_shutdown)")
        nb = len(self.ramp_band_edges_kw) + 1
        if len(self.ramp_up_kw_per_h) != nb or len(self.ramp_down_kw_per_h) != nb:
            raise ValueError("ramp_up/ramp_down need len(ramp_band_edges_kw) + 1 entries")
        if list(self.ramp_band_edges_kw) != sorted(self.ramp_band_edges_kw):
            raise ValueError("ramp_band_edges_kw must be increasing")
        if min(self.ramp_up_kw_per_h + self.ramp_down_kw_per_h) < 0 or not all(
                np.isfinite(self.ramp_up_kw_per_h + self.ramp_down_kw_per_h + self.ramp_band_edges_kw)):
            raise ValueError("ramp rates must be finite and >= 0")
        return self


@dataclass
class GasTurbineSoA(SoA):
    """Gas-turbine units; powers in kW, (n,) each, ramp tables (n, B)."""

    p_min_kw: np.ndarray
    p_max_kw: np.ndarray
    eta_electric: np.ndarray
    heat_to_power_ratio: np.ndarray
    heat_max_kw: np.ndarray
    band_edges_kw: np.ndarray  # (n, B-1)
    ramp_up_kw_per_h: np.ndarray  # (n, B)
    ramp_down_kw_per_h: np.ndarray  # (n, B)
    cost_a: np.ndarray
    cost_b: np.ndarray
    cost_c: np.ndarray
    ef_gas: np.ndarray
    ef_e: np.ndarray
    allow_shutdown: np.ndarray  # bool
    start_cost: np.ndarray
    p_kw: np.ndarray  # state: output of the previous period (0 = off)


def ramp_limits(soa: GasTurbineSoA) -> tuple[np.ndarray, np.ndarray]:
    """(up, down) ramp rates in kW/h of each unit's current load band (seed 002 §3.1 ④), each (n,)."""
    band = (soa.p_kw[:, None] >= soa.band_edges_kw).sum(axis=1)
    rows = np.arange(len(band))
    return soa.ramp_up_kw_per_h[rows, band], soa.ramp_down_kw_per_h[rows, band]


def fuel_cost(soa: GasTurbineSoA, p_kw: np.ndarray, dt_h: float) -> np.ndarray:
    """Seed 002 §3.3 ⑤ operating cost (a*P^2 + b*P + c)*dt with P in MW, per unit (n,); 0 when off."""
    p_mw = p_kw / 1000.0
    on = ~(soa.allow_shutdown & (p_kw <= 0))
    return (soa.cost_a * p_mw * p_mw + soa.cost_b * p_mw + soa.cost_c * on) * dt_h


def on_range(soa: GasTurbineSoA, dt_h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, hi, can_stop) of the next period, each (n,): the range when on and whether off is reachable.

    Running: the band's ramps (seed 002 §3.1 ④) within [P_min, P_max]; off: a start reaches
    [P_min, max(P_min, up_0*dt)].
    """
    up, down = ramp_limits(soa)
    off = soa.allow_shutdown & (soa.p_kw <= 0)
    lo = np.where(off, soa.p_min_kw, np.maximum(soa.p_min_kw, soa.p_kw - down * dt_h))
    # a start reaches max(P_min, band-0 up-rate*dt) (band 0 is the band of P = 0)
    hi = np.where(off, np.maximum(soa.p_min_kw, np.minimum(soa.p_max_kw, up * dt_h)),
                  np.minimum(soa.p_max_kw, soa.p_kw + up * dt_h))
    can_stop = soa.allow_shutdown & (off | (soa.p_kw - down * dt_h <= soa.p_min_kw))
    return lo, np.maximum(hi, lo), can_stop


@register_kind
class GasTurbineKind(DeviceKind):
    """Gas-turbine/CHP groups: continuous electric set-point within bounds and ramp bands."""

    name: ClassVar[str] = "me_gas_turbine"
    label: ClassVar[str] = "gas turbine / CHP"
    spec_cls = GasTurbineSpec
    soa_cls = GasTurbineSoA
    actions = "continuous"
    order: ClassVar[int] = 62
    load_sign: ClassVar[int] = -1

    @classmethod
    def build(cls, spec: GasTurbineSpec, n: int = 1, rng: np.random.Generator | None = None) -> GasTurbineSoA:
        one = np.ones(n)
        return GasTurbineSoA(
            p_min_kw=spec.p_min_kw * one, p_max_kw=spec.p_max_kw * one, eta_electric=spec.eta_electric * one,
            heat_to_power_ratio=spec.heat_to_power_ratio * one, heat_max_kw=spec.heat_max_kw * one,
            band_edges_kw=np.tile(np.asarray(spec.ramp_band_edges_kw, dtype=float), (n, 1)),
            ramp_up_kw_per_h=np.tile(np.asarray(spec.ramp_up_kw_per_h, dtype=float), (n, 1)),
            ramp_down_kw_per_h=np.tile(np.asarray(spec.ramp_down_kw_per_h, dtype=float), (n, 1)),
            cost_a=spec.cost_a_per_mw2h * one, cost_b=spec.cost_b_per_mwh * one, cost_c=spec.cost_c_per_h * one,
            ef_gas=spec.emission_kg_per_kwh_gas * one, ef_e=spec.emission_kg_per_kwh_e * one,
            allow_shutdown=np.full(n, spec.allow_shutdown), start_cost=spec.start_cost * one,
            p_kw=spec.p_init_kw * one,
        )

    @classmethod
    def bounds(cls, soa: GasTurbineSoA, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        """Envelope (p_min_kw, p_max_kw) of the next period: static bounds intersected with the band's ramps.

        With start/stop the feasible set is {0} ∪ [lo, hi] when a stop is reachable; the envelope's
        lower end is then 0 (set-points below P_min/2 mean off, see :meth:`step`).
        """
        lo, hi, can_stop = on_range(soa, dt_h)
        return np.where(can_stop, 0.0, lo), hi

    @classmethod
    def step(cls, soa: GasTurbineSoA, p_set_kw: np.ndarray, dt_h: float,
             **inputs: np.ndarray) -> dict[str, np.ndarray]:
        """One period: clip to :meth:`bounds`, update the state, return per-unit (n,) outputs.

        Keys: ``p_kw``, ``q_heat_kw``, ``gas_kwh`` (fuel energy), ``loss_kwh`` (fuel not turned into
        electricity or recovered heat), ``cost`` (seed 002 quadratic, currency), ``co2_kg``, ``clip_kw``.
        Conservation: gas_kwh = (p_kw + q_heat_kw)*dt + loss_kwh.
        """
        lo, hi, can_stop = on_range(soa, dt_h)
        p_set = np.asarray(p_set_kw, dtype=np.float64)
        was_off = soa.allow_shutdown & (soa.p_kw <= 0)
        p = np.where(can_stop & (p_set < 0.5 * soa.p_min_kw), 0.0, np.clip(p_set, lo, hi))
        q = np.minimum(soa.heat_to_power_ratio * p, soa.heat_max_kw)
        gas = p * dt_h / soa.eta_electric
        starts = was_off & (p > 0)
        soa.p_kw = p.copy()
        return {"p_kw": p, "q_heat_kw": q, "gas_kwh": gas, "loss_kwh": gas - (p + q) * dt_h,
                "cost": fuel_cost(soa, p, dt_h) + soa.start_cost * starts,
                "co2_kg": soa.ef_gas * gas + soa.ef_e * p * dt_h, "clip_kw": p_set - p, "start": starts}
