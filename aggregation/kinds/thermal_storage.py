"""Thermal storage tank (seed 001 §2.2 item 6; seed 002 §3.1 ⑥).

H[t+1] = H[t] + eta_ch * Q_ch * dt - Q_dis * dt / eta_dis, 0 <= Q_ch <= Q_ch,max, 0 <= Q_dis <= Q_dis,max,
H_min <= H <= H_max. Same numerics as the battery (:mod:`aggregation.kinds.battery`) without the
SOC-dependent factor. Sign: ``q_kw > 0`` discharges heat into the heat bus.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import BaseModel, Field, model_validator

from aggregation.distributions import STRICT_CONFIG
from aggregation.kinds.base import DeviceKind, register_kind
from aggregation.kinds.battery import StorageSoA, storage_bounds, storage_step


class ThermalStorageSpec(BaseModel):
    """One tank group (seed 001 Table 1: 100 kWh, 90 %, 100 kW, 10 kWh initial; seed 002: 3 MWh, 1.5 MW, 95 %)."""

    # strict and finite: booleans, quoted numbers, NaN and inf are errors (issue 10).
    model_config = STRICT_CONFIG

    capacity_kwh: float = Field(3000.0, gt=0, le=1e7, allow_inf_nan=False)
    q_charge_max_kw: float = Field(1500.0, ge=0, le=1e7, allow_inf_nan=False)
    q_discharge_max_kw: float = Field(1500.0, ge=0, le=1e7, allow_inf_nan=False)
    eta_charge: float = Field(0.95, gt=0, le=1, allow_inf_nan=False)
    eta_discharge: float = Field(0.95, gt=0, le=1, allow_inf_nan=False)
    level_min_kwh: float = Field(0.0, ge=0, le=1e7, allow_inf_nan=False)
    level_init_kwh: float = Field(1500.0, ge=0, le=1e7, allow_inf_nan=False)
    count: int = Field(1, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> ThermalStorageSpec:
        if not self.level_min_kwh <= self.level_init_kwh <= self.capacity_kwh:
            raise ValueError("need level_min_kwh <= level_init_kwh <= capacity_kwh")
        return self


@register_kind
class ThermalStorageKind(DeviceKind):
    """Thermal tanks: continuous heat set-point in [-Q_ch,max, Q_dis,max] (heat-supply sign)."""

    name: ClassVar[str] = "me_thermal_storage"
    label: ClassVar[str] = "thermal storage tank"
    spec_cls = ThermalStorageSpec
    soa_cls = StorageSoA
    actions = "continuous"
    order: ClassVar[int] = 61
    load_sign: ClassVar[int] = 0  # heat bus only

    @classmethod
    def build(cls, spec: ThermalStorageSpec, n: int = 1, rng: np.random.Generator | None = None) -> StorageSoA:
        one = np.ones(n)
        return StorageSoA(
            capacity_kwh=spec.capacity_kwh * one, p_charge_max_kw=spec.q_charge_max_kw * one,
            p_discharge_max_kw=spec.q_discharge_max_kw * one, eta_charge=spec.eta_charge * one,
            eta_discharge=spec.eta_discharge * one, e_min_kwh=spec.level_min_kwh * one,
            e_max_kwh=spec.capacity_kwh * one, delta=np.zeros(n), soc_opt=0.5 * one,
            e_kwh=spec.level_init_kwh * one,
        )

    @classmethod
    def bounds(cls, soa: StorageSoA, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        return storage_bounds(soa, dt_h)

    @classmethod
    def step(cls, soa: StorageSoA, p_set_kw: np.ndarray, dt_h: float, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        """As :func:`aggregation.kinds.battery.storage_step`; ``p_kw`` here is heat (kW_th)."""
        return storage_step(soa, p_set_kw, dt_h)
