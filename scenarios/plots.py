"""The plots a researcher looks at first after a run (PNG, matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import results  # noqa: E402

_STYLE = {"baseline": dict(color="black", lw=1.6), "controlled": dict(color="tab:green", lw=1.8)}


def _hours(df) -> np.ndarray:
    return df["step"].to_numpy()


def plot_load_vs_index(out, path: Path) -> None:
    """Park net load against the system zero-carbon index over the horizon (Fig. 8 style)."""
    parks = {label: m.park_series() for label, m in out.models.items()}
    names = list(dict.fromkeys(next(iter(parks.values()))["park"]))
    fig, axes = plt.subplots(len(names) + 1, 1, figsize=(9, 2.4 * (len(names) + 1)), sharex=True)
    sysdf = next(iter(out.models.values())).system_series()
    h = _hours(sysdf)
    for ax, name in zip(axes, ["all parks", *names], strict=True):
        for label, df in parks.items():
            sub = df if name == "all parks" else df[df["park"] == name]
            load = sub.groupby("step")["net_kw"].sum()
            ax.plot(load.index, load.to_numpy(), label=f"{label} net load", **_STYLE.get(label, {}))
        ax.set_ylabel(f"{name}\nnet load (kW)")
        ax.grid(alpha=0.3)
        ax2 = ax.twinx()
        ax2.plot(h, sysdf["eta_gi"], color="tab:blue", ls="--", lw=1.4, label="zero-carbon index η_GI")
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("η_GI")
        if name == "all parks":
            lines = ax.get_lines() + ax2.get_lines()
            ax.legend(lines, [ln.get_label() for ln in lines], loc="upper left", fontsize=8)
    axes[-1].set_xlabel(f"period ({out.scenario.step_h:g} h)")
    fig.suptitle(f"{out.scenario.name}: park load vs system zero-carbon index")
    results.save_figure(fig, path)


def plot_load_by_kind(out, path: Path) -> None:
    """Stacked consumption by DER kind and local PV, for each run."""
    models = out.models
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 3.8), sharey=True, squeeze=False)
    for ax, (label, m) in zip(axes[0], models.items(), strict=True):
        df = m.system_series()
        h = _hours(df)
        ax.stackplot(
            h, df["base_kw"], df["ac_kw"], df["ev_kw"],
            labels=["non-flexible base", "air conditioners", "EV charging"],
            colors=["0.75", "tab:orange", "tab:purple"], alpha=0.85,
        )
        ax.plot(h, df["pv_kw"], color="gold", lw=2, label="local PV")
        ax.plot(h, df["net_kw"], color="black", lw=1.4, label="net (grid draw)")
        ax.set_title(label)
        ax.set_xlabel(f"period ({out.scenario.step_h:g} h)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("power (kW)")
    axes[0][0].legend(fontsize=8, loc="upper left")
    results.save_figure(fig, path)


def plot_indoor_temperature(out, path: Path) -> None:
    """Indoor temperature band of occupied air conditioners against the comfort band."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    for label, m in out.models.items():
        df = m.system_series()
        h = _hours(df)
        style = _STYLE.get(label, {})
        ax.fill_between(h, df["t_in_p05_c"], df["t_in_p95_c"], color=style.get("color", "gray"), alpha=0.15)
        ax.plot(h, df["t_in_p50_c"], label=f"{label} median (5–95% band)", **style)
    df = next(iter(out.models.values())).system_series()
    ax.plot(_hours(df), df["t_out_c"], color="tab:red", ls=":", label="outdoor")
    park = next((p for p in out.scenario.parks if p.ac is not None), None)
    if park is not None:
        ax.axhspan(park.ac.comfort_low_c, park.ac.comfort_high_c, color="tab:green", alpha=0.06, label="comfort band")
    ax.set_xlabel(f"period ({out.scenario.step_h:g} h)")
    ax.set_ylabel("temperature (°C)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    results.save_figure(fig, path)


def write_run_plots(out, folder: Path) -> list[Path]:
    """Write every standard plot of a run; returns their paths."""
    paths = [folder / "load_vs_index.png", folder / "load_by_kind.png", folder / "indoor_temperature.png"]
    plot_load_vs_index(out, paths[0])
    plot_load_by_kind(out, paths[1])
    plot_indoor_temperature(out, paths[2])
    return paths
