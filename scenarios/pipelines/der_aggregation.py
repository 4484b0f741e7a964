"""Pipeline of ``der_aggregation`` scenarios: the uncontrolled baseline day and the controlled day.

The baseline runs the registry's baseline policy (``rule``); when the
scenario names another method, the controlled day runs from the same seed, so
the two differ only by control. A ``grid`` block with ``sweep_agents`` adds
the renewable-uptake sweep (:mod:`scenarios.uptake`).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import learners.registry as methods
from aggregation.model import Decider, VppModel
from aggregation.policy import Policy

from .. import results
from ..build import build_model, controlled_for, system_signal, weather_for
from ..schema import Scenario
from . import RunContext, RunOutput

__all__ = ["report", "simulate", "summary_table", "write"]


def summary_table(models: dict[str, VppModel]) -> pd.DataFrame:
    """One column per run label, one row per indicator."""
    return pd.DataFrame({label: m.summary() for label, m in models.items()})


def _baseline_policy() -> Policy:
    (name,) = [n for n, e in methods.entries().items() if e.baseline]
    return methods.make_policy(name)


def simulate(sc: Scenario, ctx: RunContext) -> RunOutput:
    """Simulate the baseline (and controlled) day, then the uptake sweep if the scenario asks for one."""
    from ..progress import progress_bar as tqdm

    t0 = time.perf_counter()
    weather = weather_for(sc)
    signal = system_signal(sc)
    labels: dict[str, tuple[Policy, Decider | None]] = {"baseline": (_baseline_policy(), None)}
    controlled = controlled_for(sc)
    if controlled is not None:
        labels["controlled"] = controlled
    n_steps = sc.n_steps if ctx.max_steps is None else min(ctx.max_steps, sc.n_steps)

    models: dict[str, VppModel] = {}
    with tqdm(total=n_steps * len(labels), desc=sc.name, unit="period", delay=2.0, disable=not ctx.progress) as bar:
        for label, (policy, decider) in labels.items():
            model = build_model(sc, policy, decider, weather=weather, signal=signal)
            if label == "controlled":
                from aggregation.level_fitness import install_level_targets

                install_level_targets(model, sc.aggregation)  # Rule 4 level tracking only; else a no-op
            state = ctx.restore(label)
            if state is not None:
                model.restore_state(state)
                bar.update(min(model.steps, n_steps))
            while model.steps < n_steps:
                model.step()
                bar.update(1)
                ctx.maybe_checkpoint(label, model.steps, model.checkpoint_state)
            models[label] = model

    extras: dict[str, Any] = {}
    if sc.grid is not None and sc.grid.sweep_agents and ctx.max_steps is None:
        from ..uptake import run_sweep

        extras["uptake"] = run_sweep(sc, ctx.folder, weather=weather, signal=signal,
                                     controlled=functools.partial(controlled_for, sc),  # pickles: workers
                                     progress=ctx.progress)
    return RunOutput(sc, models, None, summary_table(models), time.perf_counter() - t0, extras)


def write(out: RunOutput, folder: Path, *, plots: bool) -> dict[str, Any]:
    """Write series, summary, plots and the organiser's figures; return the manifest fields."""
    sc = out.scenario
    for label, m in out.models.items():
        results.write_table(folder / f"{label}_system", m.system_series())
        results.write_table(folder / f"{label}_parks", m.park_series())
    manifest: dict[str, Any] = {
        "n_ders": {k: m.fleet.n_ders for k, m in out.models.items()},
        "periods": {k: m.steps for k, m in out.models.items()},
        "method": sc.method,
        "policy": sc.policy.kind,
        "aggregation": sc.aggregation.enabled,
    }
    if plots:
        from ..plots import write_run_plots

        write_run_plots(out, folder)
    ctrl = out.models.get("controlled")
    if ctrl is not None and ctrl.decider is not None:
        from aggregation.hierarchy import SelfOrganiser

        if isinstance(ctrl.decider, SelfOrganiser):
            from aggregation.outputs import write_comparison, write_organiser_outputs

            write_organiser_outputs(ctrl.decider, folder, ctrl, plots=plots)
            figures = write_comparison(out.models["baseline"], ctrl, folder, plots=plots)
            manifest["aggregation_figures"] = figures
            # The day-ahead tracking bound (issue 11) beside uncontrolled and controlled, when computed.
            for key, row in (("bound_tracking_distance", "tracking_distance_bound"),
                             ("bound_tracking_distance_flexible", "tracking_distance_flexible_bound")):
                if key in figures and figures[key] == figures[key]:  # NaN: skipped for large populations
                    out.summary.loc[row] = figures[key]
    results.write_table(folder / "summary", out.summary.reset_index(names="indicator"))
    return manifest


def format_summary(summary: pd.DataFrame) -> str:
    """Plain-text table for the terminal, with the controlled day's change in percent."""
    df = summary.copy()
    if "baseline" in df and "controlled" in df:
        base = df["baseline"].replace(0, np.nan)
        df["change_%"] = 100.0 * (df["controlled"] - df["baseline"]) / base.abs()
    return df.to_string(float_format=lambda v: f"{v:,.4g}")


def format_uptake(df: pd.DataFrame, sc: Scenario) -> str:
    """The uptake table: one row per agent count and mode, with the bound and the share achieved."""
    cols = {"mode": "mode", "n_agents": "N", "renewable_utilisation": "util", "curtailment_rate": "curt",
            "co2_t": "CO2_t", "cost": "cost", "congestion_hours": "cong_h", "iterations": "iter",
            "bound_renewable_utilisation": "bound_util", "bound_co2_t": "bound_CO2_t",
            "ceiling_renewable_utilisation": "ceil_util", "ceiling_co2_min_t": "ceil_CO2_t",
            "share_utilisation": "share_util", "share_co2": "share_CO2", "status": "status"}
    up = df[[c for c in cols if c in df]].rename(columns=cols).copy()
    up["N"] = up["N"].astype(int)
    up["status"] = up["status"].astype(str).str.slice(0, 40)
    src = sc.system_index.source
    head = (f"\nrenewable uptake on {sc.grid.case} (index: {src}; parks placed by {sc.grid.placement.rule}; "
            "uncontrolled = the case itself; bound = best control inside the DERs' envelope under least-cost "
            "dispatch; ceil = physical ceiling with any thermal redispatch):")
    return head + "\n" + up.to_string(index=False, float_format=lambda v: f"{v:,.4g}")


def report(out: RunOutput) -> str:
    """What ``vppsim run`` prints after a run: DER count, wall time, summary and the uptake table."""
    sc = out.scenario
    lines = [f"\n{sc.name}: {sum(m.fleet.n_ders for m in out.models.values()) // len(out.models):,d} DERs, "
             f"{out.wall_s:.2f} s", format_summary(out.summary)]
    if "uptake" in out.extras:
        lines.append(format_uptake(out.extras["uptake"], sc))
    return "\n".join(lines)
