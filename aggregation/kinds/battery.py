"""Battery energy storage with charge/discharge efficiencies and SOC-dependent efficiency.

Energy update per period (seed 001 §2.2 eq. of the storage; seed 002 §3.1 ③)::

    E[t+1] = E[t] + eta_ch(SOC_t) * P_ch * dt - P_dis * dt / eta_dis(SOC_t)

with the seed 002 efficiency curve (a multiplicative factor on the nominal efficiencies)::

    f(SOC) = 1 - delta * ((SOC - SOC_opt) / (SOC_max - SOC_min))**2
    eta_ch(SOC) = eta_ch_nom * f(SOC),  eta_dis(SOC) = eta_dis_nom * f(SOC)

The seed writes eta_b(SOC) = eta_nom * f(SOC) with eta_nom = 0.85 and, in the same
paragraph, eta_ch = 0.90 / eta_dis = 0.85; we read eta_nom as "the nominal efficiency
of the direction" so that at SOC_opt the table values hold. The efficiency is evaluated
at the SOC at the start of the period (explicit Euler), which is what makes the model
exactly energy-conserving period by period.

Sign convention: ``p_kw > 0`` discharges (feeds the bus), ``p_kw < 0`` charges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, Field, model_validator

from aggregation.distributions import STRICT_CONFIG
from aggregation.kinds.base import DeviceKind, SoA, register_kind


class BatterySpec(BaseModel):
    """One battery group (seed 001 Table 1; seed 002 §3.1 ③, §5.1, Table 3)."""

    # strict and finite: booleans, quoted numbers, NaN and inf are errors (issue 10).
    model_config = STRICT_CONFIG

    capacity_kwh: float = Field(2000.0, gt=0, le=1e7, allow_inf_nan=False)
    p_charge_max_kw: float = Field(2000.0, ge=0, le=1e7, allow_inf_nan=False)
    p_discharge_max_kw: float = Field(2000.0, ge=0, le=1e7, allow_inf_nan=False)
    eta_charge: float = Field(0.90, gt=0, le=1, allow_inf_nan=False)
    eta_discharge: float = Field(0.85, gt=0, le=1, allow_inf_nan=False)
    soc_min: float = Field(0.2, ge=0, le=1, allow_inf_nan=False)
    soc_max: float = Field(0.9, ge=0, le=1, allow_inf_nan=False)
    soc_init: float = Field(0.5, ge=0, le=1, allow_inf_nan=False)
    soc_dependent_efficiency: bool = True
    efficiency_decay_delta: float = Field(0.15, ge=0, le=1, allow_inf_nan=False)
    soc_opt: float = Field(0.5, ge=0, le=1, allow_inf_nan=False)
    emission_kg_per_kwh_discharged: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)
    count: int = Field(1, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> BatterySpec:
        if not self.soc_min < self.soc_max:
            raise ValueError("soc_min must be < soc_max")
        if not self.soc_min <= self.soc_init <= self.soc_max:
            raise ValueError("soc_init must lie in [soc_min, soc_max]")
        return self


@dataclass
class StorageSoA(SoA):
    """Units of a storage kind (battery or thermal tank); one row per unit, energies in kWh."""

    capacity_kwh: np.ndarray
    p_charge_max_kw: np.ndarray
    p_discharge_max_kw: np.ndarray
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    e_min_kwh: np.ndarray
    e_max_kwh: np.ndarray
    delta: np.ndarray  # 0 disables the SOC-dependent factor
    soc_opt: np.ndarray
    e_kwh: np.ndarray  # state: stored energy


def efficiency_factor(soc: np.ndarray, soc_opt: np.ndarray, soc_min: np.ndarray, soc_max: np.ndarray,
                      delta: np.ndarray) -> np.ndarray:
    """Seed 002 §3.1 ③ decay factor f(SOC) = 1 - delta*((SOC-SOC_opt)/(SOC_max-SOC_min))^2 (shape of soc)."""
    x = (soc - soc_opt) / (soc_max - soc_min)
    return 1.0 - delta * x * x


def storage_efficiencies(s: StorageSoA) -> tuple[np.ndarray, np.ndarray]:
    """(eta_ch, eta_dis) at the current state, each (n,)."""
    soc = s.e_kwh / s.capacity_kwh
    f = efficiency_factor(soc, s.soc_opt, s.e_min_kwh / s.capacity_kwh, s.e_max_kwh / s.capacity_kwh, s.delta)
    return s.eta_charge * f, s.eta_discharge * f


def storage_bounds(s: StorageSoA, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Feasible (p_min_kw, p_max_kw) for the next period: power limits and energy room (each (n,)).

    Negative p charges; the charge room is (E_max - E)/(eta_ch*dt), the discharge room (E - E_min)*eta_dis/dt.
    """
    return _bounds(s, dt_h, *storage_efficiencies(s))


def _bounds(s: StorageSoA, dt_h: float, eta_ch: np.ndarray, eta_dis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    room_ch = np.maximum(s.e_max_kwh - s.e_kwh, 0.0) / (eta_ch * dt_h)
    room_dis = np.maximum(s.e_kwh - s.e_min_kwh, 0.0) * eta_dis / dt_h
    return -np.minimum(s.p_charge_max_kw, room_ch), np.minimum(s.p_discharge_max_kw, room_dis)


def storage_step(s: StorageSoA, p_set_kw: np.ndarray, dt_h: float) -> dict[str, np.ndarray]:
    """Apply set-points (clipped to :func:`storage_bounds`) for one period; updates ``s.e_kwh``.

    Returns per-unit arrays (n,): ``p_kw`` (delivered, + discharge), ``charge_kw``, ``discharge_kw``
    (bus side, >= 0), ``loss_kwh`` (>= 0), ``e_kwh`` (after), ``clip_kw`` (set-point minus delivered).
    Conservation: e_after - e_before = (charge_kw - discharge_kw)*dt - loss_kwh exactly (up to rounding).
    """
    eta_ch, eta_dis = storage_efficiencies(s)
    lo, hi = _bounds(s, dt_h, eta_ch, eta_dis)
    p = np.clip(np.asarray(p_set_kw, dtype=np.float64), lo, hi)
    ch = np.maximum(-p, 0.0)
    dis = np.maximum(p, 0.0)
    stored_in = eta_ch * ch * dt_h
    drawn = dis * dt_h / eta_dis
    loss = (ch * dt_h - stored_in) + (drawn - dis * dt_h)
    # clip against rounding at the energy bounds (the bounds above make it at most ~1 ulp)
    s.e_kwh = np.clip(s.e_kwh + stored_in - drawn, s.e_min_kwh, s.e_max_kwh)
    return {"p_kw": p, "charge_kw": ch, "discharge_kw": dis, "loss_kwh": loss, "e_kwh": s.e_kwh.copy(),
            "clip_kw": np.asarray(p_set_kw, dtype=np.float64) - p}


@register_kind
class BatteryKind(DeviceKind):
    """Battery groups: continuous power set-point in [-P_ch,max, P_dis,max] (generation sign)."""

    name: ClassVar[str] = "me_battery"
    label: ClassVar[str] = "battery (multi-energy)"
    spec_cls = BatterySpec
    soa_cls = StorageSoA
    actions = "continuous"
    order: ClassVar[int] = 60
    load_sign: ClassVar[int] = -1

    @classmethod
    def build(cls, spec: BatterySpec, n: int = 1, rng: np.random.Generator | None = None) -> StorageSoA:
        """n identical units (rng unused: parameters are deterministic)."""
        one = np.ones(n)
        cap = spec.capacity_kwh * one
        return StorageSoA(
            capacity_kwh=cap, p_charge_max_kw=spec.p_charge_max_kw * one,
            p_discharge_max_kw=spec.p_discharge_max_kw * one, eta_charge=spec.eta_charge * one,
            eta_discharge=spec.eta_discharge * one, e_min_kwh=spec.soc_min * cap, e_max_kwh=spec.soc_max * cap,
            delta=(spec.efficiency_decay_delta if spec.soc_dependent_efficiency else 0.0) * one,
            soc_opt=spec.soc_opt * one, e_kwh=spec.soc_init * cap,
        )

    @classmethod
    def bounds(cls, soa: StorageSoA, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        return storage_bounds(soa, dt_h)

    @classmethod
    def step(cls, soa: StorageSoA, p_set_kw: np.ndarray, dt_h: float, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        return storage_step(soa, p_set_kw, dt_h)
