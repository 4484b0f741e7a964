"""The 16-panel ``market_report.png`` of a ``vpp_market`` run (seed 000's figure, our layout).

Row 1: training (returns, day cost, critic loss, actor loss); row 2: world-model loss and gradient
penalty, learned inertia, supply schedule vs load, unit on/off; row 3: oracle on/off, demand response
before/after, realised adjustment, clearing prices; row 4: high-price probability, cost vs the oracle,
shortage/surplus energy, robustness on shifted distributions.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["market_report"]

COLORS = {"rule": "tab:gray", "maddpg": "tab:blue", "dromarl": "tab:red", "oracle": "black"}


def _smooth(y: np.ndarray, k: int = 10) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if len(y) < k:
        return y
    return np.convolve(y, np.ones(k) / k, mode="valid")


def _curve(ax, histories: dict[str, list[dict]], key: str, title: str, log: bool = False,
           colors: dict[str, str] | None = None) -> None:
    colors = COLORS if colors is None else colors
    drawn = False
    for m, hist in histories.items():
        y = np.array([h.get(key, np.nan) for h in hist], dtype=float)
        if len(y) and np.isfinite(y).any():
            ax.plot(np.arange(len(y))[len(y) - len(_smooth(y)):], _smooth(y), color=colors.get(m), label=m)
            drawn = True
    if log and drawn:
        # a log axis over about one decade showed a single tick label: linear, with plain numbers
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
        ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("episode", fontsize=8)
    if drawn:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes, fontsize=8)


def _onoff(ax, units: pd.DataFrame, method: str) -> None:
    u = units[units.method == method]
    if u.empty:
        ax.text(0.5, 0.5, f"no {method} schedule", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        ax.set_title(f"unit on/off: {method}", fontsize=9)
        return
    grid = u.pivot(index="unit", columns="period", values="on").astype(float)
    grid = grid.loc[list(dict.fromkeys(u.unit))]
    ax.imshow(grid.to_numpy(), aspect="auto", cmap="Greens", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(grid)), grid.index, fontsize=6)
    ax.set_xlabel("period", fontsize=8)
    ax.set_title(f"unit on/off: {method} (green = on)", fontsize=9)


def market_report(path: str | Path, *, histories: dict[str, list[dict]], summary: pd.DataFrame,
                  schedule: pd.DataFrame, units: pd.DataFrame, high_price: pd.DataFrame, robustness: pd.DataFrame,
                  inertia: dict[str, list[float]], true_inertia: float) -> None:
    """Write the 16-panel figure to ``path`` (PNG)."""
    fig, axs = plt.subplots(4, 4, figsize=(20, 16))
    ax = axs.ravel()
    sides = {}
    for m, hist in histories.items():  # each side's own return (profit-seeking game, docs/market.md §2.4)
        for side in ("load", "supply"):
            keys = [k for k in (hist[0] if hist else {}) if k.startswith(f"return_{side}")]
            if keys:
                sides[f"{m} {side}"] = [{"r": float(np.mean([h[k] for k in keys]))} for h in hist]
    colors = {**COLORS, **{f"{m} {side}": COLORS.get(m) for m in histories for side in ("load", "supply")}}
    if sides:
        _curve(ax[0], sides, "r", "training return per day: load, mean supply group (10-ep mean)", colors=colors)
        for line in ax[0].get_lines():
            line.set_linestyle(":" if line.get_label().endswith("supply") else "-")
            line.set_linewidth(1.8 if line.get_label().endswith("supply") else 1.2)
        ax[0].legend(fontsize=8, handlelength=3.5)  # long handles: solid (load) and dotted (supply) tell apart
    else:
        _curve(ax[0], histories, "return", "training return per day (10-ep mean)")
    _curve(ax[1], histories, "cost", "training day cost ($)", log=True)
    _curve(ax[2], histories, "critic_loss", "critic loss (TD [+ GP])", log=True)
    _curve(ax[3], histories, "actor_loss", "actor loss (-Q)")
    _curve(ax[4], {m: h for m, h in histories.items() if m == "dromarl"}, "wm_loss", "world model: -ELBO")
    gp = [h.get("gp", np.nan) for h in histories.get("dromarl", [])]
    if gp and np.isfinite(gp).any():
        ax4b = ax[4].twinx()
        ax4b.plot(_smooth(np.nan_to_num(gp)), color="tab:orange", lw=0.8, label="gradient penalty (right axis)")
        ax4b.set_ylabel("gradient penalty", fontsize=8, color="tab:orange")
        h1, l1 = ax[4].get_legend_handles_labels()
        h2, l2 = ax4b.get_legend_handles_labels()
        ax[4].legend(h1 + h2, [f"{x}: -ELBO (left axis)" for x in l1] + l2, fontsize=8)
    for m, rho in inertia.items():
        r = np.asarray(rho, dtype=float)
        if len(r) and np.isfinite(r).any():
            ax[5].plot(r, color=COLORS.get(m), label=f"{m}: learned")
    ax[5].axhline(true_inertia, color="k", ls="--", label=f"game: {true_inertia:g}")
    ax[5].set_title("load inertia coefficient", fontsize=9)
    ax[5].legend(fontsize=7)
    learned = [m for m in ("dromarl", "maddpg") if m in set(schedule.method)]
    best = min(learned, key=lambda m: summary.loc[m, "cost_mean"]) if learned else "rule"
    s = schedule[schedule.method == best]
    u = units[units.method == best]
    if not u.empty:
        by_tech = u.pivot_table(index="period", columns="technology", values="p_mw", aggfunc="sum")
        ax[6].stackplot(by_tech.index, by_tech.T.to_numpy(), labels=list(by_tech.columns), alpha=0.7)
    ax[6].plot(s.period, s.demand_mw, "k-", lw=2, label="demand")
    ax[6].plot(s.period, s.uncontrolled_mw, "k:", label="load before DR")
    ax[6].set_title(f"supply schedule vs load: {best} (MW)", fontsize=9)
    ax[6].legend(fontsize=6, loc="upper left")
    _onoff(ax[7], units, best)
    _onoff(ax[8], units, "oracle")
    for m, g in schedule.groupby("method"):
        ax[9].plot(g.period, g.demand_mw, color=COLORS.get(m), label=f"{m} after")
        ax[10].plot(g.period, g.realised_adjustment_mw, color=COLORS.get(m), marker=".", label=m)
        ax[11].plot(g.period, g.price_per_mwh, color=COLORS.get(m), marker=".", label=m)
    g0 = schedule[schedule.method == "rule"]
    ax[9].plot(g0.period, g0.uncontrolled_mw, "k:", lw=2, label="before (uncontrolled)")
    ax[9].set_title("demand response: load before/after (MW)", fontsize=9)
    ax[10].set_title("realised load adjustment (MW)", fontsize=9)
    ax[10].axhline(0, color="k", lw=0.5)
    ax[11].set_title("clearing price ($/MWh)", fontsize=9)
    ax[11].ticklabel_format(axis="y", style="plain")  # linear: a symlog axis over one decade showed no labels
    for a in (ax[9], ax[10], ax[11]):
        a.legend(fontsize=6)
        a.set_xlabel("period (2 h)", fontsize=8)
    meths = [c for c in high_price.columns if c not in ("period", "threshold_per_mwh")]
    w = 0.8 / max(1, len(meths))
    for k, m in enumerate(meths):
        ax[12].bar(high_price.period + k * w, high_price[m], w, color=COLORS.get(m), label=m)
    thr = float(high_price.threshold_per_mwh.iloc[0]) if len(high_price) else np.nan
    ax[12].set_title(f"P(price > {thr:.1f} $/MWh) per period (bars at 0 are not drawn)", fontsize=9)
    n_per = int(high_price.period.max()) + 1 if len(high_price) else 0
    ax[12].set_xticks(np.arange(n_per) + 0.4 - w / 2, [str(k) for k in range(n_per)])
    ax[12].set_xlabel("period (2 h)", fontsize=8)
    ax[12].set_ylim(0, 1.3)  # room above the bars for the legend
    ax[12].legend(fontsize=8, ncol=max(1, len(meths)), loc="upper center")
    ms = list(summary.index)
    ax[13].bar(ms, summary.cost_mean, color=[COLORS.get(m, "c") for m in ms])
    for i, m in enumerate(ms):
        gap = summary.loc[m].get("gap_to_oracle_pct", np.nan)
        if np.isfinite(gap):
            ax[13].text(i, summary.loc[m, "cost_mean"], f"{gap:+.1f} %", ha="center", va="bottom", fontsize=7)
    ax[13].set_title("mean day cost ($) and gap to the oracle", fontsize=9)
    ax[13].set_ylim(0, 1.15 * float(np.nanmax(summary.cost_mean)) if len(summary) else 1.0)
    ax[13].ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    x = np.arange(len(ms))
    ax[14].bar(x - 0.2, summary.shortage_mwh, 0.4, label="shortage", color="tab:red")
    ax[14].bar(x + 0.2, summary.surplus_mwh, 0.4, label="surplus", color="tab:blue")
    ax[14].set_xticks(x, ms)
    ax[14].set_title("shortage / surplus energy per day (MWh)", fontsize=9)
    ax[14].legend(fontsize=7)
    if not robustness.empty:
        piv = robustness.pivot(index="shift", columns="method", values="cost_mean")
        piv = piv.loc[list(dict.fromkeys(robustness["shift"]))]
        w = 0.8 / max(1, len(piv.columns))
        for k, m in enumerate(piv.columns):
            ax[15].bar(np.arange(len(piv)) + k * w, piv[m], w, color=COLORS.get(m), label=m)
        ax[15].set_xticks(np.arange(len(piv)) + 0.4 - w / 2, piv.index, fontsize=8)
        ax[15].set_ylim(0, 1.3 * float(np.nanmax(piv.to_numpy())))  # room above the bars for the legend
        ax[15].ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        ax[15].legend(fontsize=8, ncol=max(1, len(piv.columns)), loc="upper center")
    ax[15].set_title("robustness: mean day cost on shifted distributions ($)", fontsize=9)
    for a in ax:
        a.tick_params(labelsize=8)
        a.title.set_fontsize(10)
    fig.suptitle("VPP supply/load game (seed 000): MADDPG, DROMARL, rule baseline, oracle", fontsize=14)
    fig.tight_layout(rect=(0, 0, 1, 0.97))  # keep the title clear of the first row's panel titles
    fig.savefig(path, dpi=80)
    plt.close(fig)
