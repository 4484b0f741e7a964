"""The one PV model of vppsim: pvlib's PVWatts chain, for park systems and grid plants alike.

One function, :func:`pvwatts_output`, turns a weather frame into AC output per
unit of rating; a :class:`PVChain` says which pvlib sub-model each stage uses.
Two documented presets cover what vppsim simulates (``docs/devices.md``,
``docs/grid.md``):

* :data:`ROOFTOP` (park systems, per kWp DC): isotropic sky (Liu–Jordan),
  Faiman cell temperature, lumped losses and a flat inverter efficiency — the
  PVWatts-style estimate for small systems whose mounting and inverter are unknown.
* :func:`plant_chain` (utility plants of the IEEE cases, per MW AC): Hay–Davies
  sky with extraterrestrial irradiance, SAPM open-rack cell temperature, a DC/AC
  ratio and the PVWatts inverter efficiency curve with clipping.

Stages (pvlib functions): solar position at period midpoints
(``solarposition.get_solarposition``), plane-of-array irradiance
(``irradiance.get_total_irradiance``), cell temperature (``temperature.faiman`` /
``temperature.sapm_cell``), DC power (``pvsystem.pvwatts_dc``), AC power (flat
efficiency or ``inverter.pvwatts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class PVChain:
    """Which sub-model each stage of the PVWatts chain uses, and the system's parameters.

    Attributes:
        tilt_deg, azimuth_deg: array orientation (azimuth 180 = south).
        gamma_pdc_per_c: DC power temperature coefficient (1/°C, negative).
        system_losses: lumped DC losses as a fraction (PVWatts: 0.14).
        inverter_efficiency: nominal inverter efficiency.
        dc_per_ac: DC rating per unit of output rating (1 for output per kWp DC).
        transposition: ``"isotropic"`` or ``"haydavies"`` (needs extraterrestrial irradiance).
        cell_temperature: ``"faiman"`` or a pvlib SAPM mounting, e.g. ``"sapm:open_rack_glass_polymer"``.
        inverter: ``"flat"`` (constant efficiency, clipped at the rating) or ``"pvwatts"`` (part-load curve).
        sun_temperature: air temperature for refraction in the solar position: ``"standard"`` (12 °C) or
            ``"air"`` (the weather's).
        clip_poa: clip negative plane-of-array irradiance to 0.
    """

    tilt_deg: float = 20.0
    azimuth_deg: float = 180.0
    gamma_pdc_per_c: float = -0.0037
    system_losses: float = 0.14
    inverter_efficiency: float = 0.96
    dc_per_ac: float = 1.0
    transposition: Literal["isotropic", "haydavies"] = "isotropic"
    cell_temperature: str = "faiman"
    inverter: Literal["flat", "pvwatts"] = "flat"
    sun_temperature: Literal["standard", "air"] = "standard"
    clip_poa: bool = False


ROOFTOP = PVChain()


def plant_chain(
    tilt_deg: float,
    azimuth_deg: float,
    gamma_pdc_per_c: float,
    system_losses: float,
    inverter_efficiency: float,
    dc_per_ac: float,
    mounting: str,
) -> PVChain:
    """The utility-plant preset with the given parameters (``grid/data.py`` holds the cases' values)."""
    return PVChain(tilt_deg, azimuth_deg, gamma_pdc_per_c, system_losses, inverter_efficiency, dc_per_ac,
                   "haydavies", f"sapm:{mounting}", "pvwatts", "air", True)


def pvwatts_output(weather: Any, chain: PVChain = ROOFTOP, step_h: float | None = None) -> np.ndarray:
    """AC output per unit of rating for each period of ``weather`` (period averages at midpoints).

    Args:
        weather: frame from :func:`grid.weather.load_weather` (period-start index, site in ``attrs``).
        chain: the sub-models and parameters.
        step_h: period length (h); default the index spacing (1 h for a single row).

    Returns:
        float64 array (n_periods,) in [0, 1]: kW per kW of rating (kWp DC for :data:`ROOFTOP`,
        kW AC for :func:`plant_chain`).

    Raises:
        ValueError: an unknown cell-temperature model.
    """
    import pandas as pd  # here, not at import: reading a scenario file imports this module
    import pvlib

    site = weather.attrs["site"]
    if step_h is None:
        step = weather.index[1] - weather.index[0] if len(weather) > 1 else pd.Timedelta(hours=1)
    else:
        step = pd.Timedelta(hours=step_h)
    mid = weather.index + step / 2
    t_air = weather["t_air_c"].to_numpy()
    if chain.sun_temperature == "air":
        sun = pvlib.solarposition.get_solarposition(mid, site.latitude_deg, site.longitude_deg,
                                                    altitude=site.altitude_m, temperature=t_air)
    else:
        loc = pvlib.location.Location(site.latitude_deg, site.longitude_deg, altitude=site.altitude_m)
        sun = loc.get_solarposition(mid)
    extra = {}
    if chain.transposition == "haydavies":
        extra = {"dni_extra": pvlib.irradiance.get_extra_radiation(mid).to_numpy(), "model": "haydavies"}
    poa = pvlib.irradiance.get_total_irradiance(
        chain.tilt_deg,
        chain.azimuth_deg,
        sun["apparent_zenith"].to_numpy(),
        sun["azimuth"].to_numpy(),
        weather["dni_w_m2"].to_numpy(),
        weather["ghi_w_m2"].to_numpy(),
        weather["dhi_w_m2"].to_numpy(),
        **extra,
    )
    poa_w_m2 = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float))
    if chain.clip_poa:
        poa_w_m2 = poa_w_m2.clip(min=0.0)
    wind = weather["wind_speed_m_s"].to_numpy()
    if chain.cell_temperature == "faiman":
        t_cell_c = pvlib.temperature.faiman(poa_w_m2, t_air, wind)
    elif chain.cell_temperature.startswith("sapm:"):
        params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][chain.cell_temperature[5:]]
        t_cell_c = pvlib.temperature.sapm_cell(poa_w_m2, t_air, wind, **params)
    else:
        raise ValueError(f"unknown cell temperature model {chain.cell_temperature!r}; use 'faiman' or 'sapm:<mount>'")
    pdc = pvlib.pvsystem.pvwatts_dc(poa_w_m2, t_cell_c, chain.dc_per_ac, chain.gamma_pdc_per_c)
    pdc = np.asarray(pdc, dtype=float) * (1.0 - chain.system_losses)
    if chain.inverter == "flat":
        return np.clip(pdc * chain.inverter_efficiency, 0.0, 1.0).astype(np.float64)
    # pvlib's pvwatts inverter takes the DC input rating; AC rating = eta_nom * pdc0_inv = 1 per unit AC.
    pac = pvlib.inverter.pvwatts(pdc, 1.0 / chain.inverter_efficiency, eta_inv_nom=chain.inverter_efficiency)
    return np.clip(np.nan_to_num(np.asarray(pac, dtype=float)), 0.0, 1.0)
