"""PV with seed 002's temperature–irradiance coupling (§3.1 ②).

    P_pv = eta(T_c) * A * H,   T_c = T_a + gamma_h * H,   eta(T_c) = eta_ref * exp(-alpha_T * (T_c - T_ref))

Sign choice: the capture of the seed lost the sign of the exponent; we use the physical one —
efficiency *falls* as the cell heats (crystalline silicon loses ≈ 0.4–0.5 %/°C; Skoplaki &
Palyvos 2009, the seed's ref. [26]). Units: the seed prints gamma_h = 0.02 °C/(kW/m^2), which
would heat a cell by 0.02 °C in full sun; the value is the Ross coefficient in °C·m^2/W
(0.02 °C per W/m^2 = 20 °C at 1 kW/m^2, the usual 0.02–0.04 range), so H enters T_c in W/m^2.
A = 11,111 m^2 gives 2 MWp at eta_ref 18 % and 1 kW/m^2 (seed); for another size A = P_peak /
(eta_ref * 1 kW/m^2). H is the global horizontal irradiance of the TMY file (no transposition:
the seed uses one irradiance H_t). Not controllable: curtailment is decided by the site simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, Field

from aggregation.distributions import STRICT_CONFIG
from aggregation.kinds.base import DeviceKind, SoA, register_kind


class MultiEnergyPVSpec(BaseModel):
    """One PV group (seed 002 §3.1 ②: 2 MWp, eta_ref 18 %, alpha_T 0.005 /°C, gamma_h 0.02; seed 001: 300 kW)."""

    # strict and finite: booleans, quoted numbers, NaN and inf are errors (issue 10).
    model_config = STRICT_CONFIG

    peak_kw: float = Field(2000.0, gt=0, le=1e7, allow_inf_nan=False)
    eta_ref: float = Field(0.18, gt=0, le=0.5, allow_inf_nan=False)
    alpha_t_per_c: float = Field(0.005, ge=0, le=0.02, allow_inf_nan=False)
    gamma_h_c_m2_per_w: float = Field(0.02, ge=0, le=0.1, allow_inf_nan=False)
    t_ref_c: float = Field(25.0, ge=-20, le=60, allow_inf_nan=False)
    count: int = Field(1, ge=1, le=1_000_000)

    @property
    def area_m2(self) -> float:
        """Module area giving ``peak_kw`` at 1 kW/m^2 and T_ref (m^2)."""
        return self.peak_kw / self.eta_ref  # kW / (eta * 1 kW/m^2)


@dataclass
class PVSoA(SoA):
    """PV units, (n,) each."""

    area_m2: np.ndarray
    eta_ref: np.ndarray
    alpha_t: np.ndarray
    gamma_h: np.ndarray
    t_ref_c: np.ndarray


def pv_power_kw(ghi_w_m2: np.ndarray, t_air_c: np.ndarray, area_m2: float | np.ndarray, eta_ref: float = 0.18,
                alpha_t: float = 0.005, gamma_h: float = 0.02, t_ref_c: float = 25.0) -> np.ndarray:
    """Output (kW) for irradiance (W/m^2) and air temperature (°C), broadcasting."""
    h = np.maximum(np.asarray(ghi_w_m2, float), 0.0)
    t_c = np.asarray(t_air_c, float) + gamma_h * h
    eta = eta_ref * np.exp(-alpha_t * (t_c - t_ref_c))
    return eta * area_m2 * h / 1000.0


def pv_available_kw(spec: MultiEnergyPVSpec, ghi_w_m2: np.ndarray, t_air_c: np.ndarray) -> np.ndarray:
    """Group output (kW, (T,)) of ``count`` arrays."""
    return spec.count * pv_power_kw(ghi_w_m2, t_air_c, spec.area_m2, spec.eta_ref, spec.alpha_t_per_c,
                                    spec.gamma_h_c_m2_per_w, spec.t_ref_c)


@register_kind
class MultiEnergyPVKind(DeviceKind):
    """PV groups with the temperature–irradiance coupling (``actions='none'``)."""

    name: ClassVar[str] = "me_pv"
    label: ClassVar[str] = "PV (temperature-coupled)"
    spec_cls = MultiEnergyPVSpec
    soa_cls = PVSoA
    actions = "none"
    order: ClassVar[int] = 65
    load_sign: ClassVar[int] = -1

    @classmethod
    def build(cls, spec: MultiEnergyPVSpec, n: int = 1, rng: np.random.Generator | None = None) -> PVSoA:
        one = np.ones(n)
        return PVSoA(area_m2=spec.area_m2 * one, eta_ref=spec.eta_ref * one, alpha_t=spec.alpha_t_per_c * one,
                     gamma_h=spec.gamma_h_c_m2_per_w * one, t_ref_c=spec.t_ref_c * one)

    @classmethod
    def bounds(cls, soa: PVSoA, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros_like(soa.area_m2), soa.area_m2 * soa.eta_ref

    @classmethod
    def step(cls, soa: PVSoA, p_set_kw: np.ndarray, dt_h: float, *, ghi_w_m2: np.ndarray, t_air_c: np.ndarray,
             **inputs: np.ndarray) -> dict[str, np.ndarray]:
        avail = pv_power_kw(ghi_w_m2, t_air_c, soa.area_m2, soa.eta_ref, soa.alpha_t, soa.gamma_h, soa.t_ref_c)
        p = np.minimum(avail, np.maximum(np.asarray(p_set_kw, float), 0.0))
        return {"p_kw": p, "avail_kw": avail, "curtailed_kw": avail - p}
