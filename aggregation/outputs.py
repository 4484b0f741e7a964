"""Output writing of the self-organisation: a layer above the organiser, its figures and its metrics.

The organiser (:mod:`aggregation.hierarchy`) decides and records; the figures
(:mod:`aggregation.figures`) draw and serialise; the tracking metrics
(:mod:`aggregation.tracking`) compute. This module writes their results into a
run's folder (atomically, through :mod:`aggregation.io`) and is the only one that
imports all three, so none of them imports another's output code.

* :func:`write_organiser_outputs` — hierarchy graphs, ``levels.csv``,
  ``periods.csv``, Fig. 7a, 7b and the hierarchy drawing;
* :func:`write_comparison` — ``tracking.csv``, ``assessment.csv``,
  ``comparison.json``, Fig. 8 and Fig. 9.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import tracking
from .figures import (
    hierarchy_graph,
    plot_fig7a,
    plot_fig7b,
    plot_fig8,
    plot_fig9,
    plot_hierarchy,
    write_graph,
)
from .hierarchy import SelfOrganiser
from .io import write_csv, write_json

if TYPE_CHECKING:  # pragma: no cover
    from .model import VppModel

__all__ = ["hierarchy_graph", "write_comparison", "write_organiser_outputs"]


def write_organiser_outputs(org: SelfOrganiser, folder: Path, model: VppModel, *, plots: bool = True) -> list[Path]:
    """Write the organiser's hierarchy graphs, statistics and figures under ``folder / "aggregation"``.

    Args:
        org: the organiser after a run.
        folder: the run's results folder.
        model: the controlled model ``org`` decided for (park names).
        plots: also write the PNG figures (Fig. 7a, 7b, hierarchy drawing).

    Returns:
        the paths written: ``hierarchy/step_<nnn>.graphml`` and ``.json`` per period,
        ``periods.csv``, ``levels.csv`` and the figures.
    """
    out = Path(folder) / "aggregation"
    names = list(model.fleet.park_names)
    paths: list[Path] = []
    for step in sorted(org.snapshots):
        paths += write_graph(hierarchy_graph(org, step, names), out / "hierarchy" / f"step_{step:03d}")
    periods = pd.DataFrame(org.periods)
    for p, name in enumerate(names):
        periods = periods.rename(
            columns={f"load_start_kw[{p}]": f"load_start_kw[{name}]", f"load_final_kw[{p}]": f"load_final_kw[{name}]"}
        )
    paths.append(write_csv(out / "periods.csv", periods))
    levels = pd.DataFrame(org.level_rows)
    paths.append(write_csv(out / "levels.csv", levels))
    if not plots:
        return paths
    if org.figure_tables:
        (step, lt), = org.figure_tables.items()
        hour = next((p["hour"] for p in org.periods if p["step"] == step), float("nan"))
        path = out / f"fig7a_level{lt.level}_fitness.png"
        plot_fig7a(lt, names, hour, path)
        paths.append(path)
    if len(periods):
        path = out / "fig7b_flexibility.png"
        plot_fig7b(levels, periods, org.levels, path)
        paths.append(path)
    snap_step = _snapshot_step(org)
    if snap_step is not None:
        path = out / f"hierarchy_hour{org.spec.snapshot_hour:g}.png"
        plot_hierarchy(org, snap_step, names, path)
        paths.append(path)
    return paths


def _snapshot_step(org: SelfOrganiser) -> int | None:
    for p in org.periods:
        dt = p.get("dt_h", 1.0)
        if p["hour"] <= org.spec.snapshot_hour < p["hour"] + dt:
            return int(p["step"])
    return int(org.periods[-1]["step"]) if org.periods else None


def write_comparison(
    baseline_model: VppModel,
    controlled_model: VppModel,
    folder: Path,
    *,
    week_net_kw: np.ndarray | None = None,
    previous_days: int = tracking.PREVIOUS_WEEK_DAYS,
    plots: bool = True,
    bound: bool = True,
) -> dict[str, float]:
    """Tracking before/after, Fig. 8, the assessment comparison and Fig. 9.

    Args:
        baseline_model: the uncontrolled run.
        controlled_model: the self-organised run (same scenario and seed).
        folder: the run's results folder; files go to ``folder / "aggregation"``.
        week_net_kw: previous-week net loads (days, n_steps, n_parks); simulated when None.
        previous_days: days simulated when ``week_net_kw`` is None.
        plots: also write Fig. 8 and Fig. 9.
        bound: also solve the day-ahead tracking bound (:mod:`aggregation.dayahead_bound`;
            ``bound_*`` figures, a column of ``tracking.csv`` and Fig. 8's fourth line; skipped
            above its size limit and for runs shorter than the horizon).

    Returns:
        the figures as floats: tracking distances and improvements (all parks and per
        park), Eq. 3 gradient distances, and the assessment totals.
    """
    out_dir = Path(folder) / "aggregation"
    tab = tracking.tracking_table(baseline_model, controlled_model)
    figures = tracking.tracking_summary(baseline_model, controlled_model)
    if week_net_kw is None:
        week_net_kw = tracking.previous_week_net_kw(baseline_model, previous_days)
    ass = tracking.assessment_table(baseline_model, controlled_model, week_net_kw)
    figures.update(tracking.assessment_summary(ass, baseline_model.step_h))
    figures["previous_week_days"] = float(week_net_kw.shape[0])
    # The bound is a whole-horizon figure: solved only when the runs covered the horizon.
    if bound and len(tab) == baseline_model.n_steps:
        from .dayahead_bound import compute  # the LP (HiGHS) is loaded only when asked for

        bound_figs, series = compute(baseline_model)
        figures.update(bound_figs)
        full = series is not None and len(series) == len(tab)
        for sfx in ("", "_flexible") if full else ():
            before = figures.get(f"tracking_distance{sfx}_before")
            bnd = figures.get(f"bound_tracking_distance{sfx}")
            after = figures.get(f"tracking_distance{sfx}_after")
            if before is not None and bnd is not None and after is not None and before - bnd > 1e-12:
                figures[f"bound_improvement{sfx}_pct"] = tracking.improvement_pct(before, bnd)
                figures[f"share_of_bound{sfx}_pct"] = _share_pct(before, after, bnd)
        # Rule 4's plan solves the bound's programme with more constraints; when it found a better
        # feasible load than the bound's scale search (a heuristic), the best known point is that.
        plan_d = getattr(controlled_model, "level_plan_distance", None)
        before, bnd = figures.get("tracking_distance_before"), figures.get("bound_tracking_distance")
        after = figures.get("tracking_distance_after")
        if plan_d is not None and np.isfinite(plan_d) and before is not None and bnd is not None and after is not None:
            best = min(float(bnd), float(plan_d))
            figures["level_plan_tracking_distance"] = float(plan_d)
            figures["best_known_tracking_distance"] = best
            if before - best > 1e-12:
                figures["share_of_best_known_pct"] = _share_pct(before, after, best)
        if full:
            tab = tab.assign(bound_kw=series["net_kw"].to_numpy(), bound_flexible_kw=series["flexible_kw"].to_numpy())
            span = float(np.ptp(tab["bound_kw"]))
            tab["bound_norm"] = (tab["bound_kw"] - tab["bound_kw"].min()) / span if span > 0 else 0.0
    write_csv(out_dir / "tracking.csv", tab)
    write_csv(out_dir / "assessment.csv", ass)
    write_json(out_dir / "comparison.json", figures)
    if plots:
        plot_fig8(tab, list(baseline_model.fleet.park_names), figures, out_dir / "fig8_tracking.png")
        plot_fig9(ass, out_dir / "fig9_assessment.png")
    return figures


def _share_pct(before: float, after: float, reference: float) -> float:
    """Share (%) of the improvement ``before -> reference`` that ``before -> after`` reaches."""
    return 100.0 * (before - after) / (before - reference)
