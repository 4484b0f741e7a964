"""Grid-coupled experiments: eta_GI from a dispatch, and renewable uptake vs agent scale (Fig. 10).

Reading of seed 003 §5.3(2) used here (see ``docs/grid.md``): participating
DERs are existing consumers, so the network's bus loads already contain their
uncontrolled consumption. With N participating agents the grid therefore sees
its own load plus the *change* control makes, ``controlled_N - baseline_N``,
spread evenly over the case's park buses. N = 0 is the case itself; any
change in renewable utilisation or CO2 comes from when the DERs consume, not
from how much load was added.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from aggregation.policy import RulePolicy

from . import results
from .build import build_model
from .gridcase import _grid, base_dispatch, case_for, grid_signal
from .schema import Scenario

__all__ = ["base_dispatch", "case_for", "grid_signal", "park_delta_kw", "run_sweep"]


def park_delta_kw(sc: Scenario, n_agents: int, weather, signal, controlled, bar=None) -> np.ndarray:
    """(n_parks, T) controlled minus baseline park net load (kW) for ``n_agents`` participating DERs."""
    unit = sc.n_ders(1.0)
    scale = n_agents / unit
    out = []
    for policy, decider in ((RulePolicy(), None), controlled()):
        m = build_model(sc.model_copy(update={"scale": scale}), policy, decider, handles=False,
                        weather=weather, signal=signal)
        for _ in range(m.n_steps):
            m.step()
            if bar is not None:
                bar.update(1)
        df = m.park_series()
        out.append(df.pivot(index="park", columns="step", values="net_kw").loc[list(m.fleet.park_names)].to_numpy())
        del m
    return out[1] - out[0]


def run_sweep(sc: Scenario, folder: Path | None, *, weather, signal, controlled, progress: bool) -> pd.DataFrame:
    """Dispatch the case for every agent count of ``sc.grid.sweep_agents``; write table and plot."""
    from tqdm.auto import tqdm

    g = _grid()
    case = case_for(sc)
    buses = list(case.park_buses)
    sizes = sorted(set(sc.grid.sweep_agents))
    profiles: dict[tuple[str, int], np.ndarray] = {}
    timings = {}
    steps = sum(2 * sc.n_steps for n in sizes if n > 0)
    with tqdm(total=steps, desc=f"{sc.name} sweep", unit="period", delay=2.0, disable=not progress) as bar:
        for n in sizes:
            t0 = time.perf_counter()
            delta = np.zeros((len(sc.parks), sc.n_steps)) if n == 0 else park_delta_kw(
                sc, n, weather, signal, controlled, bar)
            timings[n] = time.perf_counter() - t0
            # Spread each park's change evenly over every park bus of the case.
            spread = np.repeat(delta.sum(axis=0, keepdims=True) / len(buses), len(buses), axis=0)
            profiles[("controlled", n)] = spread
            profiles[("baseline", n)] = np.zeros_like(spread)
    df = g.uptake_sweep(case, profiles, park_buses=buses, day_of_year=sc.start_day_of_year,
                        weather_file=sc.weather.file, step_h=sc.step_h, ac_check=True)
    df["simulation_s"] = df["n_agents"].map(lambda n: timings.get(int(n), np.nan))
    if folder is not None:
        results.write_table(folder / "uptake", df)
        if sc.output.plots:
            g.plot_uptake(df[df["status"].astype(str).str.startswith("optimal")], folder / "uptake.png",
                          title=f"{sc.grid.case}: renewable uptake vs participating agents ({sc.name})")
    return df
