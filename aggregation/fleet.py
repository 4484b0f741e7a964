"""Build the structure-of-arrays DER fleet of a scenario's parks, one table per registered kind."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from grid.profiles import simbench_profile

from .kinds import DrawEnv, SoA, registered_kinds
from .kinds.base import soa_from_columns
from .specs import ParkSpec


@dataclass
class Fleet:
    """All DERs of a run: one structure of arrays per registered kind, plus park-level series.

    Attributes:
        park_names: names in park order.
        park_buses: grid bus of each park (None when not placed).
        units: ``kind -> SoA`` unit tables in the kind registry's order; ``park`` columns
            index ``park_names``. ``fleet.ac`` is ``fleet.units["ac"]``.
        base_load_kw: (n_parks, n_steps) non-flexible load.
        profiles: ``kind -> (n_parks, n_steps)`` per-unit-of-rating output of weather-driven
            kinds (PV: kW per kWp).
        t_out_c: (n_steps,) outdoor temperature.
    """

    park_names: tuple[str, ...]
    park_buses: tuple[int | None, ...]
    units: dict[str, SoA]
    base_load_kw: np.ndarray
    profiles: dict[str, np.ndarray]
    t_out_c: np.ndarray
    step_h: float
    extras: dict = field(default_factory=dict)

    def __getattr__(self, name: str):
        # Kind tables read as attributes (fleet.ac); only called when normal lookup fails.
        units = self.__dict__.get("units")
        if units is not None and name in units:
            return units[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or device kind {name!r}")

    @property
    def n_parks(self) -> int:
        return len(self.park_names)

    @property
    def n_steps(self) -> int:
        return self.base_load_kw.shape[1]

    def count(self, kind: str) -> int:
        soa = self.units.get(kind)
        return 0 if soa is None else len(soa)

    @property
    def n_ders(self) -> int:
        return sum(len(s) for s in self.units.values())

    def profile(self, kind: str) -> np.ndarray:
        """(n_parks, n_steps) output per unit of rating of a weather-driven kind (zeros if none)."""
        p = self.profiles.get(kind)
        return np.zeros_like(self.base_load_kw) if p is None else p

    def park_sum(self, kind: str, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` (one per unit of ``kind``) per park, in float64.

        Units are stored park by park, so a segmented sum (``reduceat``) does the
        job without the float64 copy ``np.bincount`` makes of its weights.
        """
        park = self.units[kind].park
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

    def park_p_max_kw(self) -> np.ndarray:
        """Largest possible consumption per park (base peak + ratings of controllable consumers)."""
        out = self.base_load_kw.max(axis=1)
        for name, kind in registered_kinds().items():
            if name in self.units and kind.controllable() and kind.load_sign > 0:
                soa = self.units[name]
                out = out + np.bincount(soa.park, weights=soa.p_max_kw, minlength=self.n_parks)
        return out

    def state_dict(self) -> dict[str, dict[str, np.ndarray]]:
        return {k: s.state_dict() for k, s in self.units.items()}

    def load_state_dict(self, state: dict[str, dict[str, np.ndarray]]) -> None:
        for k, s in self.units.items():
            s.load_state_dict(state[k])


def build_fleet(
    parks: list[ParkSpec],
    scale: float,
    weather: pd.DataFrame,
    day_of_year: int,
    step_h: float,
    rng: np.random.Generator,
) -> Fleet:
    """Draw every DER's parameters and initial state.

    Parks are drawn in order and, within a park, kinds in the registry's order, so the
    random stream of a scenario depends only on its parks and the kinds it uses.

    Args:
        parks: park specifications.
        scale: multiplies every DER count.
        weather: per-period weather (:func:`grid.weather.load_weather`).
        day_of_year: first simulated day (for SimBench base-load shapes).
        step_h: period length in hours.
        rng: the model's generator; the only source of randomness.
    """
    n_steps = len(weather)
    env = DrawEnv(weather, int(day_of_year), float(step_h), int(np.ceil(n_steps * step_h / 24.0)) + 1)
    kinds = registered_kinds()
    parts: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in kinds}
    profiles: dict[str, np.ndarray] = {}
    base = np.zeros((len(parks), n_steps))
    for p_idx, park in enumerate(parks):
        if park.base_load.peak_kw > 0:
            # A scaled scenario replicates whole parks, so their fixed load scales with the DERs.
            base[p_idx] = park.base_load.peak_kw * scale * np.clip(
                simbench_profile("load", park.base_load.profile, day_of_year, n_steps, step_h), 0.0, None
            )
        for name, kind in kinds.items():
            spec = park.device(name)
            if spec is None:
                continue
            parts[name].append(kind.draw(spec, p_idx, kind.count(spec, scale), rng, env))
            if hasattr(kind, "park_profile"):
                prof = profiles.setdefault(name, np.zeros((len(parks), n_steps)))
                prof[p_idx] = kind.park_profile(spec, env)
    used = {name for park in parks for name in park.devices}
    # Kinds marked ``always`` keep an empty table when unused, so result tables keep their columns.
    units = {name: soa_from_columns(kind, parts[name]) for name, kind in kinds.items() if name in used or kind.always}
    return Fleet(
        park_names=tuple(p.name for p in parks),
        park_buses=tuple(p.bus for p in parks),
        units=units,
        base_load_kw=base,
        profiles=profiles,
        t_out_c=weather["t_air_c"].to_numpy(dtype=float),
        step_h=step_h,
    )


def soa_from_dict(cls: type[SoA], columns: dict[str, np.ndarray]) -> SoA:
    """A unit table of class ``cls`` (a registered kind's ``soa_cls``) from one dict of columns."""
    for kind in registered_kinds().values():
        if kind.soa_cls is cls:
            return soa_from_columns(kind, [columns])
    raise ValueError(f"{cls.__name__} is not the unit table of a registered device kind")
