"""Renewable uptake vs agent scale (seed paper Fig. 10) from park net-load profiles."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from grid.bound import BoundInfeasible, FlexEnvelope, uptake_bound
from grid.cases import GridCase, build_case
from grid.dispatch import DEFAULT_DAY_OF_YEAR, DEFAULT_WEATHER_FILE, DispatchInfeasible, dispatch_day
from grid.metrics import dispatch_metrics

_LABEL = re.compile(r"^(?P<mode>.*?)[@:_ ](?P<n>\d+(\.\d+)?)$")


def parse_label(label: Hashable) -> tuple[str, float]:
    """(mode, agent scale) of a sweep label: ``("controlled", 1000)`` or ``"controlled@1000"``.

    Labels without a number get scale NaN.
    """
    if isinstance(label, tuple) and len(label) == 2:
        return str(label[0]), float(label[1])
    match = _LABEL.match(str(label))
    if match:
        return match.group("mode"), float(match.group("n"))
    return str(label), math.nan


def assign_parks(case: GridCase, n_parks: int, park_buses: Sequence[int] | None = None) -> list[int]:
    """Bus of each park: the given or case park buses, round-robin when there are more parks than buses."""
    buses = list(case.park_buses if park_buses is None else park_buses)
    if not buses:
        raise ValueError(f"case {case.name!r} has no park buses")
    return [int(buses[k % len(buses)]) for k in range(n_parks)]


def parks_to_bus_mw(
    case: GridCase, profiles_kw: np.ndarray, park_buses: Sequence[int] | None = None, park_scale: float = 1.0
) -> dict[int, np.ndarray]:
    """Sum park profiles (n_parks, T) in kW into {bus: (T,) MW}, times ``park_scale``."""
    profiles_kw = np.atleast_2d(np.asarray(profiles_kw, dtype=float))
    out: dict[int, np.ndarray] = {}
    for bus, row in zip(assign_parks(case, profiles_kw.shape[0], park_buses), profiles_kw, strict=True):
        out[bus] = out.get(bus, 0.0) + row * park_scale / 1000.0
    return out


def uptake_sweep(
    case_name: str | GridCase,
    park_profiles: Mapping[Hashable, np.ndarray],
    *,
    park_buses: Sequence[int] | None = None,
    park_scale: float = 1.0,
    day_of_year: int = DEFAULT_DAY_OF_YEAR,
    weather_file: str = DEFAULT_WEATHER_FILE,
    step_h: float = 1.0,
    ac_check: bool = False,
    allow_shedding: bool = False,
    bounds: Mapping[Hashable, FlexEnvelope] | None = None,
) -> pd.DataFrame:
    """Dispatch the case once per labelled set of park profiles and tabulate uptake metrics.

    Args:
        case_name: ``"case14"``/``"case39"`` or a prepared :class:`GridCase`.
        park_profiles: label -> (n_parks, T) park net load in kW (DER load minus local PV). Labels are
            ``(mode, n_agents)`` tuples or strings like ``"controlled@1000"``.
        park_buses: buses of the parks (round-robin); default the case's park buses. When given, the
            case is built with these park buses.
        park_scale: multiplier on every profile (e.g. real parks represented by one simulated park).
        day_of_year, weather_file, step_h: as :func:`grid.dispatch.dispatch_day`.
        ac_check: also run the AC check and report violation hours.
        allow_shedding: dispatch with load shedding instead of recording an infeasible row.
        bounds: label -> flexibility envelope of that label's parks (:class:`grid.bound.FlexEnvelope`);
            the row gains the uptake bound's columns (``bound_renewable_utilisation``, ``bound_co2_t``,
            ``bound_co2_min_t``, ...). Parks at buses outside the envelope stay fixed in the bound.

    Returns:
        One row per label: label, mode, n_agents, status, renewable_utilisation, curtailment_rate,
        co2_t, cost and the other :class:`grid.metrics.DispatchMetrics` fields. Infeasible dispatches
        have status ``"infeasible: ..."`` and NaN metrics.
    """
    if isinstance(case_name, GridCase):
        case = case_name
    else:
        case = build_case(case_name, park_buses=park_buses)
    rows = []
    for label, profiles in park_profiles.items():
        mode, n_agents = parse_label(label)
        bus_mw = parks_to_bus_mw(case, profiles, park_buses, park_scale)
        row: dict[str, object] = {"label": str(label), "mode": mode, "n_agents": n_agents}
        try:
            result = dispatch_day(
                case,
                bus_mw,
                day_of_year=day_of_year,
                weather_file=weather_file,
                step_h=step_h,
                allow_shedding=allow_shedding,
                ac_check=ac_check,
            )
        except DispatchInfeasible as err:
            warnings.warn(f"{label}: {err}", RuntimeWarning, stacklevel=2)
            row["status"] = f"infeasible: {err}"
            rows.append(row)
            continue
        row["status"] = "optimal" if not result.notes else "; ".join(result.notes)
        row.update(dispatch_metrics(result).as_dict())
        if bounds is not None and label in bounds:
            env = bounds[label]
            fixed = {b: p for b, p in bus_mw.items() if b not in set(env.buses)}
            try:
                bound = uptake_bound(
                    case,
                    env,
                    fixed or None,
                    day_of_year=day_of_year,
                    weather_file=weather_file,
                    step_h=step_h,
                )
                row.update(bound.as_dict())
            except BoundInfeasible as err:
                row["bound_status"] = f"infeasible: {err}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(["mode", "n_agents"], kind="stable").reset_index(drop=True)


def plot_uptake(df: pd.DataFrame, path: str | Path, *, title: str | None = None) -> Path:
    """Figure-10-style plot: renewable utilisation and CO2 against agent scale (log x), one line per mode.

    When ``df`` has ``bound_renewable_utilisation`` / ``bound_co2_t`` columns (the uptake bound of each
    agent count) they are drawn as a dashed black line, and ``ceiling_renewable_utilisation`` /
    ``ceiling_co2_min_t`` (the physical ceiling, any redispatch) as a dotted grey one.

    Args:
        df: output of :func:`uptake_sweep`.
        path: image file to write (format from the suffix).
        title: optional figure title.

    Returns:
        The written path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(9.0, 3.6), constrained_layout=True)
    FigureCanvasAgg(fig)
    ax_u, ax_c = fig.subplots(1, 2)
    data = df.dropna(subset=["n_agents", "renewable_utilisation"])
    # N = 0 cannot sit on a log axis: it is drawn at the smallest positive N's left, labelled.
    pos = data.n_agents[data.n_agents > 0]
    x0 = float(pos.min()) / 3.0 if len(pos) else 1.0

    def xs(n: pd.Series) -> np.ndarray:
        return np.where(n > 0, n, x0)

    for mode, group in data.groupby("mode", sort=True):
        group = group.sort_values("n_agents")
        ax_u.plot(xs(group.n_agents), 100.0 * group.renewable_utilisation, marker="o", label=str(mode))
        ax_c.plot(xs(group.n_agents), group.co2_t, marker="o", label=str(mode))
    if "bound_renewable_utilisation" in data:
        # The uptake bound of each N (one per agent count): the most any control could reach.
        b = data.dropna(subset=["bound_renewable_utilisation"]).drop_duplicates("n_agents").sort_values("n_agents")
        if len(b):
            ax_u.plot(xs(b.n_agents), 100.0 * b.bound_renewable_utilisation, "k--", marker="^", label="bound")
            if "bound_co2_t" in b:
                ax_c.plot(xs(b.n_agents), b.bound_co2_t, "k--", marker="v", label="bound")
        if "ceiling_renewable_utilisation" in data:
            # The physical ceiling also redispatches thermal units at any cost: not the DERs' doing.
            c = data.dropna(subset=["ceiling_renewable_utilisation"]).drop_duplicates("n_agents")
            c = c.sort_values("n_agents")
            ax_u.plot(xs(c.n_agents), 100.0 * c.ceiling_renewable_utilisation, ":", color="grey",
                      label="ceiling (any redispatch)")
            ax_c.plot(xs(c.n_agents), c.ceiling_co2_min_t, ":", color="grey", label="least CO$_2$ (any redispatch)")
    for ax, ylabel in ((ax_u, "renewable utilisation (%)"), (ax_c, "CO$_2$ (t)")):
        ax.set_xscale("log")
        ax.set_xlabel("number of agents (leftmost point: N = 0)" if (data.n_agents == 0).any() else "number of agents")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=120)
    return path


def bound_share(achieved: float, baseline: float, bound: float, tol: float = 1e-9) -> float:
    """Share of the bound's gain that a control achieved: (achieved - baseline) / (bound - baseline).

    NaN when the bound gains nothing over the baseline (no control could help; see docs/grid.md).
    """
    gain = bound - baseline
    return (achieved - baseline) / gain if gain > tol else float("nan")
