"""Tracking of the zero-carbon index and the assessment comparison of seed 003 §5.2-§5.3.

* **Tracking distance** (Fig. 8): :func:`aggregation.indices.shape_distance`
  between the parks' net load (grid draw, all parks summed) and the system
  zero-carbon index ``eta_GI``, both min-max normalised over the horizon; the
  distance is the root mean square of their difference, in [0, 1]. The
  improvement is ``100 * (before - after) / before``. The Eq. 3 gradient
  distance ``d = ||l - g||_2`` (what the fitness rewards) is reported next to it.
* **Assessment comparison** (Fig. 9), per period, all parks summed:
  the baseline-load method credits only reductions below the previous-week
  average of the same hour, ``min(L_ctrl - B_week, 0)``; the zero-carbon-index
  method counts every adjustment against the uncontrolled day, ``L_ctrl - L_base``,
  increases included.
* The previous week is simulated: the uncontrolled model on each of the 7
  preceding days (that day's weather and SimBench calendar, seed ``seed + d``
  for day ``d`` before: a statistical twin of the same parks).

Metrics only: :func:`aggregation.outputs.write_comparison` writes them and
draws Fig. 8 and Fig. 9.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .indices import shape_distance

PREVIOUS_WEEK_DAYS = 7


# ------------------------------------------------------------------ distances
def tracking_distance(load_kw: np.ndarray, index: np.ndarray) -> float:
    """Shape distance of a load curve to the zero-carbon index (min-max normalised RMS, in [0, 1])."""
    return shape_distance(np.asarray(load_kw, float), np.asarray(index, float))


def gradient_distance(load_kw: np.ndarray, g: np.ndarray, p_max_kw: float) -> float:
    """Eq. 3 distance ``d = ||l - g||_2`` with ``l(t) = (E(t) - E(t-1)) / P_max`` (cyclic first difference)."""
    e = np.asarray(load_kw, float)
    l_t = np.diff(e, prepend=e[-1]) / (p_max_kw if p_max_kw > 0 else 1.0)
    return float(np.sqrt(np.sum((l_t - np.asarray(g, float)) ** 2)))


def improvement_pct(before: float, after: float) -> float:
    """``100 * (before - after) / before`` (0 when ``before`` is 0)."""
    return 100.0 * (before - after) / before if before > 0 else 0.0


def park_net_kw(model) -> pd.DataFrame:
    """(steps x parks) net load of a model's run, plus an ``all`` column."""
    df = model.park_series().pivot(index="step", columns="park", values="net_kw")
    df = df[list(model.fleet.park_names)]
    df["all"] = df.sum(axis=1)
    return df


def tracking_table(baseline_model, controlled_model) -> pd.DataFrame:
    """Per-period index, loads and their normalised forms (the data of Fig. 8)."""
    sysb = baseline_model.system_series()
    n = min(len(sysb), len(controlled_model.system_series()))
    eta = sysb["eta_gi"].to_numpy()[:n]
    b = park_net_kw(baseline_model).iloc[:n]
    c = park_net_kw(controlled_model).iloc[:n]
    out = pd.DataFrame({"step": np.arange(n), "eta_gi": eta, "g": baseline_model.g[:n]})
    for col in b.columns:
        out[f"baseline_kw[{col}]"] = b[col].to_numpy()
        out[f"controlled_kw[{col}]"] = c[col].to_numpy()
    out["eta_norm"] = minmax(eta)
    out["baseline_norm"] = minmax(b["all"].to_numpy())
    out["controlled_norm"] = minmax(c["all"].to_numpy())
    return out


def minmax(x: np.ndarray) -> np.ndarray:
    """``x`` rescaled to [0, 1] (zeros when it is flat or empty)."""
    x = np.asarray(x, float)
    span = x.max() - x.min() if x.size else 0.0
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def tracking_summary(baseline_model, controlled_model) -> dict[str, float]:
    """Tracking distances before/after and improvement, all parks and per park."""
    tab = tracking_table(baseline_model, controlled_model)
    eta = tab["eta_gi"].to_numpy()
    out: dict[str, float] = {}
    names = [*baseline_model.fleet.park_names, "all"]
    pmax = baseline_model._park_p_max_kw
    pmax_all = float(pmax.sum())
    g = tab["g"].to_numpy()
    for name in names:
        before = tracking_distance(tab[f"baseline_kw[{name}]"], eta)
        after = tracking_distance(tab[f"controlled_kw[{name}]"], eta)
        suffix = "" if name == "all" else f"[{name}]"
        out[f"tracking_distance_before{suffix}"] = before
        out[f"tracking_distance_after{suffix}"] = after
        out[f"tracking_improvement_pct{suffix}"] = improvement_pct(before, after)
        p = pmax_all if name == "all" else float(pmax[baseline_model.fleet.park_names.index(name)])
        gb = gradient_distance(tab[f"baseline_kw[{name}]"], g, p)
        gc = gradient_distance(tab[f"controlled_kw[{name}]"], g, p)
        out[f"gradient_distance_before{suffix}"] = gb
        out[f"gradient_distance_after{suffix}"] = gc
        out[f"gradient_improvement_pct{suffix}"] = improvement_pct(gb, gc)
    # The controllable load alone (ACs + EV piles), without the parks' fixed base load and PV.
    n = len(eta)
    flex = [m.system_series()[["ac_kw", "ev_kw"]].sum(axis=1).to_numpy()[:n] for m in (baseline_model, controlled_model)]
    fb, fc = tracking_distance(flex[0], eta), tracking_distance(flex[1], eta)
    out["tracking_distance_flexible_before"] = fb
    out["tracking_distance_flexible_after"] = fc
    out["tracking_improvement_flexible_pct"] = improvement_pct(fb, fc)
    return out


# ------------------------------------------------------------------ assessment (Fig. 9)
def _weather_file(site) -> str:
    from grid.weather import WEATHER_FILES, _read_year

    for name in WEATHER_FILES:
        if _read_year(name)[1] == site:
            return name
    raise ValueError(f"no bundled weather file for site {site!r}")


def previous_week_net_kw(model, days: int = PREVIOUS_WEEK_DAYS) -> np.ndarray:
    """Uncontrolled net load of the parks on each of the ``days`` preceding days.

    Args:
        model: a model of the scenario (its parks, day, scale, seed, weather and signal are reused).
        days: how many preceding days.

    Returns:
        (days, n_steps, n_parks) net load in kW; ``[d - 1]`` is ``d`` days before.
    """
    from grid.weather import load_weather

    from .model import VppModel
    from .policy import RulePolicy

    name = _weather_file(model.weather.attrs["site"])
    out = np.zeros((days, model.n_steps, model.fleet.n_parks))
    for d in range(1, days + 1):
        day = (model.day_of_year - 1 - d) % 365 + 1
        weather = load_weather(name, day, model.n_steps, model.step_h)
        twin = VppModel(
            list(model.parks), model.signal, weather, day_of_year=day, step_h=model.step_h, scale=model.scale,
            lam=model.lam, policy=RulePolicy(), handles=False, seed=int(model.seed_value) + d,
        )
        twin.run()
        out[d - 1] = park_net_kw(twin)[list(model.fleet.park_names)].to_numpy()
    return out


def assessment_table(baseline_model, controlled_model, week_net_kw: np.ndarray) -> pd.DataFrame:
    """Per-period adjustments under the two assessment methods (the data of Fig. 9), parks summed.

    Args:
        baseline_model: the uncontrolled run of the day.
        controlled_model: the self-organised run of the day.
        week_net_kw: (days, n_steps, n_parks) previous-week net loads.
    """
    b = park_net_kw(baseline_model)["all"].to_numpy()
    c = park_net_kw(controlled_model)["all"].to_numpy()
    n = min(len(b), len(c))
    week = week_net_kw.sum(axis=2).mean(axis=0)[:n]
    step_h = baseline_model.step_h
    return pd.DataFrame(
        {
            "step": np.arange(n),
            "hour": (np.arange(n) * step_h) % 24.0,
            "baseline_week_kw": week,
            "uncontrolled_kw": b[:n],
            "controlled_kw": c[:n],
            "baseline_method_kw": np.minimum(c[:n] - week, 0.0),
            "zero_carbon_method_kw": c[:n] - b[:n],
        }
    )


def assessment_summary(tab: pd.DataFrame, step_h: float) -> dict[str, float]:
    zc = tab["zero_carbon_method_kw"].to_numpy()
    return {
        "baseline_method_credited_reduction_kwh": float(-tab["baseline_method_kw"].sum() * step_h),
        "baseline_method_hours_credited": float((tab["baseline_method_kw"] < 0).sum() * step_h),
        "zero_carbon_method_increase_kwh": float(zc[zc > 0].sum() * step_h),
        "zero_carbon_method_decrease_kwh": float(-zc[zc < 0].sum() * step_h),
        "zero_carbon_method_hours_increase": float((zc > 0).sum() * step_h),
        "zero_carbon_method_hours_decrease": float((zc < 0).sum() * step_h),
    }
