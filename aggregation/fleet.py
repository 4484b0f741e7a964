"""Build the structure-of-arrays DER fleet of a scenario's parks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .devices import AC_MODES, ACFleet, EVFleet, _SoA, pv_profile_kw_per_kwp
from .profiles import simbench_profile
from .specs import ParkSpec

KINDS: tuple[str, ...] = ("ac", "ev", "pv")


@dataclass
class PVFleet(_SoA):
    """PV systems: a rating per system; output follows the park's weather profile."""

    park: np.ndarray
    capacity_kw: np.ndarray


@dataclass
class Fleet:
    """All DERs of a run, one structure of arrays per kind, plus park-level series.

    Attributes:
        park_names: names in park order.
        ac, ev, pv: device fleets; ``park`` columns index ``park_names``.
        base_load_kw: (n_parks, n_steps) non-flexible load.
        pv_kw_per_kwp: (n_parks, n_steps) PV output per kWp at each park.
        t_out_c: (n_steps,) outdoor temperature.
    """

    park_names: tuple[str, ...]
    park_buses: tuple[int | None, ...]
    ac: ACFleet
    ev: EVFleet
    pv: PVFleet
    base_load_kw: np.ndarray
    pv_kw_per_kwp: np.ndarray
    t_out_c: np.ndarray
    step_h: float
    extras: dict = field(default_factory=dict)

    @property
    def n_parks(self) -> int:
        return len(self.park_names)

    @property
    def n_steps(self) -> int:
        return self.base_load_kw.shape[1]

    def count(self, kind: str) -> int:
        return len(getattr(self, kind))

    @property
    def n_ders(self) -> int:
        return sum(self.count(k) for k in KINDS)

    def park_sum(self, kind: str, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` (one per unit of ``kind``) per park, in float64.

        Units are stored park by park, so a segmented sum (``reduceat``) does the
        job without the float64 copy ``np.bincount`` makes of its weights.
        """
        park = getattr(self, kind).park
        starts = self.extras.get(("starts", kind))
        if starts is None:
            if len(park) and (np.diff(park) < 0).any():
                raise ValueError(f"{kind} units are not stored park by park")
            starts = np.searchsorted(park, np.arange(self.n_parks)).astype(np.intp)
            self.extras[("starts", kind)] = starts
        out = np.zeros(self.n_parks)
        nonempty = np.diff(np.append(starts, len(park))) > 0
        if nonempty.any():
            out[nonempty] = np.add.reduceat(values, starts[nonempty], dtype=np.float64)
        return out

    def pv_park_kw(self, step: int) -> np.ndarray:
        """PV output per park in a period (kW)."""
        cap = np.bincount(self.pv.park, weights=self.pv.capacity_kw, minlength=self.n_parks)
        return cap * self.pv_kw_per_kwp[:, step]

    def park_p_max_kw(self) -> np.ndarray:
        """Largest possible consumption per park (base peak + flexible ratings)."""
        base = self.base_load_kw.max(axis=1)
        ac = np.bincount(self.ac.park, weights=self.ac.p_max_kw, minlength=self.n_parks)
        ev = np.bincount(self.ev.park, weights=self.ev.p_max_kw, minlength=self.n_parks)
        return base + ac + ev

    def state_dict(self) -> dict[str, dict[str, np.ndarray]]:
        return {k: getattr(self, k).state_dict() for k in KINDS}

    def load_state_dict(self, state: dict[str, dict[str, np.ndarray]]) -> None:
        for k in KINDS:
            getattr(self, k).load_state_dict(state[k])


def scaled_count(count: int, scale: float) -> int:
    return int(round(count * scale))


def build_fleet(
    parks: list[ParkSpec],
    scale: float,
    weather: pd.DataFrame,
    day_of_year: int,
    step_h: float,
    rng: np.random.Generator,
) -> Fleet:
    """Draw every DER's parameters and initial state.

    Args:
        parks: park specifications.
        scale: multiplies every DER count.
        weather: per-period weather (:func:`aggregation.weather.load_weather`).
        day_of_year: first simulated day (for SimBench base-load shapes).
        step_h: period length in hours.
        rng: the model's generator; the only source of randomness.
    """
    n_steps = len(weather)
    n_days = int(np.ceil(n_steps * step_h / 24.0)) + 1
    acs, evs, pvs = [], [], []
    base = np.zeros((len(parks), n_steps))
    pv_prof = np.zeros((len(parks), n_steps))
    for p_idx, park in enumerate(parks):
        if park.base_load.peak_kw > 0:
            # A scaled scenario replicates whole parks, so their fixed load scales with the DERs.
            base[p_idx] = park.base_load.peak_kw * scale * np.clip(
                simbench_profile("load", park.base_load.profile, day_of_year, n_steps, step_h), 0.0, None
            )
        if park.ac is not None:
            acs.append(_draw_ac(park.ac, p_idx, scaled_count(park.ac.count, scale), rng))
        if park.ev is not None:
            evs.append(_draw_ev(park.ev, p_idx, scaled_count(park.ev.count, scale), n_days, rng))
        if park.pv is not None:
            n = scaled_count(park.pv.count, scale)
            pvs.append({"park": np.full(n, p_idx, np.int32), "capacity_kw": np.full(n, park.pv.capacity_kw)})
            pv_prof[p_idx] = pv_profile_kw_per_kwp(weather, park.pv)
    return Fleet(
        park_names=tuple(p.name for p in parks),
        park_buses=tuple(p.bus for p in parks),
        ac=ACFleet(**_concat(acs, ACFleet)),
        ev=EVFleet(**_concat(evs, EVFleet)),
        pv=PVFleet(**_concat(pvs, PVFleet)),
        base_load_kw=base,
        pv_kw_per_kwp=pv_prof,
        t_out_c=weather["t_air_c"].to_numpy(dtype=float),
        step_h=step_h,
    )


# Schedule hours and comfort limits need no more than float16's 0.01-0.02 resolution.
_DTYPES = {
    "park": np.int32,
    "preferred_mode": np.int8,
    "mode": np.int8,
    "activated": bool,
    "on_hour": np.float16,
    "off_hour": np.float16,
    "comfort_low_c": np.float16,
    "comfort_high_c": np.float16,
}


def soa_from_dict(cls, columns: dict[str, np.ndarray]):
    """A device fleet of class ``cls`` from a dict of columns, with the fleet's dtypes."""
    from dataclasses import fields

    return cls(**{f.name: np.asarray(columns[f.name]).astype(_DTYPES.get(f.name, np.float32)) for f in fields(cls)})


def _concat(parts: list[dict[str, np.ndarray]], cls) -> dict[str, np.ndarray]:
    from dataclasses import fields

    out = {}
    for f in fields(cls):
        dtype = _DTYPES.get(f.name, np.float32)
        if parts:
            out[f.name] = np.concatenate([p[f.name] for p in parts]).astype(dtype)
        else:
            shape = (0, 1) if f.name in ("arrival_h", "departure_h", "e_need_kwh", "e_rem_kwh") else (0,)
            out[f.name] = np.zeros(shape, dtype=dtype)
    return out


def quantise(x: np.ndarray, dist, levels: int | None) -> np.ndarray:
    """Snap draws of ``dist`` to ``levels`` equally spaced values (identity when ``levels`` is None).

    The range is [low, high] of a Uniform and [max(min, mean - 3 std), min(max, mean + 3 std)]
    of a ClippedNormal, cut into ``levels`` equal bins; each draw becomes its bin's midpoint
    (values beyond the range fall into the end bins). Draws are quantised after sampling,
    so the random stream is the same with and without quantisation.
    """
    if levels is None:
        return x
    if hasattr(dist, "low"):
        lo, hi = float(dist.low), float(dist.high)
    else:
        lo, hi = max(dist.min, dist.mean - 3.0 * dist.std), min(dist.max, dist.mean + 3.0 * dist.std)
    if hi <= lo:
        return np.full_like(x, lo)
    width = (hi - lo) / levels
    k = np.clip(np.floor((x - lo) / width), 0, levels - 1)
    return lo + (k + 0.5) * width


def _draw_ac(spec, park: int, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    lv = getattr(spec, "parameter_levels", None)
    r = quantise(spec.r_c_per_kw.sample(rng, n), spec.r_c_per_kw, lv)
    c = quantise(spec.c_kwh_per_c.sample(rng, n), spec.c_kwh_per_c, lv)
    cop = quantise(spec.cop.sample(rng, n), spec.cop, lv)
    p_nom = np.full(n, spec.p_nominal_kw)
    # Calibrated so that cool22 (1.33 kW at nominal 1.5 kW) holds 22 °C in steady state.
    q_gain = cop * p_nom * (1.33 / 1.5)
    names = list(spec.mode_shares)
    probs = np.array([spec.mode_shares[m] for m in names])
    preferred = np.array([AC_MODES.index(m) for m in names])[rng.choice(len(names), size=n, p=probs / probs.sum())]
    on = spec.on_hour.sample(rng, n)
    off = spec.off_hour.sample(rng, n)
    return {
        "park": np.full(n, park),
        "r_c_per_kw": r,
        "c_kwh_per_c": c,
        "cop": cop,
        "p_nominal_kw": p_nom,
        "p_max_kw": np.full(n, spec.p_max_kw),
        "q_gain_kw": q_gain,
        "on_hour": on,
        "off_hour": off,
        "preferred_mode": preferred,
        "activated": rng.random(n) < spec.activated_share,
        "comfort_low_c": np.full(n, spec.comfort_low_c),
        "comfort_high_c": np.full(n, spec.comfort_high_c),
        "t_in_c": spec.t_in_init_c.sample(rng, n),
        "mode": np.zeros(n),
        "p_kw": np.zeros(n),
    }


def _draw_ev(spec, park: int, n: int, n_days: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    # Day -1 is included so that sessions plugged in overnight are present at t = 0.
    day0 = 24.0 * (np.arange(n_days) - 1)[None, :]
    lv = getattr(spec, "parameter_levels", None)
    arrival = quantise(spec.arrival_h.sample(rng, n * n_days), spec.arrival_h, lv).reshape(n, n_days) + day0
    dwell = quantise(spec.dwell_h.sample(rng, n * n_days), spec.dwell_h, lv).reshape(n, n_days)
    departure = arrival + dwell
    # One session per pile per day: a session ends before the next one starts.
    nxt = np.concatenate([arrival[:, 1:], np.full((n, 1), np.inf)], axis=1)
    departure = np.minimum(departure, nxt)
    need = quantise(spec.energy_kwh.sample(rng, n * n_days), spec.energy_kwh, lv).reshape(n, n_days)
    # Energy a plug-and-charge pile already delivered before the run started.
    before_kwh = spec.p_max_kw * np.clip(np.minimum(departure, 0.0) - arrival, 0.0, None)
    return {
        "park": np.full(n, park),
        "p_max_kw": np.full(n, spec.p_max_kw),
        "activated": rng.random(n) < spec.activated_share,
        "arrival_h": arrival,
        "departure_h": departure,
        "e_need_kwh": need,
        "e_rem_kwh": np.maximum(need - before_kwh, 0.0),
        "p_kw": np.zeros(n),
    }
