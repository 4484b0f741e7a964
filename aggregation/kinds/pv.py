"""PV systems of parks: a non-controllable generating kind driven by the weather.

Output per kWp comes from pvlib's PVWatts chain on the scenario's TMY weather
(:func:`pv_profile_kw_per_kwp`; ``docs/devices.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from grid.solar import PVChain, pvwatts_output

from ..distributions import Strict
from .base import DeviceKind, SoA, register_kind


class PVSpec(Strict):
    """PV systems of a park (pvlib PVWatts chain, see docs/devices.md)."""

    count: Annotated[int, Field(ge=0, le=10_000_000)] = 1
    capacity_kw: Annotated[float, Field(gt=0.0, le=1_000_000.0, description="DC rating of each system, kWp")]
    tilt_deg: Annotated[float, Field(ge=0.0, le=90.0)] = 20.0
    azimuth_deg: Annotated[float, Field(ge=0.0, lt=360.0)] = 180.0
    gamma_pdc_per_c: Annotated[float, Field(ge=-0.01, le=0.0)] = -0.0037
    inverter_efficiency: Annotated[float, Field(gt=0.5, le=1.0)] = 0.96
    system_losses: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.14


@dataclass
class PVFleet(SoA):
    """PV systems: a rating per system; output follows the park's weather profile."""

    park: np.ndarray
    capacity_kw: np.ndarray


class PVHandle:
    """A PV system (not controllable; local renewable energy of its park)."""

    @property
    def capacity_kw(self) -> float:
        return float(self._soa.capacity_kw[self.idx])

    @property
    def p_kw(self) -> float:
        step = max(self.model.steps - 1, 0)
        return float(self.capacity_kw * self.model.fleet.profile("pv")[int(self._soa.park[self.idx]), step])


def pv_profile_kw_per_kwp(weather, spec: PVSpec) -> np.ndarray:
    """AC output per kWp for each period from a weather frame.

    The rooftop preset of vppsim's one PV model (:func:`grid.solar.pvwatts_output`) with the
    park block's parameters.

    Args:
        weather: frame from :func:`grid.weather.load_weather`.
        spec: a :class:`PVSpec`.

    Returns:
        float array (n_steps,) of kW per kWp (period averages at period centres).
    """
    chain = PVChain(tilt_deg=spec.tilt_deg, azimuth_deg=spec.azimuth_deg, gamma_pdc_per_c=spec.gamma_pdc_per_c,
                    system_losses=spec.system_losses, inverter_efficiency=spec.inverter_efficiency)
    return pvwatts_output(weather, chain)


@register_kind
class PhotoVoltaic(DeviceKind):
    """Rooftop or site PV: generates with the weather, no control action."""

    name = "pv"
    label = "PV"
    spec_cls = PVSpec
    soa_cls = PVFleet
    handle = PVHandle
    actions = "none"
    order = 2
    always = True
    load_sign = -1

    @classmethod
    def draw(cls, spec: PVSpec, park: int, n: int, rng: np.random.Generator, env) -> dict[str, np.ndarray]:
        return {"park": np.full(n, park, np.int32), "capacity_kw": np.full(n, spec.capacity_kw)}

    @classmethod
    def park_profile(cls, spec: PVSpec, env) -> np.ndarray:
        """(n_steps,) output per kWp of the park's systems."""
        return pv_profile_kw_per_kwp(env.weather, spec)

    @classmethod
    def park_output_kw(cls, fleet, step: int) -> np.ndarray:
        """(n_parks,) generation in period ``step``."""
        cap = np.bincount(fleet.pv.park, weights=fleet.pv.capacity_kw, minlength=fleet.n_parks)
        return cap * fleet.profile("pv")[:, step]


def __getattr__(name: str):
    # ``PVAgent`` (the Mesa agent class) is built on first use: reading a scenario imports no Mesa.
    if name == "PVAgent":
        return PhotoVoltaic.agent_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
