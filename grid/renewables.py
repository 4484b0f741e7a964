"""Available power of wind farms and PV plants from a weather frame, offline.

Wind: 10 m wind speed -> hub height by the logarithmic profile, reduced by windpowerlib's bundled
wind-farm efficiency curve (wake losses), through the power curve of the turbine type read from
windpowerlib's bundled oedb turbine library (no network).
PV: pvlib solar position at period midpoints, Hay-Davies plane-of-array irradiance, SAPM cell
temperature, PVWatts DC model with PVWatts system losses, PVWatts inverter clipped at AC rating.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pandas as pd

import grid.data as data


@functools.lru_cache(maxsize=8)
def turbine_power_curve(turbine_type: str = data.WIND_TURBINE_TYPE) -> tuple[np.ndarray, np.ndarray]:
    """Power curve of a turbine from windpowerlib's bundled oedb library.

    Returns:
        (wind_speed_m_s, power_w) arrays, NaN-free and sorted by wind speed.
    """
    import windpowerlib

    path = os.path.join(os.path.dirname(windpowerlib.__file__), "oedb", "power_curves.csv")
    table = pd.read_csv(path, index_col=0)
    if turbine_type not in table.index:
        raise ValueError(f"turbine {turbine_type!r} not in windpowerlib's bundled library {path}")
    row = table.loc[turbine_type].dropna()
    speeds = row.index.astype(float).to_numpy()
    order = np.argsort(speeds)
    return speeds[order], row.to_numpy(dtype=float)[order]


def hub_wind_speed_m_s(
    wind_speed_10m_m_s: np.ndarray,
    hub_height_m: float = data.WIND_HUB_HEIGHT_M,
    roughness_length_m: float = data.WIND_ROUGHNESS_LENGTH_M,
) -> np.ndarray:
    """Logarithmic wind profile from the measurement height to hub height (neutral stability)."""
    from windpowerlib.wind_speed import logarithmic_profile

    return np.asarray(
        logarithmic_profile(
            np.asarray(wind_speed_10m_m_s, dtype=float),
            data.WIND_MEASUREMENT_HEIGHT_M,
            hub_height_m,
            roughness_length_m,
        ),
        dtype=float,
    )


def wind_capacity_factor(
    wind_speed_10m_m_s: np.ndarray,
    turbine_type: str = data.WIND_TURBINE_TYPE,
    hub_height_m: float = data.WIND_HUB_HEIGHT_M,
) -> np.ndarray:
    """Wind-farm output per unit of installed capacity for each 10 m wind speed."""
    from windpowerlib.power_output import power_curve
    from windpowerlib.wake_losses import reduce_wind_speed

    v_hub = hub_wind_speed_m_s(wind_speed_10m_m_s, hub_height_m)
    v_farm = np.asarray(reduce_wind_speed(pd.Series(v_hub), data.WIND_EFFICIENCY_CURVE), dtype=float)
    speeds, power_w = turbine_power_curve(turbine_type)
    p = np.asarray(power_curve(v_farm, speeds, power_w), dtype=float)
    return np.clip(p / power_w.max(), 0.0, 1.0)


def pv_capacity_factor(weather: pd.DataFrame, step_h: float) -> np.ndarray:
    """PV plant AC output per MW of AC rating for each period of ``weather``.

    The plant preset of vppsim's one PV model (:func:`grid.solar.pvwatts_output`) with the
    cases' plant data (``grid/data.py``).

    Args:
        weather: frame from :func:`grid.weather.load_weather` (period-start index, site in attrs).
        step_h: period length, used to evaluate the sun position at period midpoints.
    """
    from grid.solar import plant_chain, pvwatts_output

    chain = plant_chain(data.PV_TILT_DEG, data.PV_AZIMUTH_DEG, data.PV_GAMMA_PDC_PER_C,
                        data.PV_SYSTEM_LOSSES_PCT / 100.0, data.PV_INVERTER_EFFICIENCY, data.PV_DC_AC_RATIO,
                        data.PV_TEMPERATURE_MODEL)
    return pvwatts_output(weather, chain, step_h)


def availability_mw(
    kinds: list[str] | tuple[str, ...], p_mw: np.ndarray, weather: pd.DataFrame, step_h: float
) -> np.ndarray:
    """Available power of each renewable unit per period.

    Args:
        kinds: ``"wind"`` or ``"pv"`` per unit.
        p_mw: installed AC capacity per unit (n_units,).
        weather: weather frame with one row per period.
        step_h: period length in hours.

    Returns:
        (T, n_units) available power in MW.
    """
    kinds = list(kinds)
    p_mw = np.asarray(p_mw, dtype=float)
    out = np.zeros((len(weather), len(kinds)))
    if "wind" in kinds:
        cf_wind = wind_capacity_factor(weather["wind_speed_m_s"].to_numpy())
    if "pv" in kinds:
        cf_pv = pv_capacity_factor(weather, step_h)
    for k, kind in enumerate(kinds):
        if kind == "wind":
            out[:, k] = cf_wind * p_mw[k]
        elif kind == "pv":
            out[:, k] = cf_pv * p_mw[k]
        else:
            raise ValueError(f"unknown renewable kind {kind!r}; expected 'wind' or 'pv'")
    return out
