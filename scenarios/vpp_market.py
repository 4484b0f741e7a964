"""Scenario kind ``vpp_market``: the supply/load game of seed 000 (MADDPG, DROMARL, rule baseline, oracle).

``run(sc, folder)`` builds the game (:class:`learners.market_env.MarketEnv`), loads the shipped weights of
each learner (or trains it), evaluates every method on the same sampled days, solves the oracle of each
day (unit-commitment MILP, HiGHS), estimates the day-ahead high-price probabilities, runs the robustness
evaluation on shifted distributions and writes ``schedule.csv``, ``units.csv``,
``high_price_probability.csv``, ``learners.csv``, ``robustness.csv``, ``training_<learner>.csv`` and
``market_report.png`` (16 panels). ``docs/market.md`` explains every number.

Train and ship weights (the command recorded in ``docs/market.md``)::

    python -m scenarios.vpp_market train scenarios/supply_load_game.yaml --learner maddpg --episodes 400
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from grid.data import FUELS

__all__ = ["LearnerName", "VppMarketScenario", "load_scenario", "market_config", "run", "train_learner"]

LearnerName = Literal["maddpg", "dromarl"]
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "learners" / "weights"
_MODEL = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
Frac = Annotated[float, Field(ge=-1.0, le=1.0)]


class _Strict(BaseModel):
    model_config = _MODEL


class UnitSpec(_Strict):
    """One thermal unit; its technology gives cost, CO2, p_min, ramp (docs/grid.md §1.1) and UC data."""

    name: str = Field(min_length=1, max_length=64)
    technology: Literal[tuple(FUELS)]  # type: ignore[valid-type]
    p_max_mw: float = Field(gt=0.0, le=5000.0)


class LoadSpec(_Strict):
    """The VPP's load and its fluctuation model (docs/market.md §2.2)."""

    peak_load_mw: float = Field(600.0, gt=0.0, le=100_000.0)
    baseline_mw: list[Annotated[float, Field(ge=0.0, le=100_000.0)]] | None = None
    adj_frac: float = Field(0.4, gt=0.0, le=0.4, description="seed 000: +-40 % of the baseline")
    flexible_mw: list[Annotated[float, Field(ge=0.0, le=100_000.0)]] | None = None
    flex_lo_frac: list[Annotated[float, Field(ge=-0.4, le=0.0)]] | None = None
    flex_hi_frac: list[Annotated[float, Field(ge=0.0, le=0.4)]] | None = None
    inertia: float = Field(0.5, ge=0.0, le=0.95)
    elasticity: float = Field(-0.1, ge=-1.0, le=0.0)
    cooling_per_c: float = Field(0.02, ge=0.0, le=0.2)
    heating_per_c: float = Field(0.01, ge=0.0, le=0.2)
    cooling_base_c: float = Field(22.0, ge=-30.0, le=45.0)
    heating_base_c: float = Field(15.0, ge=-30.0, le=45.0)
    temp_error_sd_c: float = Field(1.5, ge=0.0, le=10.0)
    noise_sd: float = Field(0.03, ge=0.0, le=0.5)
    event_prob: float = Field(0.05, ge=0.0, le=1.0)
    event_mean: float = Field(0.10, ge=0.0, le=1.0)


class PenaltySpec(_Strict):
    """Penalties and the price cap ($/MWh; docs/market.md §3)."""

    shortage_per_mwh: float = Field(1000.0, ge=0.0, le=100_000.0)
    surplus_per_mwh: float = Field(200.0, ge=0.0, le=100_000.0)
    shift_per_mwh: float = Field(100.0, ge=0.0, le=100_000.0)
    price_cap_per_mwh: float = Field(1000.0, gt=0.0, le=100_000.0)
    nonperformance_per_mwh: float = Field(2000.0, ge=0.0, le=100_000.0,
                                          description="charge on offline capacity per MWh of shortage")


class ShiftSpec(_Strict):
    """A shifted load/weather distribution of the robustness table (docs/market.md §4)."""

    name: str = Field(min_length=1, max_length=40)
    mean_shift_frac: float = Field(0.0, ge=-0.5, le=0.5)
    variance_scale: float = Field(1.0, gt=0.0, le=10.0)
    heavy_tails: bool = False


def _default_shifts() -> list[ShiftSpec]:
    return [ShiftSpec(name="nominal"), ShiftSpec(name="mean +10 %", mean_shift_frac=0.10),
            ShiftSpec(name="variance x2", variance_scale=2.0), ShiftSpec(name="heavy tails", heavy_tails=True)]


class CouplingSpec(_Strict):
    """Play the game on IEEE case14 with seed 003's parks and hand the result down (docs/market.md §7)."""

    case: Literal["case14"] = "case14"
    parks_scenario: str = Field("three_parks_560", min_length=1, max_length=200)
    park_scale: float = Field(100.0, gt=0.0, le=100_000.0, description="multiplies the parks' loads on the grid")
    park_buses: list[Annotated[int, Field(ge=0, le=13)]] | None = None
    renewable_scale: float = Field(0.5, ge=0.0, le=10.0)


class TrainingSpec(_Strict):
    """Which learners run and how they get their weights."""

    learners: list[LearnerName] = Field(default_factory=lambda: ["maddpg", "dromarl"])
    use_shipped_weights: bool = True
    n_episodes: int = Field(400, ge=0, le=1_000_000)
    config: dict[str, dict[str, Any]] = Field(default_factory=dict, description="learner -> config overrides")

    @model_validator(mode="after")
    def _configs(self) -> TrainingSpec:
        from learners.maddpg_config import DROMARLConfig, MADDPGConfig

        for k, v in self.config.items():
            if k not in ("maddpg", "dromarl"):
                raise ValueError(f"config for unknown learner {k!r}")
            (MADDPGConfig if k == "maddpg" else DROMARLConfig).from_dict(v)
        return self


class EvaluationSpec(_Strict):
    """Evaluation budget."""

    n_days: int = Field(10, ge=1, le=10_000, description="sampled days for cost, gap and robustness")
    oracle_days: int = Field(10, ge=0, le=10_000, description="of those, days also solved by the oracle")
    n_price_scenarios: int = Field(100, ge=1, le=100_000)
    high_price_percentile: float = Field(75.0, gt=0.0, lt=100.0)
    shifts: list[ShiftSpec] = Field(default_factory=_default_shifts)


class VppMarketScenario(_Strict):
    """A supply/load game day (scenario kind ``vpp_market``)."""

    kind: Literal["vpp_market"] = "vpp_market"
    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    seed: int = Field(0, ge=0, le=2**31 - 1)
    day_of_year: int = Field(196, ge=1, le=365)
    n_periods: int = Field(12, ge=2, le=48)
    step_h: float = Field(2.0, gt=0.0, le=6.0)
    weather_file: Literal["12839.tm2", "723170TYA.CSV"] = "12839.tm2"
    units: list[UnitSpec] = Field(default_factory=list, max_length=200)
    coupling: CouplingSpec | None = None
    load: LoadSpec = Field(default_factory=LoadSpec)
    penalties: PenaltySpec = Field(default_factory=PenaltySpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    plots: bool = True

    @model_validator(mode="after")
    def _lengths(self) -> VppMarketScenario:
        for key in ("baseline_mw", "flexible_mw", "flex_lo_frac", "flex_hi_frac"):
            v = getattr(self.load, key)
            if v is not None and len(v) != self.n_periods:
                raise ValueError(f"load.{key} must have n_periods = {self.n_periods} values, got {len(v)}")
        if not self.units and self.coupling is None:
            raise ValueError("give units (or a coupling block, whose case supplies them)")
        if self.units and self.coupling is not None:
            raise ValueError("a coupled scenario takes its units from the case: leave units out")
        if self.coupling is not None and (self.n_periods, self.step_h) != (12, 2.0):
            raise ValueError("a coupled scenario plays 12 periods of 2 h (the parks run in 1-h steps)")
        if len({u.name for u in self.units}) != len(self.units):
            raise ValueError("unit names must be unique")
        if self.evaluation.oracle_days > self.evaluation.n_days:
            raise ValueError("evaluation.oracle_days cannot exceed evaluation.n_days")
        return self


def coupling_inputs(sc: VppMarketScenario) -> Any:
    """Units, baseline and flexible part of a coupled scenario (simulates the parks' uncontrolled day)."""
    from scenarios.vpp_market_case14 import game_inputs

    c = sc.coupling
    if c is None:
        return None
    return game_inputs(parks_scenario=c.parks_scenario, park_scale=c.park_scale, day_of_year=sc.day_of_year,
                       weather_file=sc.weather_file, renewable_scale=c.renewable_scale, step_h=sc.step_h)


def market_config(sc: VppMarketScenario, shift: ShiftSpec | None = None, inputs: Any = None) -> Any:
    """The :class:`learners.market_env.MarketConfig` of a scenario (optionally with a shift).

    For a coupled scenario, ``inputs`` (:func:`coupling_inputs`) supplies units, baseline and flexible part;
    it is computed when not given.
    """
    from grid.unit_commitment import CostWeights
    from learners.market_env import DistributionShift, MarketConfig

    ld, pen = sc.load, sc.penalties

    def tup(v: list[float] | None) -> tuple[float, ...] | None:
        return None if v is None else tuple(v)

    sh = DistributionShift() if shift is None else DistributionShift(shift.mean_shift_frac, shift.variance_scale,
                                                                      shift.heavy_tails)
    units, peak = tuple((u.name, u.technology, u.p_max_mw) for u in sc.units), ld.peak_load_mw
    baseline, flexible = tup(ld.baseline_mw), tup(ld.flexible_mw)
    if sc.coupling is not None:
        inputs = coupling_inputs(sc) if inputs is None else inputs
        units, peak = inputs.units, float(np.max(inputs.baseline_mw))
        baseline, flexible = tuple(map(float, inputs.baseline_mw)), tuple(map(float, inputs.flexible_mw))
    return MarketConfig(
        units=units, peak_load_mw=peak,
        n_periods=sc.n_periods, step_h=sc.step_h, day_of_year=sc.day_of_year, weather_file=sc.weather_file,
        baseline_mw=baseline, adj_frac=ld.adj_frac, flexible_mw=flexible, flex_lo_frac=tup(ld.flex_lo_frac),
        flex_hi_frac=tup(ld.flex_hi_frac), inertia=ld.inertia, elasticity=ld.elasticity,
        cooling_per_c=ld.cooling_per_c, heating_per_c=ld.heating_per_c, cooling_base_c=ld.cooling_base_c,
        heating_base_c=ld.heating_base_c, temp_error_sd_c=ld.temp_error_sd_c, noise_sd=ld.noise_sd,
        event_prob=ld.event_prob, event_mean=ld.event_mean, shift=sh,
        cost=CostWeights(pen.shortage_per_mwh, pen.surplus_per_mwh, pen.shift_per_mwh, pen.price_cap_per_mwh,
                         pen.nonperformance_per_mwh))


def _say(progress: Any, msg: str) -> None:
    if progress:
        (progress if callable(progress) else print)(msg)


def _learner(name: str, env: Any, sc: VppMarketScenario, n_episodes: int | None = None) -> Any:
    from learners.dromarl import DROMARLLearner
    from learners.maddpg import MADDPGLearner
    from learners.maddpg_config import DROMARLConfig, MADDPGConfig

    cls, cfg_cls = (MADDPGLearner, MADDPGConfig) if name == "maddpg" else (DROMARLLearner, DROMARLConfig)
    over = dict(sc.training.config.get(name, {}))
    over.setdefault("seed", sc.seed)
    over["n_episodes"] = sc.training.n_episodes if n_episodes is None else n_episodes
    return cls(env, cfg_cls.from_dict(over))


def weights_path(sc: VppMarketScenario, name: str) -> Path:
    """Where the shipped weights of learner ``name`` for this scenario live."""
    return WEIGHTS_DIR / f"{sc.name}_{name}.pt"


def train_learner(sc: VppMarketScenario, name: str, *, n_episodes: int | None = None,
                  checkpoint_dir: str | Path | None = None, weights: str | Path | None = None,
                  resume: bool = False, progress: Callable[[str], None] | None = None) -> Any:
    """Train learner ``name`` on the scenario's game; optionally export weights (+ a JSON of the history).

    Returns:
        The trained learner.
    """
    from learners.market_env import MarketEnv

    env = MarketEnv(market_config(sc))  # a coupled scenario simulates its parks' day here
    learner = _learner(name, env, sc, n_episodes)
    ck = Path(checkpoint_dir) / "checkpoint.pt" if checkpoint_dir else None
    if resume and ck is not None and ck.exists():
        learner.load(ck)
    t0 = time.perf_counter()
    learner.train(checkpoint_dir=checkpoint_dir, progress=progress)
    wall = time.perf_counter() - t0
    if weights:
        from learners.maddpg import save_weights

        save_weights(learner, weights, {"scenario": sc.name, "learner": name, "train_s": wall})
    return learner


def _obtain(name: str, env: Any, sc: VppMarketScenario, max_episodes: int | None, progress: Any
            ) -> tuple[Any, list[dict], float, int]:
    """A ready learner: shipped weights when allowed and present, else trained now."""
    wp = weights_path(sc, name)
    if sc.training.use_shipped_weights and wp.exists():
        learner = _learner(name, env, sc, 0)
        learner.load_weights(wp)
        meta_p = wp.with_suffix(".json")
        side = json.loads(meta_p.read_text()) if meta_p.exists() else {}
        _say(progress, f"{name}: shipped weights {wp.name}")
        return (learner, side.get("history", []), float(side.get("meta", {}).get("train_s", np.nan)),
                int(side.get("episodes", 0)))
    n = sc.training.n_episodes if max_episodes is None else min(sc.training.n_episodes, max_episodes)
    learner = _learner(name, env, sc, n)
    _say(progress, f"{name}: training {n} episodes")
    t0 = time.perf_counter()
    learner.train(progress=(lambda m: _say(progress, m)) if progress else None)
    return learner, learner.history, time.perf_counter() - t0, n


def _latency_ms(env: Any, policy: Any, n: int = 60) -> float:
    """Median wall time of one joint decision (ms), single torch thread."""
    from learners.batched_policy import intra_op_threads

    with intra_op_threads(1):
        obs, _ = env.reset(seed=0)
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            policy(obs)
            ts.append(time.perf_counter() - t0)
        return 1e3 * float(np.median(ts))


def run(sc: VppMarketScenario, folder: str | Path, *, progress: Callable[[str], None] | bool | None = None,
        max_steps: int | None = None) -> pd.DataFrame:
    """Play the scenario's game with every method and write the results folder (see module docstring).

    Args:
        sc: the scenario.
        folder: output folder (created).
        progress: callable receiving one-line messages, True (print) or None/False.
        max_steps: smoke runs: caps training episodes, evaluation days and price scenarios.

    Returns:
        The summary table (index = method: rule, maddpg, dromarl, oracle).
    """
    from learners.market_env import MarketEnv, RulePolicy, high_price_probability, price_threshold, rollout

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ev = sc.evaluation

    def cap(n: int) -> int:
        return n if max_steps is None else max(1, min(n, max_steps))

    inputs = coupling_inputs(sc)
    if inputs is not None:
        _say(progress, f"coupling: {sc.coupling.parks_scenario} uncontrolled day simulated")
    env = MarketEnv(market_config(sc, inputs=inputs))
    methods: dict[str, Any] = {"rule": RulePolicy(env)}
    train_info: dict[str, dict[str, Any]] = {"rule": {"training_episodes": 0, "training_time_s": 0.0}}
    histories: dict[str, list[dict]] = {}
    for name in sc.training.learners:
        learner, hist, wall, eps = _obtain(name, env, sc, max_steps, progress)
        methods[name] = learner
        histories[name] = hist
        train_info[name] = {"training_episodes": eps, "training_time_s": wall}
        if hist:
            pd.DataFrame(hist).to_csv(folder / f"training_{name}.csv", index=False)
    days = [sc.seed * 1_000_003 + 900_000 + i for i in range(cap(ev.n_days))]
    per_day: dict[str, list[dict]] = {m: [] for m in methods}
    for m, pol in methods.items():
        _say(progress, f"{m}: evaluating {len(days)} days")
        for d in days:
            r = rollout(env, pol, d)
            per_day[m].append({"day": d, "cost": r["cost"], "shortage_mwh": r["shortage_mwh"],
                               "surplus_mwh": r["surplus_mwh"], "return": r["return"],
                               "supply_profit": r["supply_profit"], "load_cost": r["load_cost"]})
    n_or = min(cap(ev.oracle_days), len(days)) if ev.oracle_days else 0
    oracle_rows, oracle_day0 = [], None
    for d in days[:n_or]:
        env.reset(seed=d)
        o = env.oracle()
        oracle_day0 = oracle_day0 or (d, o)
        oracle_rows.append({"day": d, "cost": o.cost["total"], "shortage_mwh": o.cost["shortage_mwh"],
                            "surplus_mwh": o.cost["surplus_mwh"], "return": np.nan, "supply_profit": np.nan,
                            "load_cost": np.nan})
    _say(progress, f"oracle: {n_or} days solved")
    rows = {}
    oc = pd.DataFrame(oracle_rows)
    for m, recs in per_day.items():
        df = pd.DataFrame(recs)
        row = {"cost_mean": df.cost.mean(), "cost_sd": df.cost.std(ddof=0), "shortage_mwh": df.shortage_mwh.mean(),
               "surplus_mwh": df.surplus_mwh.mean(), "return_mean": df["return"].mean(),
               "supply_profit": df.supply_profit.mean(), "load_cost": df.load_cost.mean()}
        if n_or:
            row["gap_to_oracle_pct"] = 100 * (df.cost[:n_or].mean() / oc.cost.mean() - 1)
        row.update(train_info[m])
        row["decision_latency_ms"] = _latency_ms(env, methods[m])
        rows[m] = row
    if n_or:
        rows["oracle"] = {"cost_mean": oc.cost.mean(), "cost_sd": oc.cost.std(ddof=0),
                          "shortage_mwh": oc.shortage_mwh.mean(), "surplus_mwh": oc.surplus_mwh.mean(),
                          "gap_to_oracle_pct": 0.0, "training_episodes": 0, "training_time_s": 0.0}
    summary = pd.DataFrame(rows).T
    summary.index.name = "method"
    summary.to_csv(folder / "learners.csv")
    # schedule and units of one representative day (the first evaluation day)
    sched, units_rows = [], []
    d0 = days[0]
    for m, pol in methods.items():
        r = rollout(env, pol, d0)
        for h in env.history:
            sched.append({"method": m, "period": h["period"], "baseline_mw": h["baseline_mw"],
                          "uncontrolled_mw": h["uncontrolled_mw"], "command_mw": h["command_mw"],
                          "realised_adjustment_mw": h["realised_mw"], "demand_mw": h["demand_mw"],
                          "supply_mw": float(h["p_mw"].sum()), "price_per_mwh": h["price_per_mwh"],
                          "shortage_mw": h["shortage_mw"], "surplus_mw": h["surplus_mw"], "cost": h["period_cost"],
                          "temp_c": h["temp_c"]})
            for g, u in enumerate(env.units):
                units_rows.append({"method": m, "period": h["period"], "unit": u.name, "technology": u.tech,
                                   "on": bool(h["on"][g]), "p_mw": float(h["p_mw"][g]), "markup": float(h["markup"][g])})
    if oracle_day0 is not None and oracle_day0[0] == d0:
        o = oracle_day0[1]
        for t in range(env.T):
            sched.append({"method": "oracle", "period": t, "baseline_mw": env.baseline[t],
                          "uncontrolled_mw": o.load_mw[t] - o.adjustment_mw[t], "command_mw": o.command_mw[t],
                          "realised_adjustment_mw": o.adjustment_mw[t], "demand_mw": o.load_mw[t],
                          "supply_mw": float(o.p_mw[t].sum()), "price_per_mwh": o.price_per_mwh[t],
                          "shortage_mw": o.shortage_mw[t], "surplus_mw": o.surplus_mw[t], "cost": np.nan,
                          "temp_c": np.nan})
            for g, u in enumerate(env.units):
                units_rows.append({"method": "oracle", "period": t, "unit": u.name, "technology": u.tech,
                                   "on": bool(o.on[t, g]), "p_mw": float(o.p_mw[t, g]), "markup": 0.0})
    schedule, units = pd.DataFrame(sched), pd.DataFrame(units_rows)
    schedule.to_csv(folder / "schedule.csv", index=False)
    units.to_csv(folder / "units.csv", index=False)
    # day-ahead high-price probabilities
    thr = price_threshold(env, ev.high_price_percentile)
    hp = {"period": np.arange(env.T), "threshold_per_mwh": np.full(env.T, thr)}
    for m, pol in methods.items():
        _say(progress, f"{m}: high-price probability over {cap(ev.n_price_scenarios)} days")
        prob, _ = high_price_probability(env, pol, n_scenarios=cap(ev.n_price_scenarios), threshold=thr,
                                         seed=sc.seed * 1_000_003 + 500_000)
        hp[m] = prob
    hp_df = pd.DataFrame(hp)
    hp_df.to_csv(folder / "high_price_probability.csv", index=False)
    # robustness on shifted distributions
    rob = []
    for shift in ev.shifts:
        senv = MarketEnv(market_config(sc, shift, inputs))
        for m, pol in methods.items():
            if hasattr(pol, "env"):
                pol.env = senv  # policies read the global state / forecasts of the env they act in
            costs = [rollout(senv, pol, d) for d in days]
            rob.append({"shift": shift.name, "method": m, "cost_mean": float(np.mean([c["cost"] for c in costs])),
                        "shortage_mwh": float(np.mean([c["shortage_mwh"] for c in costs])),
                        "surplus_mwh": float(np.mean([c["surplus_mwh"] for c in costs]))})
            if hasattr(pol, "env"):
                pol.env = env
    rob_df = pd.DataFrame(rob)
    rob_df.to_csv(folder / "robustness.csv", index=False)
    if inputs is not None:
        _couple(sc, inputs, schedule, summary, folder, progress)
    from aggregation.io import write_json

    write_json(folder / "summary.json", summary.reset_index().to_dict(orient="records"))  # strict JSON: NaN -> null
    if sc.plots:
        from scenarios.vpp_market_plots import market_report

        inertia = {m: [h.get("inertia", np.nan) for h in hist] for m, hist in histories.items()}
        market_report(folder / "market_report.png", histories=histories, summary=summary, schedule=schedule,
                      units=units, high_price=hp_df, robustness=rob_df, inertia=inertia,
                      true_inertia=sc.load.inertia)
    return summary


def _couple(sc: VppMarketScenario, inputs: Any, schedule: pd.DataFrame, summary: pd.DataFrame, folder: Path,
            progress: Any) -> None:
    """Hand the best learner's day down to the parks, re-dispatch case14 with the AC check, write tables."""
    from grid.data import DEFAULT_PARK_BUSES
    from scenarios.vpp_market_case14 import hand_down, redispatch

    c = sc.coupling
    learned = [m for m in sc.training.learners if m in summary.index]
    best = min(learned, key=lambda m: summary.loc[m, "cost_mean"]) if learned else "rule"
    adj = schedule[schedule.method == best].sort_values("period").realised_adjustment_mw.to_numpy()
    _say(progress, f"coupling: handing {best}'s adjustments to the hierarchy (target seam)")
    table, net = hand_down(adj, inputs, parks_scenario=c.parks_scenario, park_scale=c.park_scale, step_h=sc.step_h)
    table.insert(0, "method", best)
    table.to_csv(folder / "case14_targets.csv", index=False)
    buses = c.park_buses or list(DEFAULT_PARK_BUSES["case14"][: len(inputs.park_names)])
    kw = dict(park_buses=buses, park_scale=c.park_scale, day_of_year=sc.day_of_year, weather_file=sc.weather_file,
              renewable_scale=c.renewable_scale)
    _say(progress, "coupling: re-dispatching case14 (DC LP + AC check)")
    rows = {"uncontrolled": redispatch(inputs.park_net_kw, **kw), f"{best} via hierarchy": redispatch(net, **kw)}
    pd.DataFrame(rows).T.rename_axis("day").to_csv(folder / "case14_dispatch.csv")
    if sc.plots:
        import matplotlib.pyplot as plt

        per_h = table.groupby("hour")[["planned_adjustment_mw", "realised_adjustment_mw"]].sum()
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.step(per_h.index, per_h.planned_adjustment_mw, where="post", label="planned (game)")
        ax.step(per_h.index, per_h.realised_adjustment_mw, where="post", label="realised (hierarchy)")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("hour")
        ax.set_ylabel("VPP adjustment (MW, scaled)")
        ax.set_title(f"{sc.name}: planned vs realised adjustment ({best})", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(folder / "case14_handdown.png", dpi=80)
        plt.close(fig)


def load_scenario(path: str | Path) -> VppMarketScenario:
    """Read and validate a ``vpp_market`` scenario YAML file."""
    from scenarios.yamlsafe import read_scenario_yaml

    return VppMarketScenario.model_validate(read_scenario_yaml(path))


def main(argv: list[str] | None = None) -> None:
    """``python -m scenarios.vpp_market {train,run} SCENARIO.yaml ...`` (until the CLI registers the kind)."""
    ap = argparse.ArgumentParser(prog="python -m scenarios.vpp_market")
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train a learner and write its weights")
    tr.add_argument("scenario")
    tr.add_argument("--learner", choices=["maddpg", "dromarl"], required=True)
    tr.add_argument("--episodes", type=int)
    tr.add_argument("--checkpoint-dir")
    tr.add_argument("--resume", action="store_true")
    tr.add_argument("--weights", help="default: learners/weights/<scenario>_<learner>.pt")
    rn = sub.add_parser("run", help="run the scenario into a folder")
    rn.add_argument("scenario")
    rn.add_argument("folder")
    rn.add_argument("--max-steps", type=int)
    a = ap.parse_args(argv)
    sc = load_scenario(a.scenario)
    if a.cmd == "train":
        w = a.weights or weights_path(sc, a.learner)
        train_learner(sc, a.learner, n_episodes=a.episodes, checkpoint_dir=a.checkpoint_dir, weights=w,
                      resume=a.resume, progress=print)
        print(f"weights: {w}")
    else:
        print(run(sc, a.folder, progress=print, max_steps=a.max_steps).to_string(float_format=lambda v: f"{v:,.4g}"))


if __name__ == "__main__":
    main()
