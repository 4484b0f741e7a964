"""Wind turbine with seed 002's piecewise power curve and turbulence correction (§3.1 ①).

    P_w = 0                                       v < v_in or v >= v_out
    P_w = P_r * beta_v * ((v - v_in)/(v_r - v_in))**3   v_in <= v < v_r
    P_w = P_r * beta_v                           v_r <= v < v_out
    beta_v = 1 - k_v * (sigma_v / sigma_v,max)**2,  sigma_v = |Δv| / Δt

(v_in 3, v_r 12, v_out 25 m/s; k_v 0.2; sigma_v,max 5 m/s/h; Manwell et al. 2010.) sigma_v is
clipped to sigma_v,max so beta_v stays in [1 - k_v, 1]. The seed applies beta_v in the cubic
region only as printed; we apply it in the rated region too because the garbled capture places
it next to P_r (documented). Wind speeds from a TMY file are measured at 10 m and lifted to the
hub with the Hellmann power law v_hub = v_10 * (h/10)**alpha (alpha = 1/7, a standard open-terrain
value; the seed is silent). Not controllable: curtailment is decided by the site simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, Field, model_validator

from aggregation.distributions import STRICT_CONFIG
from aggregation.kinds.base import DeviceKind, SoA, register_kind


class WindSpec(BaseModel):
    """One wind group (seed 002 §3.1 ①; seed 001 Table 1: 300 kW; seed 002: 1.5 MW)."""

    # strict and finite: booleans, quoted numbers, NaN and inf are errors (issue 10).
    model_config = STRICT_CONFIG

    rated_kw: float = Field(1500.0, gt=0, le=1e7, allow_inf_nan=False)
    v_in_m_s: float = Field(3.0, ge=0, le=10, allow_inf_nan=False)
    v_rated_m_s: float = Field(12.0, gt=0, le=30, allow_inf_nan=False)
    v_out_m_s: float = Field(25.0, gt=0, le=40, allow_inf_nan=False)
    k_v: float = Field(0.2, ge=0, le=1, allow_inf_nan=False)
    sigma_max_m_s_per_h: float = Field(5.0, gt=0, le=50, allow_inf_nan=False)
    hub_height_m: float = Field(80.0, ge=10, le=200, allow_inf_nan=False)
    measurement_height_m: float = Field(10.0, gt=0, le=200, allow_inf_nan=False)
    shear_exponent: float = Field(1.0 / 7.0, ge=0, le=0.6, allow_inf_nan=False)
    count: int = Field(1, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> WindSpec:
        if not self.v_in_m_s < self.v_rated_m_s < self.v_out_m_s:
            raise ValueError("need v_in < v_rated < v_out")
        return self


@dataclass
class WindSoA(SoA):
    """Wind units, (n,) each."""

    rated_kw: np.ndarray
    v_in: np.ndarray
    v_r: np.ndarray
    v_out: np.ndarray
    k_v: np.ndarray
    sigma_max: np.ndarray


def turbulence_factor(sigma_m_s_per_h: np.ndarray, k_v: float | np.ndarray, sigma_max: float | np.ndarray) -> np.ndarray:
    """beta_v = 1 - k_v*(min(sigma, sigma_max)/sigma_max)^2 (seed 002 §3.1 ①), same shape as sigma."""
    r = np.minimum(np.abs(sigma_m_s_per_h) / sigma_max, 1.0)
    return 1.0 - k_v * r * r


def power_curve(v_m_s: np.ndarray, sigma_m_s_per_h: np.ndarray, rated_kw: float | np.ndarray, v_in: float = 3.0,
                v_r: float = 12.0, v_out: float = 25.0, k_v: float = 0.2, sigma_max: float = 5.0) -> np.ndarray:
    """Available power (kW), broadcasting over v and sigma (same shapes)."""
    v = np.asarray(v_m_s, dtype=np.float64)
    beta = turbulence_factor(np.asarray(sigma_m_s_per_h, dtype=np.float64), k_v, sigma_max)
    frac = np.where(v < v_r, ((v - v_in) / (v_r - v_in)) ** 3, 1.0)
    frac = np.where((v < v_in) | (v >= v_out), 0.0, frac)
    return rated_kw * beta * frac


def hub_speed(v_meas_m_s: np.ndarray, spec: WindSpec) -> np.ndarray:
    """Hellmann power-law extrapolation from the measurement height to the hub (m/s)."""
    return np.asarray(v_meas_m_s, float) * (spec.hub_height_m / spec.measurement_height_m) ** spec.shear_exponent


def wind_available_kw(spec: WindSpec, v_meas_m_s: np.ndarray, dt_h: float) -> np.ndarray:
    """Group output (kW, shape (T,)) of ``count`` turbines for a speed series (T,) at the measurement height.

    sigma_v of period t is |v_t - v_{t-1}|/dt (first period: |v_1 - v_0|/dt).
    """
    v = hub_speed(v_meas_m_s, spec)
    dv = np.abs(np.diff(v, prepend=v[1] if len(v) > 1 else v[0]))
    return spec.count * power_curve(v, dv / dt_h, spec.rated_kw, spec.v_in_m_s, spec.v_rated_m_s, spec.v_out_m_s,
                                    spec.k_v, spec.sigma_max_m_s_per_h)


@register_kind
class WindKind(DeviceKind):
    """Wind groups; output follows the weather (``actions='none'``), curtailed by the site simulator."""

    name: ClassVar[str] = "me_wind"
    label: ClassVar[str] = "wind turbine"
    spec_cls = WindSpec
    soa_cls = WindSoA
    actions = "none"
    order: ClassVar[int] = 64
    load_sign: ClassVar[int] = -1

    @classmethod
    def build(cls, spec: WindSpec, n: int = 1, rng: np.random.Generator | None = None) -> WindSoA:
        one = np.ones(n)
        return WindSoA(rated_kw=spec.rated_kw * one, v_in=spec.v_in_m_s * one, v_r=spec.v_rated_m_s * one,
                       v_out=spec.v_out_m_s * one, k_v=spec.k_v * one, sigma_max=spec.sigma_max_m_s_per_h * one)

    @classmethod
    def bounds(cls, soa: WindSoA, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros_like(soa.rated_kw), soa.rated_kw.copy()

    @classmethod
    def step(cls, soa: WindSoA, p_set_kw: np.ndarray, dt_h: float, *, v_m_s: np.ndarray,
             sigma_m_s_per_h: np.ndarray, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Available power at hub speed ``v_m_s`` (n,); ``p_set_kw`` caps it (curtailment)."""
        avail = power_curve(v_m_s, sigma_m_s_per_h, soa.rated_kw, soa.v_in, soa.v_r, soa.v_out, soa.k_v,
                            soa.sigma_max)
        p = np.minimum(avail, np.maximum(np.asarray(p_set_kw, float), 0.0))
        return {"p_kw": p, "avail_kw": avail, "curtailed_kw": avail - p}
