"""The supply/load game on IEEE case14 with seed 003's self-organised parks (``vpp_market_case14``).

Wiring (``docs/market.md`` §7):

1. **Parks, uncontrolled**: the parks scenario (default ``three_parks_560``) is simulated for one day
   with the rule policy (1-h steps); its per-park controllable load (AC + EV) and net load, times
   ``park_scale``, are the VPP's flexible baseline ``F_t`` and its contribution to demand.
2. **Game inputs**: supply = the thermal units of ``build_case("case14")`` (gas units at IEEE buses 1 and 2,
   with the UC data of ``grid/unit_commitment.py``); demand baseline = the case's base load (RTS shape)
   + the parks' net load - the available wind/PV (must-take, used first), averaged to 2-h periods;
   only ``F_t`` is adjustable (+-40 %).
3. **Back down to the DERs**: the game's realised adjustment per 2-h period is split over the parks by
   their share of ``F_t`` and handed, as per-park flexible-load targets (kW, per hour), to the
   self-organising hierarchy through ``VppModel.set_vpp_targets`` (the target seam); the hierarchy
   realises what its devices allow (comfort and EV energy rules intact).
4. **Re-dispatch**: the parks' realised net load goes to their case14 buses and the day is re-dispatched
   with the DC LP of ``grid/`` and checked with the AC power flow, next to the uncontrolled day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CouplingInputs", "game_inputs", "hand_down", "redispatch", "simulate_parks", "to_periods"]


@dataclass
class CouplingInputs:
    """What the game needs from the grid and the parks (MW, 2-h periods unless noted).

    Attributes:
        units: ``(name, technology, p_max_mw)`` of the case's thermal units.
        baseline_mw: (T,) demand baseline seen by the market.
        flexible_mw: (T,) the parks' controllable load (the adjustable part).
        park_flex_kw: (n_parks, H) hourly controllable load per park of the uncontrolled day, unscaled kW.
        park_net_kw: (n_parks, H) hourly net load per park of the uncontrolled day, unscaled kW.
        park_names: park names in model order.
    """

    units: tuple[tuple[str, str, float], ...]
    baseline_mw: np.ndarray
    flexible_mw: np.ndarray
    park_flex_kw: np.ndarray
    park_net_kw: np.ndarray
    park_names: list[str]


def to_periods(x: np.ndarray, factor: int) -> np.ndarray:
    """Average the last axis over consecutive groups of ``factor`` (e.g. hourly -> 2-h periods)."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1] // factor
    return x[..., : n * factor].reshape(*x.shape[:-1], n, factor).mean(-1)


def simulate_parks(parks_scenario: str, *, controlled: bool, targets_kw: np.ndarray | None = None,
                   n_steps: int | None = None) -> tuple[Any, np.ndarray, np.ndarray]:
    """Simulate the parks scenario's day; returns (model, flexible kW (n_parks, H), net kW (n_parks, H)).

    Args:
        parks_scenario: a bundled ``der_aggregation`` scenario name or path.
        controlled: use the scenario's controlled policy and self-organising decider (else the rule baseline).
        targets_kw: (n_parks, H) VPP targets handed through ``VppModel.set_vpp_targets`` (controlled only).
        n_steps: periods to simulate (default the scenario's).
    """
    from scenarios.build import build_model, controlled_for
    from scenarios.pipelines.der_aggregation import _baseline_policy
    from scenarios.schema import load

    sc = load(parks_scenario)
    if controlled:
        ctl = controlled_for(sc)
        if ctl is None:
            raise ValueError(f"{parks_scenario} has no controlled policy")
        model = build_model(sc, *ctl)
        model.set_vpp_targets(targets_kw)
    else:
        model = build_model(sc, _baseline_policy(), None)
    model.run(n_steps or sc.n_steps)
    parks = model.park_series()
    flex = model.flexible_kw(parks)
    names = list(model.fleet.park_names)
    fk = np.array([flex[parks.park == n].to_numpy() for n in names])
    nk = np.array([parks.loc[parks.park == n, "net_kw"].to_numpy() for n in names])
    return model, fk, nk


def game_inputs(*, parks_scenario: str, park_scale: float, day_of_year: int, weather_file: str,
                renewable_scale: float, step_h: float = 2.0) -> CouplingInputs:
    """Units, demand baseline and flexible part of the case14 game (see module docstring, steps 1-2)."""
    from grid import build_case, data
    from grid.dispatch import renewable_availability

    case = build_case("case14", renewable_scale=renewable_scale)
    units = tuple((u.name, u.fuel, float(u.p_max_mw)) for u in case.thermal if u.p_max_mw > 0)
    prof = data.load_profile(day_of_year, 24, 1.0)
    system = case.base_load_mw(prof)[0].sum(1)
    avail, _ = renewable_availability(case, 24, day_of_year=day_of_year, weather_file=weather_file)
    model, fk, nk = simulate_parks(parks_scenario, controlled=False, n_steps=24)
    factor = int(round(step_h))
    parks_net_mw = nk.sum(0) * park_scale / 1000.0
    # must-take renewables first; the market never sees a negative demand (curtailment is the grid's job)
    demand_h = np.maximum(system + parks_net_mw - avail.sum(1), 0.05 * system)
    return CouplingInputs(units, to_periods(demand_h, factor), to_periods(fk.sum(0) * park_scale / 1000.0, factor),
                          fk, nk, list(model.fleet.park_names))


def hand_down(adjust_mw: np.ndarray, inputs: CouplingInputs, *, parks_scenario: str, park_scale: float,
              step_h: float = 2.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Hand the game's per-period adjustments to the hierarchy as per-park targets and simulate the day.

    Args:
        adjust_mw: (T,) realised adjustment of the VPP per game period (MW, scaled system).
        inputs: from :func:`game_inputs`.

    Returns:
        ``(table, realised_net_kw)``: per hour and park the baseline, target and realised flexible load
        (kW, unscaled) with planned and realised adjustments (MW, scaled); and the realised net load
        (n_parks, H) kW, unscaled.
    """
    factor = int(round(step_h))
    base = inputs.park_flex_kw
    H = base.shape[1]
    adj_h = np.repeat(np.asarray(adjust_mw, float), factor)[:H]
    tot = base.sum(0)
    share = np.where(tot > 1e-9, base / np.where(tot > 1e-9, tot, 1.0), 1.0 / base.shape[0])
    targets = np.maximum(base + share * adj_h[None, :] * 1000.0 / park_scale, 0.0)
    _, flex, net = simulate_parks(parks_scenario, controlled=True, targets_kw=targets, n_steps=H)
    rows = []
    for p, name in enumerate(inputs.park_names):
        for h in range(H):
            rows.append({"hour": h, "park": name, "baseline_flexible_kw": base[p, h], "target_kw": targets[p, h],
                         "realised_flexible_kw": flex[p, h],
                         "planned_adjustment_mw": share[p, h] * adj_h[h],
                         "realised_adjustment_mw": (flex[p, h] - base[p, h]) * park_scale / 1000.0})
    return pd.DataFrame(rows), net


def redispatch(net_kw: np.ndarray, *, park_buses: Sequence[int], park_scale: float, day_of_year: int,
               weather_file: str, renewable_scale: float) -> dict[str, Any]:
    """DC dispatch of case14 with the parks' net load at their buses, and the AC check; returns metrics."""
    from grid import build_case, dispatch_day, dispatch_metrics

    case = build_case("case14", renewable_scale=renewable_scale)
    bus_mw = {int(b): np.asarray(net_kw[i], float) * park_scale / 1000.0 for i, b in enumerate(park_buses)}
    res = dispatch_day(case, bus_mw, day_of_year=day_of_year, weather_file=weather_file, ac_check=True,
                       allow_shedding=True)
    m = dataclasses.asdict(dispatch_metrics(res))  # includes ac_violation_hours from the AC check
    return {k: float(v) for k, v in m.items() if isinstance(v, int | float)}
