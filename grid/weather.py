"""Bundled TMY weather, read offline from pvlib's data folder.

pvlib ships two typical-meteorological-year files that need no network:
the Miami TMY2 file ``12839.tm2`` (hot and humid, the default because air
conditioners matter there) and the Greensboro TMY3 file ``723170TYA.CSV``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

WEATHER_FILES: dict[str, str] = {
    "12839.tm2": "tmy2",
    "723170TYA.CSV": "tmy3",
}


@dataclass(frozen=True)
class Site:
    """Location of a weather file."""

    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    tz_offset_h: float


def _pvlib_data_dir() -> str:
    import pvlib

    return os.path.join(os.path.dirname(pvlib.__file__), "data")


@functools.lru_cache(maxsize=4)
def _read_year(name: str) -> tuple[pd.DataFrame, Site]:
    import pandas as pd  # here: scenario validation reads WEATHER_FILES without pandas
    import pvlib

    if name not in WEATHER_FILES:
        raise ValueError(f"unknown weather file {name!r}; bundled files are {sorted(WEATHER_FILES)}")
    path = os.path.join(_pvlib_data_dir(), name)
    if WEATHER_FILES[name] == "tmy2":
        raw, meta = pvlib.iotools.read_tmy2(path)
        # TMY2 stores temperature in tenths of a degree and wind in tenths of m/s.
        df = pd.DataFrame(
            {
                "ghi_w_m2": raw["GHI"].astype(float),
                "dni_w_m2": raw["DNI"].astype(float),
                "dhi_w_m2": raw["DHI"].astype(float),
                "t_air_c": raw["DryBulb"].astype(float) / 10.0,
                "wind_speed_m_s": raw["Wspd"].astype(float) / 10.0,
            },
            index=raw.index,
        )
        site = Site(str(meta["City"]).title(), float(meta["latitude"]), float(meta["longitude"]),
                    float(meta["altitude"]), float(meta["TZ"]))
    else:
        raw, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
        df = pd.DataFrame(
            {
                "ghi_w_m2": raw["ghi"].astype(float),
                "dni_w_m2": raw["dni"].astype(float),
                "dhi_w_m2": raw["dhi"].astype(float),
                "t_air_c": raw["temp_air"].astype(float),
                "wind_speed_m_s": raw["wind_speed"].astype(float),
            },
            index=raw.index,
        )
        site = Site(str(meta["Name"]).strip('"').title(), float(meta["latitude"]),
                    float(meta["longitude"]), float(meta["altitude"]), float(meta["TZ"]))
    # TMY years mix calendar years per month; re-stamp onto one non-leap year so
    # that a day of year maps to one contiguous block of hours.
    hours = np.arange(len(df))
    df.index = pd.date_range("2019-01-01 01:00", periods=len(df), freq="h",
                             tz=f"Etc/GMT{-int(site.tz_offset_h):+d}")[hours]
    df = df.sort_index()
    return df, site


def load_weather(name: str, day_of_year: int, n_steps: int, step_h: float) -> pd.DataFrame:
    """Weather for ``n_steps`` periods of ``step_h`` hours from the start of a day.

    Values are hourly TMY readings, averaged into longer steps or linearly
    interpolated for sub-hourly steps. Horizons wrap around the end of the year.

    Args:
        name: bundled file name, one of ``WEATHER_FILES``.
        day_of_year: 1..365, the first day simulated.
        n_steps: number of periods.
        step_h: period length in hours (0.25..6).

    Returns:
        DataFrame indexed by period start (tz-aware), columns ``ghi_w_m2``,
        ``dni_w_m2``, ``dhi_w_m2``, ``t_air_c``, ``wind_speed_m_s``. The site is
        in ``df.attrs["site"]`` (a :class:`Site`).
    """
    import pandas as pd

    year, site = _read_year(name)
    if not 1 <= day_of_year <= 365:
        raise ValueError(f"day_of_year must be in 1..365, got {day_of_year}")
    # Hour-ending TMY stamps: the reading stamped h covers (h-1, h]; period
    # starting at h0 therefore uses stamps h0+1 ... ; we index readings by start.
    vals = year.to_numpy()
    n_year = len(vals)
    start_h = (day_of_year - 1) * 24
    t_h = start_h + np.arange(n_steps) * step_h
    # sample the hourly series (stamp = period start) on a fine grid and average per step
    sub = max(1, int(round(step_h * 4)))
    fine = (t_h[:, None] + (np.arange(sub)[None, :] + 0.5) * step_h / sub) - 0.5
    lo = np.floor(fine).astype(int)
    w = fine - lo
    a = vals[lo % n_year]
    b = vals[(lo + 1) % n_year]
    out = ((1 - w)[..., None] * a + w[..., None] * b).mean(axis=1)
    idx = year.index[0].normalize() + pd.to_timedelta(t_h, unit="h")
    df = pd.DataFrame(out, index=idx, columns=year.columns)
    df.attrs["site"] = site
    return df
