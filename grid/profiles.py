"""Real load and renewable shapes read offline from SimBench's bundled profiles.

SimBench (simbench.de) ships one year (2016, 15-minute resolution) of
normalised load profiles (standard load profiles such as ``G0-A`` commercial,
``G1-A`` weekday industrial, ``H0-A`` household, ``hv_mixed1`` an HV grid
mix) and renewable profiles (``PV1``..``PV8``, ``WP1``..``WP12`` wind parks).
Values are fractions of the rated/peak power.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pandas as pd

_SUBDIR = "1-complete_data-mixed-all-0-sw"
_STEPS_PER_H = 4  # SimBench resolution: 15 minutes


def _simbench_dir() -> str:
    import simbench

    return os.path.join(os.path.dirname(simbench.__file__), "networks", _SUBDIR)


@functools.lru_cache(maxsize=2)
def _columns(kind: str) -> tuple[str, ...]:
    path = os.path.join(_simbench_dir(), "LoadProfile.csv" if kind == "load" else "RESProfile.csv")
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().split(";")
    if kind == "load":
        return tuple(c[: -len("_pload")] for c in header if c.endswith("_pload"))
    return tuple(c for c in header if c != "time")


@functools.lru_cache(maxsize=32)
def _column(kind: str, name: str) -> np.ndarray:
    if name not in _columns(kind):
        raise ValueError(f"unknown SimBench {kind} profile {name!r}; available: {', '.join(_columns(kind))}")
    path = os.path.join(_simbench_dir(), "LoadProfile.csv" if kind == "load" else "RESProfile.csv")
    col = f"{name}_pload" if kind == "load" else name
    df = pd.read_csv(path, sep=";", usecols=[col], engine="pyarrow")
    return df[col].to_numpy(dtype=np.float64)


def available_profiles(kind: str) -> tuple[str, ...]:
    """Names of SimBench profiles of a kind: ``"load"`` or ``"res"``."""
    return _columns(kind)


def simbench_profile(kind: str, name: str, day_of_year: int, n_steps: int, step_h: float) -> np.ndarray:
    """Period averages of a SimBench profile starting at 00:00 of ``day_of_year``.

    Args:
        kind: ``"load"`` or ``"res"``.
        name: profile name, e.g. ``"G0-A"`` or ``"PV3"``.
        day_of_year: 1..366 (SimBench's year 2016 is a leap year).
        n_steps: number of periods.
        step_h: period length in hours; must be a multiple of 0.25 h.

    Returns:
        float array (n_steps,) in per-unit of the profile's rating.
    """
    series = _column(kind, name)
    per = step_h * _STEPS_PER_H
    if abs(per - round(per)) > 1e-9 or per < 1:
        raise ValueError(f"step_h must be a multiple of 0.25 h, got {step_h}")
    per = int(round(per))
    start = (day_of_year - 1) * 24 * _STEPS_PER_H
    idx = (start + np.arange(n_steps * per)) % len(series)
    return series[idx].reshape(n_steps, per).mean(axis=1)


def simbench_system_signal(
    load_profile: str,
    pv_profile: str,
    wind_profile: str,
    pv_capacity_per_peak_load: float,
    wind_capacity_per_peak_load: float,
    peak_load_mw: float,
    day_of_year: int,
    n_steps: int,
    step_h: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Renewable and total generation (MWh per period) of a SimBench-shaped system.

    Demand follows ``load_profile`` scaled to ``peak_load_mw`` (its annual
    maximum); PV and wind follow their profiles scaled by installed capacity
    per MW of peak load. Generation equals demand; renewable output above
    demand is curtailed, so E_res <= E_tot.

    Returns:
        (e_res_mwh, e_tot_mwh), each (n_steps,).
    """
    peak = float(_column("load", load_profile).max())
    load = np.clip(simbench_profile("load", load_profile, day_of_year, n_steps, step_h), 0.0, None) / peak
    pv = np.clip(simbench_profile("res", pv_profile, day_of_year, n_steps, step_h), 0.0, None)
    wind = np.clip(simbench_profile("res", wind_profile, day_of_year, n_steps, step_h), 0.0, None)
    e_tot = peak_load_mw * load * step_h
    e_res = peak_load_mw * (pv_capacity_per_peak_load * pv + wind_capacity_per_peak_load * wind) * step_h
    return np.minimum(e_res, e_tot), e_tot
