"""Seed 001 Tables 2, 4, 5, 6 and every learner's gap to the perfect-foresight optimum on ``campus_vpp``.

    .venv/bin/python benchmarks/bench_sac_lax.py --quick        # a few minutes (reduced budgets)
    .venv/bin/python benchmarks/bench_sac_lax.py --jobs 6       # the full bench (300 days x 3 seeds x 6 learners)
    .venv/bin/python benchmarks/bench_sac_lax.py --ship         # also write learners/weights/campus_*
    ... --methods sac_lax --set forecast_k=24 --set 'replay_action="raw"'   # SB3Config overrides (docs/sac_lax.md)

Data: a year of the env's own days (``build_day`` of ``campus_vpp`` for days 1..365: SimBench G0-A 2016
electric shape, demandlib BDEW GHD heat from the Greensboro TMY3 temperature, wind and PV from the same
TMY file; each day scaled as the scenario scales its day). Forecasters use the chronological 70/15/15
split; the learners train on days drawn from the forecasters' training split (0-based days 0..254), their
convergence curve is the deterministic policy's cost on 5 validation-split days, and they are evaluated out
of sample on 7 held-out test-split days (``learners.sac_lax.held_out_days``) against each day's
perfect-foresight optimum (HiGHS oracle) and beside the rolling MPC; the scenario's day (day of year 15,
a training day) is reported for comparison and for Tables 5-6.

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

from aggregation.io import write_json, write_text  # noqa: E402
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
    convergence_episode,
    evaluate_days,
    evaluate_policy_day,
    export_weights,
    forecaster_provider,
    held_out_days,
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


def table2(series: np.ndarray, budget_s: float | None, stride: int, epochs: int, ship: bool, out: Path,
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


_CTX: dict = {}


def _train_eval(job: tuple[str, int]) -> dict:
    """Train one (method, seed) with its evaluation curve, then evaluate it on the held-out and scenario days."""
    meth, seed = job
    x = _CTX
    cfg, year, every, episodes = x["cfg"], x["year"], x["every"], x["episodes"]
    conf = SB3Config.from_dict({"method": meth, "n_episodes": episodes, "seed": seed, "checkpoint_interval": every,
                                **x["overrides"]})
    fc = x["provider"] if conf.forecast else None
    t0 = time.perf_counter()
    learner = SB3Learner(MultiEnergyTask(cfg, DaySampler(year, x["train_days"]), fc), conf)
    curve = []
    while len(learner.episodes) < episodes:
        learner.train(n_episodes=min(episodes, len(learner.episodes) + every))
        ev_val = evaluate_days(learner, cfg, year, x["val_days"], conf, fc)
        curve.append((len(learner.episodes), -1e-3 * float(np.mean([e["summary"]["total_cost"] for e in ev_val]))))
    wall = time.perf_counter() - t0
    eps = list(learner.episodes)
    tail = np.array([e["return"] for e in eps[int(0.8 * len(eps)):]])
    conv = convergence_episode(*zip(*curve, strict=True), x["tol"]) if len(curve) >= 3 else curve[-1][0]
    ev_test = evaluate_days(learner, cfg, year, x["test_days"], conf, fc)
    ev15 = evaluate_policy_day(learner, cfg, DaySampler(year, [x["day_idx"]]), conf, fc)
    test_costs = [e["summary"]["total_cost"] for e in ev_test]
    if x["ship"] and meth == "sac_lax" and seed == 0:
        export_weights(learner, x["ship_to"],
                       {"scenario": "campus_vpp", "episodes": episodes, "seed": seed, "test_days": x["test_days"],
                        "held_out_mean_cost": float(np.mean(test_costs)), "command": x["command"]})
    return {"episodes": eps, "curve": curve, "conv": int(conv), "train_std": float(tail.std()), "wall_s": wall,
            "test_costs": test_costs, "ev15": ev15, "violation_kwh": float(np.mean([e["violation_kwh"] for e in ev_test])),
            "latency_ms": [e["latency_ms"][0] for e in ev_test], "actor_ms": [e["actor_ms"] for e in ev_test],
            "proj_ms": [e["proj_ms"] for e in ev_test]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced budgets: a few minutes")
    ap.add_argument("--ship", action="store_true", help="write forecaster and SAC-LAx weights to learners/weights/")
    ap.add_argument("--episodes", type=int, default=None, help="training days per learner and seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--forecast-budget-s", type=float, default=None,
                    help="wall-time cap per forecaster (quick: 40 s; full: none, the epoch cap and early stopping)")
    ap.add_argument("--forecast-epochs", type=int, default=30, help="epoch cap per forecaster (early stopping, patience 5)")
    ap.add_argument("--forecast-stride", type=int, default=None, help="hours between training windows (quick 4, full 2)")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--use-shipped-forecaster", action="store_true", help="skip Table 2; load the shipped Ax")
    ap.add_argument("--reuse-forecasters", action="store_true",
                    help="Table 2 from the shipped forecaster weights (no forecaster training)")
    ap.add_argument("--no-learners", action="store_true", help="Table 2 only")
    ap.add_argument("--out", default=str(ROOT / "results"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="override an SB3Config field for every learner, e.g. --set reward_scale=0.01")
    ap.add_argument("--eval-days", type=int, default=7, help="held-out test days (test split, 8 days apart)")
    ap.add_argument("--val-days", type=int, default=5, help="validation days of the convergence curve")
    ap.add_argument("--eval-every", type=int, default=None, help="training days between curve points (episodes/20)")
    ap.add_argument("--ship-to", default=str(WEIGHTS_DIR / "campus_vpp_sac_lax.zip"),
                    help="where --ship writes the SAC-LAx policy (seed 0; .zip and .json)")
    ap.add_argument("--jobs", type=int, default=1, help="(method, seed) runs in parallel processes")
    ap.add_argument("--conv-tol-pct", type=float, default=1.0, help="convergence band, %% of the final value")
    a = ap.parse_args(argv)
    episodes = a.episodes or (40 if a.quick else 300)
    fbudget = a.forecast_budget_s if a.forecast_budget_s is not None else (40.0 if a.quick else None)
    fbudget = fbudget or None  # 0: no wall-time cap
    stride = a.forecast_stride or (4 if a.quick else 2)
    methods = [m for m in a.methods.split(",") if m]
    out = Path(a.out) / f"bench_sac_lax-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    import torch

    torch.set_num_threads(1)  # before any forecaster runs: forked workers must not inherit a thread pool
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
        t2, fcs = table2(series, fbudget, stride, a.forecast_epochs, a.ship, out, reuse=a.reuse_forecasters)
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
        write_text(out / "tables.md", "\n".join(md) + "\n")
        write_json(out / "results.json", results)
        print(f"\nresults: {out}")
        return 0

    # ---- oracle and MPC: the held-out test days, and the scenario day (in training) ----------------
    def window(d: int) -> SiteData:
        return year.window(d * 24, d * 24 + 24)

    test_days = held_out_days(len(series), a.eval_days, part=2)
    val_days = held_out_days(len(series), a.val_days, part=1)
    train_days = np.arange(0, split_year(len(series))[0].stop // 24)
    results["days"] = {"train": [int(train_days[0]), int(train_days[-1])], "validation_curve": val_days,
                       "test": test_days, "scenario_day": day_idx, "scenario_day_in_training": bool(day_idx in train_days)}
    print(f"days (0-based): train {train_days[0]}..{train_days[-1]}, convergence curve on {val_days}, "
          f"held-out test {test_days}, scenario day {day_idx} (in training: {day_idx in train_days})", flush=True)
    t_orc = time.perf_counter()
    opt = {d: oracle(cfg, window(d), ramp_model=sc.ramp_model).summary["total_cost"] for d in [*test_days, day_idx]}
    orc_ms = 1e3 * (time.perf_counter() - t_orc) / len(opt)
    opt_test = np.array([opt[d] for d in test_days])
    rows = [{"method": "oracle (perfect foresight)", "cost": float(opt_test.mean()), "gap_pct": 0.0, "violation_kwh": 0.0,
             "latency_ms": orc_ms, "cost_d15": opt[day_idx], "gap_d15": 0.0, "seeds": 1}]
    for err in (0.0, 0.1):
        costs, viol, lat = [], [], []
        for d in [*test_days, day_idx]:
            m = RollingMPC(cfg, sc.mpc.horizon_h, err, np.random.default_rng([sc.seed, 1])).run(window(d))
            s = m.summary
            costs.append(s["total_cost"])
            viol.append(s["unserved_e_kwh"] + s["excess_e_kwh"] + s["unserved_h_kwh"])
            lat.extend(m.solve_s)
        c = np.array(costs[:-1])
        rows.append({"method": f"rolling MPC H {sc.mpc.horizon_h:g} h, error {err:.0%}", "cost": float(c.mean()),
                     "gap_pct": float(np.mean(100 * (c - opt_test) / np.abs(opt_test))),
                     "violation_kwh": float(np.mean(viol[:-1])), "latency_ms": 1e3 * float(np.median(lat)),
                     "cost_d15": costs[-1], "gap_d15": 100 * (costs[-1] - opt[day_idx]) / abs(opt[day_idx]), "seeds": 1})

    # ---- learners ----------------------------------------------------------------------------------
    overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in a.set)}
    every = a.eval_every or max(1, episodes // 20)
    _CTX.update(cfg=cfg, year=year, train_days=train_days, val_days=val_days, test_days=test_days, day_idx=day_idx,
                provider=provider, episodes=episodes, every=every, overrides=overrides, tol=a.conv_tol_pct,
                ship=a.ship, ship_to=Path(a.ship_to), command="python benchmarks/bench_sac_lax.py " + " ".join(argv or sys.argv[1:]))
    jobs = [(m, s) for m in methods for s in range(a.seeds)]
    if a.jobs > 1:  # fork: the children inherit the data and the forecaster (one torch thread each)
        import importlib
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        mod = importlib.import_module("benchmarks.bench_sac_lax")  # picklable by name under runpy (vppsim bench)
        mod._CTX.update(_CTX)
        with ProcessPoolExecutor(a.jobs, mp_context=mp.get_context("fork")) as pool:
            done = dict(zip(jobs, pool.map(mod._train_eval, jobs), strict=True))
    else:
        done = {j: _train_eval(j) for j in jobs}
    episodes_rows, t4_rows, evals, curves = [], [], {}, []
    for meth in methods:
        per_seed, seed_cost, seed_gap, seed_d15, viol, lat, act_ms, proj_ms = [], [], [], [], [], [], [], []
        for seed in range(a.seeds):
            r = done[(meth, seed)]
            episodes_rows += [{"method": meth, "seed": seed, "episode": i, **e} for i, e in enumerate(r["episodes"])]
            curves += [{"method": meth, "seed": seed, "episode": e, "eval_reward": v} for e, v in r["curve"]]
            per_seed.append((r["curve"][-1][1], r["conv"], r["train_std"]))
            c = np.array(r["test_costs"])
            evals[(meth, seed)] = r["ev15"]
            seed_cost.append(float(c.mean()))
            seed_gap.append(float(np.mean(100 * (c - opt_test) / np.abs(opt_test))))
            seed_d15.append(r["ev15"]["summary"]["total_cost"])
            viol.append(r["violation_kwh"])
            lat += r["latency_ms"]
            act_ms += r["actor_ms"]
            proj_ms += r["proj_ms"]
            print(f"{meth} seed {seed}: {r['wall_s']:.0f} s, held-out mean cost {c.mean():,.0f} (oracle "
                  f"{opt_test.mean():,.0f}, gap {seed_gap[-1]:.2f} %), day {day_idx + 1} {seed_d15[-1]:,.0f}, "
                  f"conv. episode {r['conv']}, violations {viol[-1]:.2f} kWh/day", flush=True)
        ps = np.array(per_seed, dtype=float)
        t4_rows.append({"method": meth, "avg_reward": ps[:, 0].mean(), "avg_reward_sd": ps[:, 0].std(),
                        "conv_episode": ps[:, 1].mean(), "conv_episode_sd": ps[:, 1].std(),
                        "reward_std": ps[:, 2].mean(), "reward_std_sd": ps[:, 2].std()})
        sc_, sg, s15 = np.array(seed_cost), np.array(seed_gap), np.array(seed_d15)
        rows.append({"method": meth, "cost": sc_.mean(), "cost_sd": sc_.std(), "gap_pct": sg.mean(), "gap_pct_sd": sg.std(),
                     "violation_kwh": float(np.mean(viol)), "latency_ms": float(np.median(lat)),
                     "actor_ms": float(np.median(act_ms)), "proj_ms": float(np.median(proj_ms)),
                     "cost_d15": s15.mean(), "gap_d15": 100 * (s15.mean() - opt[day_idx]) / abs(opt[day_idx]),
                     "seeds": a.seeds})

    md.append(f"\n### Table 4 — training ({episodes} days per run, {a.seeds} seeds: mean ± sd over seeds; "
              f"reward = −daily cost/1000 CNY)\n")
    md.append(f"Evaluation reward: deterministic policy, mean over the {len(val_days)} validation-split days {val_days} "
              f"(0-based), every {every} training days. Convergence episode: first evaluation after which the "
              f"moving average of 3 evaluations stays within {a.conv_tol_pct:g} % of its final value. Reward std: "
              "of the training episodes' returns over the last 20 % of the run (day-to-day spread included).\n")
    md.append("| method | final evaluation reward | convergence episode | training reward std (last 20 %) | "
              "paper avg / conv / std |")
    md.append("|---|---|---|---|---|")
    for r in t4_rows:
        p = PAPER_T4.get(r["method"], ("—",) * 3)
        md.append(f"| {r['method']} | {r['avg_reward']:.3f} ± {r['avg_reward_sd']:.3f} | {r['conv_episode']:.0f} ± "
                  f"{r['conv_episode_sd']:.0f} | {r['reward_std']:.3f} ± {r['reward_std_sd']:.3f} | {p[0]} / {p[1]} / ±{p[2]} |")
    md.append(f"\n### Out of sample: mean daily net cost over the {len(test_days)} held-out test days {test_days} "
              f"(0-based; never trained on) and mean gap to each day's perfect-foresight optimum\n")
    md.append(f"Day {sc.start_day_of_year} (the scenario's day, {'in' if day_idx in train_days else 'not in'} the "
              "training days) for comparison. Learners: mean ± sd over seeds.\n")
    md.append("| method | net cost CNY (mean ± sd) | gap % | balance violations kWh/day | decision latency ms (median) "
              f"| day {sc.start_day_of_year} cost / gap % |")
    md.append("|---|---|---|---|---|---|")
    for r in rows:
        sd = f" ± {r['cost_sd']:,.0f}" if "cost_sd" in r else ""
        gsd = f" ± {r['gap_pct_sd']:.2f}" if "gap_pct_sd" in r else ""
        extra = f" (actor {r['actor_ms']:.2f} + projection {r['proj_ms']:.2f})" if "actor_ms" in r else ""
        md.append(f"| {r['method']} | {r['cost']:,.0f}{sd} | {r['gap_pct']:.2f}{gsd} | {r['violation_kwh']:.2f} | "
                  f"{r['latency_ms']:.2f}{extra} | {r['cost_d15']:,.0f} / {r['gap_d15']:.2f} |")
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
    results.update(t4=t4_rows, costs=rows, oracle={str(k): v for k, v in opt.items()}, curves=curves)
    text = "\n".join(md)
    print(text)
    write_text(out / "tables.md", text + "\n")
    write_json(out / "results.json", results)  # strict JSON (NaN -> null), atomic
    pd.DataFrame(episodes_rows).to_csv(out / "episodes.csv", index=False)
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
