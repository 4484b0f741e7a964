"""Plots of a multi-energy run: power and heat balance per period (seed 001 Figs. 14–15), storage, costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aggregation.multi_energy import SiteConfig


def _stack(ax, x: np.ndarray, parts: dict[str, np.ndarray], colors: dict[str, str]) -> None:
    """Stacked bars: positive parts upwards from 0, negative parts downwards."""
    pos = np.zeros_like(x, dtype=float)
    neg = np.zeros_like(x, dtype=float)
    for name, v in parts.items():
        v = np.asarray(v, float)
        if not np.any(np.abs(v) > 1e-9):
            continue
        up, dn = np.clip(v, 0, None), np.clip(v, None, 0)
        if up.any():
            ax.bar(x, up, bottom=pos, label=name, color=colors.get(name), width=0.8)
            pos += up
        if dn.any():
            ax.bar(x, dn, bottom=neg, label=None if up.any() else name, color=colors.get(name), width=0.8)
            neg += dn


_COL = {"gas turbine": "tab:red", "battery": "tab:purple", "wind": "tab:cyan", "PV": "gold", "grid buy": "tab:gray",
        "grid sell": "silver", "heat pump": "tab:green", "unserved": "black", "excess": "dimgray",
        "thermal storage": "tab:brown", "vented": "lightgray", "gas turbine heat": "tab:red"}


def plot_power_balance(df: pd.DataFrame, path: Path, title: str) -> None:
    """Electric supply (up) and consumption besides the load (down) per period, load as a line."""
    parts = {"gas turbine": df["gt_p_kw"], "battery": df["bat_p_kw"], "wind": df["wind_kw"], "PV": df["pv_kw"],
             "grid buy": df["buy_kw"], "grid sell": -df["sell_kw"], "heat pump": -df["hp_p_kw"],
             "unserved": df["unserved_e_kw"], "excess": -df["excess_e_kw"]}
    _plot_balance(parts, df["load_e_kw"], "electric load", "kW", path, title)


def plot_heat_balance(df: pd.DataFrame, path: Path, title: str) -> None:
    """Heat supply (up) and storage charging / venting (down) per period, heat load as a line."""
    parts = {"gas turbine heat": df["gt_q_kw"], "heat pump": df["hp_q_kw"], "thermal storage": df["tes_q_kw"],
             "unserved": df["unserved_h_kw"], "vented": -df["vented_h_kw"]}
    _plot_balance(parts, df["load_h_kw"], "heat load", "kW_th", path, title)


def _plot_balance(parts: dict[str, pd.Series], load: pd.Series, load_label: str, ylabel: str, path: Path,
                  title: str) -> None:
    """Stacked ``parts`` per period with ``load`` as a black line (the balance figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(load))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    _stack(ax, x, parts, _COL)
    ax.plot(x, load, "k-", lw=2, label=load_label)
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="period (h)", ylabel=ylabel, title=title)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(tables: dict[str, pd.DataFrame], summary: pd.DataFrame, cfg: SiteConfig, folder: Path) -> list[Path]:
    """All plots of a run; returns the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    for k, df in tables.items():
        p = folder / f"power_balance_{k}.png"
        plot_power_balance(df, p, f"power balance — {k}")
        q = folder / f"heat_balance_{k}.png"
        plot_heat_balance(df, q, f"heat balance — {k}")
        out += [p, q]
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.8))
    for k, df in tables.items():
        if "bat_soc" in df:
            axs[0].plot(np.arange(1, len(df) + 1), df["bat_soc"], label=k)
        if "tes_e_kwh" in df:
            axs[1].plot(np.arange(1, len(df) + 1), df["tes_e_kwh"], label=k)
    axs[0].set(xlabel="end of period (h)", ylabel="battery SOC", title="battery")
    axs[1].set(xlabel="end of period (h)", ylabel="kWh_th", title="thermal storage")
    for a in axs:
        a.legend(fontsize=7)
    fig.tight_layout()
    p = folder / "storage.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    out.append(p)
    cols = ["cost_buy", "cost_gas", "cost_gt_om", "cost_penalty", "carbon_cost"]
    fig, ax = plt.subplots(figsize=(9, 4))
    bottom = np.zeros(len(summary))
    for c in cols:
        v = summary[c].astype(float).to_numpy()
        ax.bar(summary.index, v, bottom=bottom, label=c)
        bottom += v
    ax.bar(summary.index, -summary["revenue_sell"].astype(float), label="revenue_sell")
    ax.set(ylabel=str(summary["currency"].iloc[0]), title="day costs by method")
    ax.tick_params(axis="x", labelrotation=20, labelsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = folder / "costs.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    out.append(p)
    return out
