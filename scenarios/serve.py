"""``vppsim serve``: an interactive Mesa/Solara page of a scenario's day.

This module holds what needs no web stack: the page's model (:class:`ServeModel`,
a Mesa model wrapping the scenario's controlled and baseline
:class:`~aggregation.model.VppModel`), the drawings (matplotlib figures), and the
CLI that starts the Solara server on ``scenarios.serve_app`` (the page itself,
which needs the optional ``vppsim[viz]`` extra).

Everything the page shows is read from the public results of the models
(``system_series``/``park_series``), the self-organiser's exported level tables
(``SelfOrganiser.snapshots``/``level_rows``) and, for grid scenarios, the base
dispatch of the case; nothing is recomputed here.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import mesa
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "SCALES", "ServeModel", "add_serve_parser", "fig_dispatch", "fig_hierarchy", "fig_load_by_kind",
    "fig_park_load", "fig_temperature", "measure", "render_all", "serve_scenarios", "status",
]

from .serve_cli import SCALES, add_serve_parser, free_port, server_command, viz_missing  # noqa: E402,F401

# Above this many DERs Mesa agent handles are not created: the page reads arrays only, and
# creating 10^5 Python objects would dominate a reset.
HANDLES_MAX_DERS = 20_000
# PNG resolution of the page's figures: rasterising is most of a rendered step.
DPI = 72
# Above this many coalitions in a level, the drawing samples the level instead of drawing each unit.
POLY_MAX = 3_000
IMAGE_BINS = 1_200


# ------------------------------------------------------------------ adapters (one place to fix on renames)
def _load(name: str, overrides: dict[str, Any]) -> Any:
    from .schema import load

    return load(name, overrides)


def _pieces(sc: Any) -> tuple[Any, Any, Any, Any]:
    """weather, signal, controlled (policy, decider) or None, baseline policy."""
    import learners.registry as methods

    from .build import controlled_for, system_signal, weather_for

    (base,) = [n for n, e in methods.entries().items() if e.baseline]
    return weather_for(sc), system_signal(sc), controlled_for(sc), methods.make_policy(base)


def _build(sc: Any, policy: Any, decider: Any, weather: Any, signal: Any, handles: bool) -> Any:
    from .build import build_model

    return build_model(sc, policy, decider, handles=handles, weather=weather, signal=signal)


def _base_dispatch(sc: Any) -> Any:
    from .gridcase import base_dispatch

    return base_dispatch(sc)


def serve_scenarios() -> list[str]:
    """Bundled scenarios the page can show (DER-park scenarios; 1,000,000-DER files left out)."""
    from .schema import bundled_scenarios, load

    out = []
    for name in bundled_scenarios():
        try:
            sc = load(name)
        except Exception:  # noqa: BLE001 - a broken bundled file must not break the page
            continue
        if getattr(sc, "parks", None) is None or not hasattr(sc, "n_ders"):
            continue
        if sc.n_ders() > 200_000:
            continue
        out.append(name)
    return out


# ------------------------------------------------------------------ the page's model
class ServeModel(mesa.Model):
    """The page's model: the scenario's controlled day, stepped with its uncontrolled baseline.

    Args:
        scenario: a bundled name or a path.
        scale: ``"file"`` (the scenario's own) or a number replacing the scenario's scale.
        seed: replaces the scenario's seed (None: the file's).
        baseline: also step the uncontrolled baseline (dashed lines).

    Attributes:
        sc: the validated scenario.
        main: the controlled VppModel (the baseline one when the scenario has no control).
        base: the baseline VppModel, or None.
        dispatch: base dispatch of a grid scenario's case (None otherwise).
        step_s: wall time of each model step, seconds.
    """

    def __init__(self, scenario: str = "three_parks_560", scale: str | float = "file", seed: int | None = None,
                 baseline: bool = True):
        super().__init__(seed=0)
        overrides: dict[str, Any] = {}
        if scale not in (None, "", "file"):
            overrides["scale"] = float(scale)
        if seed is not None:
            overrides["seed"] = int(seed)
        self.sc = sc = _load(scenario, overrides)
        if getattr(sc, "parks", None) is None:
            raise ValueError(f"scenario {sc.name} (kind {sc.kind}) has no DER parks to show")
        t0 = time.perf_counter()
        weather, signal, controlled, base_policy = _pieces(sc)
        handles = sc.n_ders() <= HANDLES_MAX_DERS
        if controlled is not None:
            self.main = _build(sc, *controlled, weather, signal, handles)
            self.base = _build(sc, base_policy, None, weather, signal, False) if baseline else None
        else:
            self.main, self.base = _build(sc, base_policy, None, weather, signal, handles), None
        self.dispatch = None
        if getattr(sc, "grid", None) is not None:
            try:
                self.dispatch = _base_dispatch(sc)
            except Exception:  # noqa: BLE001 - the dispatch panel is optional; the day still runs
                self.dispatch = None
        self.build_s = time.perf_counter() - t0
        self.step_s: list[float] = []
        self.park_names = list(self.main.fleet.park_names)
        # Mesa's own plot component reads these model reporters.
        self.datacollector = mesa.DataCollector(model_reporters={
            "net_MW": lambda m: m.main.last.get("net_kw", np.nan) / 1000.0,
            "fitness_mean": lambda m: m.main.last.get("fitness_mean", np.nan),
            "eta_GI": lambda m: m.main.last.get("eta_gi", np.nan),
        })
        self.running = self.main.n_steps > 0

    @property
    def period(self) -> int:
        """Periods simulated so far."""
        return self.main.steps

    @property
    def organiser(self) -> Any | None:
        """The controlled day's self-organiser, if it has one."""
        from aggregation.hierarchy import SelfOrganiser

        d = self.main.decider
        return d if isinstance(d, SelfOrganiser) else None

    def step(self) -> None:
        """Advance the controlled (and baseline) day by one period."""
        if self.main.steps >= self.main.n_steps:
            self.running = False
            return
        t0 = time.perf_counter()
        self.main.step()
        if self.base is not None:
            self.base.step()
        self.step_s.append(time.perf_counter() - t0)
        self.datacollector.collect(self)
        self.running = self.main.steps < self.main.n_steps


def status(m: ServeModel) -> dict[str, Any]:
    """The numbers the page's status card shows (and the browser test reads)."""
    last = m.main.last
    org = m.organiser
    aggs = 0
    levels = 0
    if org is not None and org.level_rows:
        step = org.periods[-1]["step"]
        rows = [r for r in org.level_rows if r["step"] == step]
        aggs = int(sum(r["coalitions"] for r in rows if r["level"] > 0))
        levels = max((r["level"] for r in rows if r["coalitions"] > 0), default=0)
    return {
        "scenario": m.sc.name,
        "ders": int(m.main.fleet.n_ders),
        "period": int(m.period),
        "periods": int(m.main.n_steps),
        "hour": float(m.period * m.sc.step_h),
        "net_kw": float(last.get("net_kw", np.nan)),
        "eta_gi": float(last.get("eta_gi", np.nan)),
        "fitness_mean": float(last.get("fitness_mean", np.nan)),
        "aggregators": aggs,
        "levels": levels,
        "step_s": float(m.step_s[-1]) if m.step_s else float("nan"),
        "build_s": float(m.build_s),
    }


# ------------------------------------------------------------------ drawings
def _hours(m: ServeModel, df: pd.DataFrame) -> np.ndarray:
    return df["step"].to_numpy(float) * m.sc.step_h


def _day_axis(ax: Any, m: ServeModel) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlim(0, m.main.n_steps * m.sc.step_h)
    ax.set_xlabel("hour")
    # Few ticks: creating and measuring tick labels is most of a figure's drawing time.
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(4))


def _day_figure(m: ServeModel, width: float = 6.0, left: float = 0.1) -> tuple[Figure, Any]:
    """A one-axes figure of the day (hours on the x axis, few ticks)."""
    fig = Figure(figsize=(width, 3.2), dpi=DPI)
    fig.subplots_adjust(left=left, right=0.88, bottom=0.15, top=0.9)
    ax = fig.subplots()
    _day_axis(ax, m)
    return fig, ax


def fig_park_load(m: ServeModel) -> Figure:
    """Net load of each park (controlled solid, baseline dashed) against the system index η_GI.

    One axes for all parks (colour = park) and η_GI on the right axis: two axes instead of
    one pair per park halves the drawing time, which dominates a rendered step.
    """
    parks = m.main.park_series()
    base = m.base.park_series() if m.base is not None else None
    fig, ax = _day_figure(m, width=6.4, left=0.11)
    hours = np.arange(m.main.n_steps) * m.sc.step_h
    colors = ("tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
    for j, name in enumerate(m.park_names):
        c = colors[j % len(colors)]
        if not len(parks):  # before the first step: an empty axes with the legend
            ax.plot([], [], color=c, label=name)
            continue
        g = parks[parks["park"] == name]
        ax.plot(_hours(m, g), g["net_kw"], color=c, label=name)
        if base is not None and len(base):
            b = base[base["park"] == name]
            ax.plot(_hours(m, b), b["net_kw"], color=c, ls="--", lw=1, alpha=0.6)
    ax.set_ylabel("park net load kW (dashed: baseline)", fontsize=8)
    if m.period:
        ax.axvline((m.period - 1) * m.sc.step_h, color="0.5", lw=0.8)
    tw = ax.twinx()
    tw.plot(hours, m.main.eta_gi, color="tab:green", lw=1.5, ls=":")
    tw.set_ylim(0, 1)
    tw.set_yticks([0, 0.5, 1])
    tw.set_ylabel("η_GI (dotted)", color="tab:green", fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("park net load vs system index η_GI", fontsize=9, y=1.0)
    return fig


def fig_load_by_kind(m: ServeModel) -> Figure:
    """System load by DER kind (stacked consumers, generators below zero) and the net load."""
    sysdf = m.main.system_series()
    fig, ax = _day_figure(m)
    ax.set_ylabel("MW")
    if not len(sysdf):
        ax.set_title("load by DER kind (press Step)", fontsize=9, y=1.0)
        return fig
    h = _hours(m, sysdf)
    kw_cols = [c for c in sysdf.columns if c.endswith("_kw") and c != "net_kw"]
    gens = [c for c in kw_cols if c[:-3] in m.main.kinds and m.main.kinds[c[:-3]].load_sign < 0]
    cons = [c for c in kw_cols if c not in gens]
    if cons:
        ax.stackplot(h, *[sysdf[c].to_numpy() / 1000.0 for c in cons], labels=[c[:-3] for c in cons], alpha=0.8,
                     step="post")
    for c in gens:
        ax.fill_between(h, 0, -sysdf[c].to_numpy() / 1000.0, step="post", alpha=0.5, label=f"{c[:-3]} (gen.)")
    ax.step(h, sysdf["net_kw"] / 1000.0, where="post", color="k", lw=1.2, label="net")
    ax.axhline(0, color="0.3", lw=0.5)
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    ax.set_title("load by DER kind", fontsize=9, y=1.0)
    return fig


def fig_temperature(m: ServeModel) -> Figure:
    """Indoor temperature of the air conditioners: median and 5-95 % band, with outdoor temperature."""
    sysdf = m.main.system_series()
    fig, ax = _day_figure(m)
    ax.set_ylabel("°C")
    ax.set_title("indoor temperature (AC, 5-95 %)", fontsize=9, y=1.0)
    if not len(sysdf):
        return fig
    h = _hours(m, sysdf)
    if {"t_in_p05_c", "t_in_p95_c"} <= set(sysdf.columns):
        ax.fill_between(h, sysdf["t_in_p05_c"], sysdf["t_in_p95_c"], alpha=0.3, color="tab:red", label="5-95 %")
        ax.plot(h, sysdf["t_in_p50_c"], color="tab:red", label="median")
    if m.base is not None:
        b = m.base.system_series()
        if "t_in_p50_c" in b:
            ax.plot(_hours(m, b), b["t_in_p50_c"], color="tab:red", ls="--", lw=1, alpha=0.6, label="baseline median")
    ax.plot(h, sysdf["t_out_c"], color="0.4", lw=1, label="outdoor")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def _icicle_rows(org: Any) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]]:
    """x-extent of every unit of levels 1..L, children nested inside their parent.

    Built from the organiser's per-DER unit labels (``SelfOrganiser.labels``), so every
    level is drawn at any scale; per-unit fitness comes from the exported level tables
    (``snapshots``) where the level was exported, else it is None.

    Returns:
        ``(level, x0, width, fitness or None, is_coalition)`` per level, top level first.
    """
    from aggregation.coalitions import compact_labels

    if not org.labels or not org.periods:
        return []
    labs = [compact_labels(lab)[0] for lab in org.labels]
    top = labs[-1]
    size_top = np.bincount(top)
    # lexsort: the last key is the primary one: biggest top-level unit first, then nested labels.
    order = np.lexsort((*labs, top, -size_top[top]))
    tables = {t.level: t for t in org.snapshots.get(org.periods[-1]["step"]) or []}
    rows = []
    for i in range(len(labs), 0, -1):
        lab = labs[i - 1]
        s = lab[order]
        k = int(lab.max()) + 1
        firsts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        if len(firsts) != k:  # not nested in the order above: skip rather than draw a wrong picture
            continue
        x0 = np.empty(k)
        x0[s[firsts]] = firsts
        w = np.bincount(lab, minlength=k).astype(float)
        if i == 1:
            members = w
        else:
            pairs = np.unique(lab * (int(labs[i - 2].max()) + 1) + labs[i - 2])
            members = np.bincount(pairs // (int(labs[i - 2].max()) + 1), minlength=k)
        lt = tables.get(i)
        fit = lt.fitness.astype(float) if lt is not None and lt.n == k else None
        rows.append((i, x0, w, fit, members >= 2))
    return rows


def fig_hierarchy(m: ServeModel) -> Figure:
    """The current period's hierarchy as an icicle drawing: one row per level, widths = DERs inside.

    Coalitions (aggregators with >= 2 members) are coloured by their fitness μ, single
    units are grey; the right margin lists each level's aggregators, largest size and fitness.
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(8.0, 3.6), dpi=DPI)
    fig.subplots_adjust(left=0.07, right=0.62, bottom=0.14, top=0.9)
    ax = fig.subplots()
    org = m.organiser
    if org is None or not org.periods:
        ax.text(0.5, 0.5, "no self-organised hierarchy" + (" yet (press Step)" if org is not None else ""),
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    step = org.periods[-1]["step"]
    stats = pd.DataFrame([r for r in org.level_rows if r["step"] == step])
    rows = _icicle_rows(org)
    total = float(len(org.labels[0])) if org.labels else 1.0
    polys, colors, plain = [], [], []
    for level, *_ in rows:
        # One grey band per level stands for every unit outside a coalition (drawn over where there is one).
        ax.add_patch(Rectangle((0, level - 0.45), total, 0.9, facecolor="0.85", edgecolor="none"))
    images = []
    for level, x0, w, fit, coal in rows:
        y0, y1 = level - 0.45, level + 0.45
        if fit is None:
            # Level not exported with per-unit fitness at this scale: coalitions drawn in one colour.
            xs, ws = x0[coal], w[coal]
            plain.extend(np.stack([np.c_[xs, np.full_like(xs, y0)], np.c_[xs + ws, np.full_like(xs, y0)],
                                   np.c_[xs + ws, np.full_like(xs, y1)], np.c_[xs, np.full_like(xs, y1)]], axis=1))
            continue
        if coal.sum() > POLY_MAX:
            # Too many coalitions to draw one by one: sample the level at IMAGE_BINS points along x.
            order = np.argsort(x0)
            xs = (np.arange(IMAGE_BINS) + 0.5) * total / IMAGE_BINS
            k = order[np.clip(np.searchsorted(x0[order], xs, side="right") - 1, 0, len(order) - 1)]
            inside = (xs < x0[k] + w[k]) & coal[k]
            images.append((level, np.where(inside, fit[k], np.nan)))
            continue
        xs, ws = x0[coal], w[coal]
        v = np.stack([np.c_[xs, np.full_like(xs, y0)], np.c_[xs + ws, np.full_like(xs, y0)],
                      np.c_[xs + ws, np.full_like(xs, y1)], np.c_[xs, np.full_like(xs, y1)]], axis=1)
        polys.extend(v)
        colors.extend(fit[coal])
    vals = np.concatenate([np.asarray(colors, float), *[row for _, row in images]]) if (colors or images) else None
    finite = vals[np.isfinite(vals)] if vals is not None else np.zeros(0)
    norm = Normalize(*(float(finite.min()), float(finite.max()))) if finite.size else Normalize(0, 1)
    mappable = None
    for level, row in images:
        mappable = ax.imshow(row[None, :], extent=(0, total, level - 0.45, level + 0.45), aspect="auto",
                             cmap="viridis", norm=norm, interpolation="nearest", origin="lower")
    if polys:
        mappable = PolyCollection(polys, array=np.asarray(colors), cmap="viridis", norm=norm, edgecolors="white",
                                  linewidths=0.3)
        ax.add_collection(mappable)
    if plain:
        ax.add_collection(PolyCollection(plain, facecolors="tab:blue", edgecolors="none",
                                         label="coalition (fitness per level at right)"))
    if mappable is not None:
        cax = fig.add_axes((0.9, 0.2, 0.012, 0.6))
        fig.colorbar(mappable, cax=cax, label="fitness μ")
    top = org.levels
    ax.set_xlim(0, max(total, 1.0))
    ax.set_ylim(0.4, top + 0.6)
    ax.set_yticks(range(1, top + 1))
    ax.set_ylabel("level")
    ax.set_xlabel("controllable DERs (width = DERs inside a unit; grey = in no coalition)")
    for _, r in stats.iterrows():
        if r["level"] == 0:
            continue
        txt = (f"{int(r['coalitions'])} agg., max {int(r['size_ders_max'])} DERs, μ50 {r['fitness_p50']:.2f}"
               if r["coalitions"] else "no coalitions")
        ax.text(1.01, r["level"], txt, transform=ax.get_yaxis_transform(), fontsize=7, va="center")
    hour = org.periods[-1]["hour"]
    exported = {lvl for lvl, _, _, fit, _ in rows if fit is not None}
    missing = [lvl for lvl, *_ in rows if lvl not in exported]
    note = f" (blue: fitness of levels {min(missing)}-{max(missing)} not exported)" if missing else ""
    ax.set_title(f"hierarchy at hour {hour:g}: {int(stats.loc[stats['level'] > 0, 'coalitions'].sum())} "
                 f"aggregators{note}", fontsize=9, y=1.0)
    return fig


def fig_dispatch(m: ServeModel) -> Figure | None:
    """Base dispatch of a grid scenario's case: renewable utilisation, curtailment and CO2 per hour."""
    r = m.dispatch
    if r is None:
        return None
    avail = np.asarray(r.renewable_avail_mw).sum(axis=1)
    used = np.asarray(r.renewable_p_mw).sum(axis=1)
    h = np.arange(len(avail)) * float(r.step_h)
    fig = Figure(figsize=(6.0, 3.2), dpi=DPI)
    fig.subplots_adjust(left=0.1, right=0.88, bottom=0.15, top=0.9)
    ax = fig.subplots()
    ax.plot(h, 100 * np.divide(used, avail, out=np.ones_like(used), where=avail > 0), label="utilisation %")
    ax.plot(h, avail - used, label="curtailment MW")
    ax.set_xlabel("hour")
    tw = ax.twinx()
    tw.bar(h, np.asarray(r.co2_kg) / 1000.0, width=0.8 * float(r.step_h), alpha=0.25, color="0.3")
    tw.set_ylabel("CO2 t per period")
    if m.period:
        ax.axvline((m.period - 1) * m.sc.step_h, color="0.5", lw=0.8)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"{r.case_name}: base dispatch (no DER control)", fontsize=9, y=1.0)
    return fig


def render_all(m: ServeModel) -> dict[str, Figure | None]:
    """Every figure of the page (what one rendered step costs, measured by :func:`measure`)."""
    return {"park_load": fig_park_load(m), "load_by_kind": fig_load_by_kind(m), "temperature": fig_temperature(m),
            "hierarchy": fig_hierarchy(m), "dispatch": fig_dispatch(m)}


def measure(scenario: str = "three_parks_560", scale: str = "file", steps: int = 6) -> dict[str, float]:
    """Build, then time ``steps`` page steps: model step plus rendering every figure to PNG.

    Wall time depends on what else the machine runs; CPU time (``process_time``, all
    threads of this process) is what the step costs, so both are reported.

    Returns:
        build_s, and mean/max wall and CPU seconds of the model step, the rendering and both.
    """
    import io

    m = ServeModel(scenario, scale)
    wall_m, wall_r, cpu_m, cpu_r = [], [], [], []
    for _ in range(steps):
        c0, t0 = time.process_time(), time.perf_counter()
        m.step()
        c1, t1 = time.process_time(), time.perf_counter()
        for f in render_all(m).values():
            if f is not None:
                f.savefig(io.BytesIO(), format="png")
        c2, t2 = time.process_time(), time.perf_counter()
        wall_m.append(t1 - t0)
        wall_r.append(t2 - t1)
        cpu_m.append(c1 - c0)
        cpu_r.append(c2 - c1)
    out = {"ders": float(m.main.fleet.n_ders), "build_s": m.build_s}
    for name, xs in (("model_wall", wall_m), ("render_wall", wall_r), ("page_wall", np.add(wall_m, wall_r)),
                     ("model_cpu", cpu_m), ("render_cpu", cpu_r), ("page_cpu", np.add(cpu_m, cpu_r))):
        out[f"{name}_mean_s"] = float(np.mean(xs))
        out[f"{name}_max_s"] = float(np.max(xs))
    return out


if __name__ == "__main__":  # python -m scenarios.serve three_parks_560 100 12: the page's step timings
    name = sys.argv[1] if len(sys.argv) > 1 else "three_parks_560"
    scale_arg = sys.argv[2] if len(sys.argv) > 2 else "file"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    print({k: round(v, 3) for k, v in measure(name, scale_arg, n).items()})
