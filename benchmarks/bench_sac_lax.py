"""Seed 001 Tables 2, 4, 5, 6 and every learner's gap to the perfect-foresight optimum on ``campus_vpp``.

    .venv/bin/python benchmarks/bench_sac_lax.py --quick        # a few minutes (reduced budgets)
    .venv/bin/python benchmarks/bench_sac_lax.py                # the full bench (< 60 min on 2 cores)
    .venv/bin/python benchmarks/bench_sac_lax.py --ship         # also write learners/weights/campus_*

Data: a year of the env's own days (``build_day`` of ``campus_vpp`` for days 1..365: SimBench G0-A 2016
electric shape, demandlib BDEW GHD heat from the Greensboro TMY3 temperature, wind and PV from the same
TMY file; each day scaled as the scenario scales its day). Forecasters use the chronological 70/15/15
split; the learners train on days drawn from the forecasters' training split and are evaluated on the
scenario's day (day of year 15), against the oracle (HiGHS, perfect foresight) and the rolling MPC.

Writes ``results/bench_sac_lax-<stamp>/`` (``tables.md``, ``results.json``, ``episodes.csv``) and prints
the tables. Paper values (seed 001) stand beside ours.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregation.multi_energy import SiteConfig, SiteData  # noqa: E402
from learners.forecasters import (  # noqa: E402
    SERIES,
    ForecasterConfig,
    evaluate,
    fit,
    load_forecaster,
    save_forecaster,
    seasonal_naive,
    split_year,
)
from learners.mpc import RollingMPC  # noqa: E402
from learners.oracle import oracle  # noqa: E402
from learners.sac_lax import (  # noqa: E402
    WEIGHTS_DIR,
    DaySampler,
    MultiEnergyTask,
    SB3Learner,
    evaluate_policy_day,
    export_weights,
    forecaster_provider,
)
from learners.sac_lax_config import SB3Config  # noqa: E402
from scenarios.multi_energy import build_day, load_scenario  # noqa: E402

PAPER_T2 = {"lstm": (52.22, 73.52, 4.50), "gru": (60.50, 85.73, 5.77), "xlstm": (38.27, 52.40, 3.18),
            "ax": (34.83, 48.14, 2.88)}
PAPER_T4 = {"sac_lax": (1440, 2500, 30), "sac_l": (1420, 3200, 40), "sac": (1400, 3200, 60), "ppo": (1350, "8000+", 20),
            "ddpg": (1030, 200, 25), "td3": (1420, 3500, 25)}
PAPER_T5 = {"purchase": (11736.06, 11723.32), "sales": (253.82, 254.83), "gas": (813.61, 822.28),
            "hp_electricity": (1487.86, 1485.73), "carbon": (256.42, 255.76), "net_total": (14040.03, 14032.35)}
# seed 001 Table 6: emissions with / without trading (kg), cost with / without (CNY), quota (kg)
PAPER_T6 = {"CCPP": (2438.18, 2438.18, 73.15, 146.29, 1219.09), "heat pump": (1575.51, 1750.56, 53.50, 105.03, 683.88),
            "battery": (74.03, 74.03, 29.61, 44.44, 29.61)}
METHODS = ("sac", "sac_l", "sac_lax", "ppo", "ddpg", "td3")


def campus_year(sc) -> SiteData:  # noqa: ANN001
    """365 days of the scenario's own day construction, concatenated (hourly)."""
    days = [build_day(sc.model_copy(update={"start_day_of_year": d}))[1] for d in range(1, 366)]
    return SiteData(1.0, *(np.concatenate([getattr(x, k) for x in days]) for k in
                           ("load_e_kw", "load_h_kw", "wind_kw", "pv_kw", "buy_price", "sell_price")))


def year_series(year: SiteData) -> np.ndarray:
    return np.stack([getattr(year, k) for k in SERIES], axis=1)


def table2(series: np.ndarray, budget_s: float, stride: int, epochs: int, ship: bool, out: Path,
           reuse: bool = False) -> tuple[pd.DataFrame, dict]:
    """Forecasters and naive floors on the test split; ``reuse``: evaluate the shipped weights instead of training."""
    rows, fcs = [], {}
    for lag, name in ((24, "seasonal naive, same hour yesterday"), (168, "seasonal naive, same hour last week")):
        nv = seasonal_naive(series, lag=lag)
        rows.append({"model": name, **nv["load_e_kw"], "paper_mae": None, "paper_rmse": None, "paper_mape": None,
                     "train_s": 0.0, "epochs": 0, **{f"mape_{s}": nv[s]["mape"] for s in SERIES[1:]}})
    for kind in ("lstm", "gru", "xlstm", "ax"):
        path = (WEIGHTS_DIR if ship else out) / f"campus_forecaster_{kind}.pt"
        if reuse and (WEIGHTS_DIR / f"campus_forecaster_{kind}.pt").exists():
            fc = load_forecaster(WEIGHTS_DIR / f"campus_forecaster_{kind}.pt")
            dt, n_ep = float("nan"), -1
        else:
            cfg = ForecasterConfig(kind=kind, max_seconds=budget_s, stride=stride, epochs=epochs, seed=0)
            t0 = time.perf_counter()
            fc = fit(series, cfg, progress=True)
            dt, n_ep = time.perf_counter() - t0, len(fc.history)
            save_forecaster(fc, path)
        m = evaluate(fc, series)
        fcs[kind] = fc
        p = PAPER_T2[kind]
        rows.append({"model": kind, **m["load_e_kw"], "paper_mae": p[0], "paper_rmse": p[1], "paper_mape": p[2],
                     "train_s": dt, "epochs": n_ep, **{f"mape_{s}": m[s]["mape"] for s in SERIES[1:]}})
    return pd.DataFrame(rows), fcs


def convergence(returns: np.ndarray) -> tuple[float, int, float]:
    """(average reward of the last 20 %, convergence episode, reward std of the last 20 %).

    Convergence episode: the first episode from which the moving average (window max(5, n/20)) stays
    within 5 % of the total improvement of its final value.
    """
    r = np.asarray(returns, dtype=float)
    n = len(r)
    tail = r[int(0.8 * n):]
    w = max(5, n // 20)
    ma = np.convolve(r, np.ones(w) / w, mode="valid")
    final, lo = ma[-1], ma.min()
    band = 0.05 * max(abs(final - lo), 1e-9)
    ok = np.abs(ma - final) <= band
    bad = np.flatnonzero(~ok)
    conv = int(bad[-1] + 1 + w - 1) if len(bad) else w - 1
    return float(tail.mean()), conv, float(tail.std())


def device_emissions(cfg: SiteConfig, table: pd.DataFrame) -> dict[str, float]:
    out = {"CCPP": 0.0, "heat pump": 0.0, "battery": 0.0}
    if cfg.gt is not None:
        g = cfg.gt
        out["CCPP"] = float((g.emission_kg_per_kwh_gas * table["gas_kwh"] + g.emission_kg_per_kwh_e * table["gt_p_kw"]).sum())
    if cfg.hp is not None:
        out["heat pump"] = float((cfg.hp.emission_kg_per_kwh_e * table["hp_p_kw"]).sum())
    if cfg.battery is not None:
        out["battery"] = float((cfg.battery.emission_kg_per_kwh_discharged * table["bat_p_kw"].clip(lower=0)).sum())
    return out


def cost_items(table: pd.DataFrame, summary: dict) -> dict[str, float]:
    hp_cost = float((table["hp_p_kw"] * table["cost_buy"] / table["buy_kw"].where(table["buy_kw"] > 0)).fillna(0).sum())
    return {"purchase": summary["cost_buy"], "sales": summary["revenue_sell"], "gas": summary["cost_gas"],
            "hp_electricity": hp_cost, "carbon": summary["carbon_cost"], "penalty": summary["cost_penalty"],
            "net_total": summary["total_cost"]}


def fmt(x: float, nd: int = 2) -> str:
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:,.{nd}f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced budgets: a few minutes")
    ap.add_argument("--ship", action="store_true", help="write forecaster and SAC-LAx weights to learners/weights/")
    ap.add_argument("--episodes", type=int, default=None, help="training days per learner and seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--forecast-budget-s", type=float, default=None)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--use-shipped-forecaster", action="store_true", help="skip Table 2; load the shipped Ax")
    ap.add_argument("--reuse-forecasters", action="store_true",
                    help="Table 2 from the shipped forecaster weights (no forecaster training)")
    ap.add_argument("--no-learners", action="store_true", help="Table 2 only")
    ap.add_argument("--out", default=str(ROOT / "results"))
    a = ap.parse_args(argv)
    episodes = a.episodes or (40 if a.quick else 300)
    fbudget = a.forecast_budget_s or (40.0 if a.quick else 240.0)
    stride = 4 if a.quick else 1
    methods = [m for m in a.methods.split(",") if m]
    out = Path(a.out) / f"bench_sac_lax-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    sc = load_scenario(ROOT / "scenarios" / "campus_vpp.yaml")
    year = campus_year(sc)
    series = year_series(year)
    cfg = build_day(sc)[0]
    day_idx = sc.start_day_of_year - 1
    budget = {"quick": a.quick, "episodes_per_run": episodes, "seeds": a.seeds, "forecast_budget_s_per_model": fbudget,
              "forecast_window_stride_h": stride}
    print(f"budget: {budget}", flush=True)
    results: dict = {"budget": budget}
    md: list[str] = [f"Budget: {json.dumps(budget)}\n"]

    # ---- Table 2 ---------------------------------------------------------------------------------
    if a.use_shipped_forecaster:
        ax = load_forecaster(WEIGHTS_DIR / "campus_forecaster_ax.pt")
        t2 = None
    else:
        t2, fcs = table2(series, fbudget, stride, 60, a.ship, out, reuse=a.reuse_forecasters)
        ax = fcs["ax"]
        tr, va, te = split_year(len(series))
        md.append(f"### Table 2 — electric load, test split (hours {te.start}–{te.stop}, day-ahead windows)\n")
        md.append("| model | MAE kW | RMSE kW | MAPE % | MAPE % first hour (00:00) | paper MAE / RMSE / MAPE | epochs | train s "
                  "| MAPE heat / wind / PV % |")
        md.append("|---|---|---|---|---|---|---|---|---|")
        for r in t2.to_dict("records"):
            paper = "—" if not r["paper_mae"] or not np.isfinite(r["paper_mae"]) else \
                f"{r['paper_mae']} / {r['paper_rmse']} / {r['paper_mape']}"
            other = " / ".join(fmt(r.get(f"mape_{s}")) for s in SERIES[1:])
            ep = "shipped" if r["epochs"] < 0 else r["epochs"]
            md.append(f"| {r['model']} | {fmt(r['mae'])} | {fmt(r['rmse'])} | {fmt(r['mape'])} | {fmt(r['mape_1h'])} | "
                      f"{paper} | {ep} | {fmt(r['train_s'], 0)} | {other} |")
        results["table2"] = t2.to_dict("records")
        print("\n".join(md[-(len(t2) + 3):]), flush=True)
    provider = forecaster_provider(ax, year)
    if a.no_learners:
        (out / "tables.md").write_text("\n".join(md) + "\n")
        (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
        print(f"\nresults: {out}")
        return 0

    # ---- oracle and MPC on the scenario day --------------------------------------------------------
    day = year.window(day_idx * 24, day_idx * 24 + 24)
    orc = oracle(cfg, day, ramp_model=sc.ramp_model)
    opt = orc.summary["total_cost"]
    rows = [{"method": "oracle (perfect foresight)", "cost": opt, "gap_pct": 0.0, "violation_kwh": 0.0,
             "latency_ms": orc.plan.solve_s * 1e3, "seeds": 1}]
    for err in (0.0, 0.1):
        m = RollingMPC(cfg, sc.mpc.horizon_h, err, np.random.default_rng([sc.seed, 1])).run(day)
        s = m.summary
        rows.append({"method": f"rolling MPC H {sc.mpc.horizon_h:g} h, error {err:.0%}", "cost": s["total_cost"],
                     "gap_pct": 100 * (s["total_cost"] - opt) / abs(opt),
                     "violation_kwh": s["unserved_e_kwh"] + s["excess_e_kwh"] + s["unserved_h_kwh"],
                     "latency_ms": 1e3 * float(np.median(m.solve_s)), "seeds": 1})

    # ---- learners ----------------------------------------------------------------------------------
    train_days = np.arange(0, split_year(len(series))[0].stop // 24)
    episodes_rows, t4_rows, evals = [], [], {}
    for meth in methods:
        per_seed, costs, viol, lat, act_ms, proj_ms = [], [], [], [], [], []
        for seed in range(a.seeds):
            conf = SB3Config(method=meth, n_episodes=episodes, seed=seed, checkpoint_interval=max(1, episodes // 5))
            fc = provider if conf.forecast else None
            t0 = time.perf_counter()
            learner = SB3Learner(MultiEnergyTask(cfg, DaySampler(year, train_days), fc), conf)
            eps = learner.train(progress=True)
            wall = time.perf_counter() - t0
            for i, e in enumerate(eps):
                episodes_rows.append({"method": meth, "seed": seed, "episode": i, **e})
            per_seed.append(convergence([e["return"] for e in eps]))
            ev = evaluate_policy_day(learner, cfg, DaySampler(year, [day_idx]), conf, fc)
            evals[(meth, seed)] = ev
            costs.append(ev["summary"]["total_cost"])
            viol.append(ev["violation_kwh"])
            lat.append(ev["latency_ms"][0])
            act_ms.append(ev["actor_ms"])
            proj_ms.append(ev["proj_ms"])
            print(f"{meth} seed {seed}: {wall:.0f} s, day cost {costs[-1]:,.0f} (oracle {opt:,.0f}), "
                  f"violations {viol[-1]:.2f} kWh", flush=True)
            if a.ship and meth == "sac_lax" and seed == 0:
                export_weights(learner, WEIGHTS_DIR / "campus_vpp_sac_lax.zip",
                               {"scenario": "campus_vpp", "episodes": episodes, "seed": seed,
                                "command": "python benchmarks/bench_sac_lax.py " + " ".join(argv or sys.argv[1:])})
        ps = np.array([(p[0], p[1], p[2]) for p in per_seed], dtype=float)
        t4_rows.append({"method": meth, "avg_reward": ps[:, 0].mean(), "avg_reward_sd": ps[:, 0].std(),
                        "conv_episode": ps[:, 1].mean(), "conv_episode_sd": ps[:, 1].std(),
                        "reward_std": ps[:, 2].mean(), "reward_std_sd": ps[:, 2].std()})
        c = np.array(costs)
        rows.append({"method": meth, "cost": c.mean(), "cost_sd": c.std(), "gap_pct": 100 * (c.mean() - opt) / abs(opt),
                     "gap_pct_sd": 100 * c.std() / abs(opt), "violation_kwh": float(np.mean(viol)),
                     "latency_ms": float(np.median(lat)), "actor_ms": float(np.median(act_ms)),
                     "proj_ms": float(np.median(proj_ms)), "seeds": a.seeds})

    md.append(f"\n### Table 4 — training ({episodes} days per run, {a.seeds} seeds: mean ± sd over seeds; "
              "reward = −daily cost/1000 CNY)\n")
    md.append("| method | average reward (last 20 %) | convergence episode | reward std (last 20 %) | paper avg / conv / std |")
    md.append("|---|---|---|---|---|")
    for r in t4_rows:
        p = PAPER_T4.get(r["method"], ("—",) * 3)
        md.append(f"| {r['method']} | {r['avg_reward']:.3f} ± {r['avg_reward_sd']:.3f} | {r['conv_episode']:.0f} ± "
                  f"{r['conv_episode_sd']:.0f} | {r['reward_std']:.3f} ± {r['reward_std_sd']:.3f} | {p[0]} / {p[1]} / ±{p[2]} |")
    md.append(f"\n### Daily net cost on day {sc.start_day_of_year} and gap to the perfect-foresight optimum\n")
    md.append("| method | net cost CNY (mean ± sd) | gap % | balance violations kWh | decision latency ms (median) |")
    md.append("|---|---|---|---|---|")
    for r in rows:
        sd = f" ± {r['cost_sd']:,.0f}" if "cost_sd" in r else ""
        gsd = f" ± {r['gap_pct_sd']:.1f}" if "gap_pct_sd" in r else ""
        extra = f" (actor {r['actor_ms']:.2f} + projection {r['proj_ms']:.2f})" if "actor_ms" in r else ""
        md.append(f"| {r['method']} | {r['cost']:,.0f}{sd} | {r['gap_pct']:.1f}{gsd} | {r['violation_kwh']:.2f} | "
                  f"{r['latency_ms']:.2f}{extra} |")

    if ("sac_lax", 0) in evals and ("sac_l", 0) in evals:
        md.append(f"\n### Table 5 — cost items on day {sc.start_day_of_year}, seed 0: without (SAC-L) / with (SAC-LAx) "
                  "the prediction module (CNY)\n")
        md.append("| item | ours without | ours with | paper without | paper with |")
        md.append("|---|---|---|---|---|")
        wo = cost_items(evals[("sac_l", 0)]["table"], evals[("sac_l", 0)]["summary"])
        wi = cost_items(evals[("sac_lax", 0)]["table"], evals[("sac_lax", 0)]["summary"])
        for k in wo:
            p = PAPER_T5.get(k, ("—", "—"))
            md.append(f"| {k} | {fmt(wo[k])} | {fmt(wi[k])} | {p[0]} | {p[1]} |")
        results["table5"] = {"without": wo, "with": wi}
    if ("sac_lax", 0) in evals:
        ev = evals[("sac_lax", 0)]
        em = device_emissions(cfg, ev["table"])
        lam = cfg.carbon.price_per_kg
        md.append(f"\n### Table 6 — SAC-LAx (seed 0) emissions and carbon cost per device, day {sc.start_day_of_year} "
                  "(the same schedule priced with and without trading; quotas per device from the paper)\n")
        md.append("| device | emissions kg | cost with trading | cost without | paper emissions with/without | "
                  "paper cost with/without | quota kg |")
        md.append("|---|---|---|---|---|---|---|")
        for dev, e in em.items():
            p = PAPER_T6[dev]
            md.append(f"| {dev} | {e:,.1f} | {lam * max(0.0, e - p[4]):,.2f} | {lam * e:,.2f} | {p[0]} / {p[1]} | "
                      f"{p[2]} / {p[3]} | {p[4]} |")
        tot = sum(em.values())
        md.append(f"| total (site rule, quota {cfg.carbon.quota_kg_per_day:,.2f}) | {tot:,.1f} | "
                  f"{lam * max(0.0, tot - cfg.carbon.quota_kg_per_day):,.2f} | {lam * tot:,.2f} | 4087.72 / 4262.77 | "
                  "129.32 / 255.76 | 1932.58 |")
        results["table6"] = em
    md.append(f"\nTotal wall time {time.perf_counter() - t_all:,.0f} s.")
    results.update(t4=t4_rows, costs=rows, oracle=opt)
    text = "\n".join(md)
    print(text)
    (out / "tables.md").write_text(text + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    pd.DataFrame(episodes_rows).to_csv(out / "episodes.csv", index=False)
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
