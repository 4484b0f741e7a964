"""Centralised (MIP) and distributed (Lagrangian) baselines on the shared period problem."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import learners.registry as methods
from aggregation.coalitions import build_table
from aggregation.policy import GreedyFitnessPolicy, RulePolicy
from learners.baselines import (
    LagrangianDecider,
    MIPDecider,
    PeriodTable,
    evaluate,
    solve_mip,
)
from learners.baselines.common import COMFORT_GUARD_C
from learners.baselines.lagrangian import best_response, unit_weights
from learners.baselines.mip import unit_classes

EXACT = {"mip_rel_gap": 1e-9, "mip_abs_gap_kw": 1e-9}


def random_problem(rng: np.random.Generator, n: int, n_parks: int, n_actions: int = 5) -> PeriodTable:
    cand = np.round(rng.uniform(0.0, 3.0, (n, n_actions)), 3)
    avail = rng.random((n, n_actions)) < 0.6
    avail[np.arange(n), rng.integers(0, n_actions, n)] = True
    return PeriodTable.from_arrays(
        cand, avail, rng.uniform(0.0, 3.0, n), np.full(n, 3.0), g=float(rng.uniform(-0.3, 0.3)),
        park=rng.integers(0, n_parks, n), n_parks=n_parks,
    )


def brute_force(problem: PeriodTable) -> float:
    choices = [np.flatnonzero(row) for row in problem.avail]
    return min(problem.residual_kw(np.array(a)) for a in itertools.product(*choices))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("formulation", ["naive", "aggregated"])
def test_mip_equals_brute_force(seed: int, formulation: str) -> None:
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, n=int(rng.integers(1, 7)), n_parks=int(rng.integers(1, 3)))
    act, info = solve_mip(problem, formulation, **EXACT)
    assert info["optimal"]
    assert problem.avail[np.arange(problem.n), act].all()
    assert problem.residual_kw(act) == pytest.approx(brute_force(problem), abs=1e-7)


def test_aggregated_equals_naive_with_repeated_classes() -> None:
    rng = np.random.default_rng(7)
    proto = random_problem(rng, n=6, n_parks=2)
    pick = rng.integers(0, 6, 60)  # 60 units drawn from 6 prototypes: at most 6 classes
    problem = PeriodTable.from_arrays(
        proto.cand_kw[pick], proto.avail[pick], proto.prev_kw[pick], proto.p_max_kw[pick], g=proto.g,
        park=proto.park[pick], n_parks=2,
    )
    classes = unit_classes(problem)
    assert classes.n_classes == len(np.unique(pick))
    assert classes.size.sum() == problem.n
    a_naive, i_naive = solve_mip(problem, "naive", **EXACT)
    a_agg, i_agg = solve_mip(problem, "aggregated", **EXACT)
    assert i_naive["optimal"] and i_agg["optimal"]
    assert i_naive["n_classes"] == 60 and i_agg["n_classes"] == classes.n_classes
    assert problem.avail[np.arange(problem.n), a_agg].all()
    assert problem.residual_kw(a_agg) == pytest.approx(problem.residual_kw(a_naive), abs=1e-6)


def test_auto_formulation_by_size() -> None:
    rng = np.random.default_rng(3)
    problem = random_problem(rng, n=8, n_parks=1)
    assert solve_mip(problem, naive_max_units=10)[1]["formulation"] == "naive"
    assert solve_mip(problem, naive_max_units=5)[1]["formulation"] == "aggregated"
    with pytest.raises(ValueError):
        solve_mip(problem, "dense")  # type: ignore[arg-type]


def test_lagrangian_finds_known_optimal_price() -> None:
    # 20 identical two-level units (0 or 1 kW), usual 0: unit i switches on iff lambda < -w_i / 2.
    n, k = 20, 7
    problem = PeriodTable.from_arrays(
        np.tile([0.0, 1.0], (n, 1)), np.ones((n, 2), bool), np.zeros(n), np.ones(n), g=k / n,
        usual=np.zeros(n, np.int64),
    )
    assert problem.group_target_kw[0] == pytest.approx(k)
    dec = LagrangianDecider(epsilon_kw=0.1).decide(problem)
    assert dec.converged and dec.residual_kw == pytest.approx(0.0, abs=1e-9)
    thresholds = np.sort(-unit_weights(n) / 2.0)[::-1]  # on when lambda < threshold
    lam = dec.info["prices"][0]
    assert thresholds[k] <= lam < thresholds[k - 1]  # exactly k units on
    assert (best_response(problem, np.array([lam])) == 1).sum() == k


def test_lagrangian_response_is_not_bang_bang() -> None:
    # With the proximal spread, the park load moves in unit steps as the price sweeps.
    n = 50
    problem = PeriodTable.from_arrays(
        np.tile([0.0, 1.0], (n, 1)), np.ones((n, 2), bool), np.zeros(n), np.ones(n), g=0.0,
        usual=np.zeros(n, np.int64),
    )
    loads = [problem.park_load_kw(best_response(problem, np.array([lam])))[0] for lam in np.linspace(0, -0.8, 400)]
    assert np.all(np.diff(loads) >= 0) and np.max(np.diff(loads)) <= 2.0 and loads[-1] == n


def test_forced_and_single_action_units_are_respected() -> None:
    rng = np.random.default_rng(11)
    n = 30
    cand = np.tile([0.0, 3.5, 7.0], (n, 1))  # EV-like ladder
    avail = np.ones((n, 3), bool)
    forced = rng.random(n) < 0.4
    avail[forced, :2] = False  # forced charging: only full power
    g = -0.5  # target far below the usual load: every method wants to shed
    problem = PeriodTable.from_arrays(cand, avail, np.full(n, 7.0), np.full(n, 7.0), g=g,
                                        usual=np.full(n, 2, np.int64))
    for act in (solve_mip(problem, **EXACT)[0], problem.join(LagrangianDecider().decide(problem).actions)):
        assert problem.avail[np.arange(n), act].all()
        assert (act[forced] == 2).all()


@pytest.fixture(scope="module")
def small_model():
    from benchmarks.table2 import quantised_scenario
    from scenarios.runner import build_model

    sc = quantised_scenario(56, levels=4)
    model = build_model(sc, RulePolicy(), handles=False)
    model.run(10)
    return sc, model


def test_target_is_the_organisers_coalition_target(small_model) -> None:
    _, model = small_model
    views = model.views(model.context(10))
    table = build_table(views)
    per_unit = table.target_kw(table.prev_kw, table.p_max_kw)
    np.testing.assert_allclose(table.group_target_kw, np.bincount(table.park, weights=per_unit, minlength=table.n_parks))


def test_methods_on_a_real_period(small_model) -> None:
    sc, model = small_model
    ctx = model.context(10)
    # The deciders apply the self-organiser's comfort rule by default; score against the same problem.
    problem = build_table(model.views(ctx), COMFORT_GUARD_C)
    usual = problem.residual_kw(problem.usual)
    kw = {"mip": {"node_limit": 2000, "time_limit_s": 60.0}, "lagrangian": {}}
    results = {}
    for name in ("mip", "lagrangian"):
        first = methods.make_decider(name, kw[name])
        second = {"mip": MIPDecider, "lagrangian": LagrangianDecider}[name](**kw[name])
        views = model.views(ctx)
        acts = first(views, GreedyFitnessPolicy())
        again = second(model.views(ctx), GreedyFitnessPolicy())
        for kind, view in views.items():
            assert view.avail[np.arange(view.n), acts[kind]].all()
            np.testing.assert_array_equal(acts[kind], again[kind])  # deterministic
        assert first.last.residual_kw == pytest.approx(evaluate(views, acts))
        results[name] = first.last
    mip = results["mip"]
    assert mip.info["formulation"] == "naive"  # auto: small population
    assert mip.info["dual_bound_kw"] <= mip.residual_kw + 1e-6
    assert mip.residual_kw <= results["lagrangian"].residual_kw + 1e-6
    assert results["lagrangian"].residual_kw < usual
    # The forced aggregated formulation: fewer variables, same optimum within the proven gaps.
    agg = MIPDecider("aggregated", node_limit=2000).decide(problem)
    assert agg.info["n_classes"] < problem.n
    assert abs(agg.residual_kw - mip.residual_kw) <= max(agg.info["gap_kw"], mip.info["gap_kw"]) + 1e-6


def test_evaluate_sanitises_like_the_model() -> None:
    problem = PeriodTable.from_arrays(
        [[0.0, 1.0], [0.0, 2.0]], [[True, True], [True, False]], [0.0, 0.0], [1.0, 2.0], g=0.0, usual=[0, 0]
    )
    assert problem.residual_kw(problem.sanitize(np.array([1, 1]))) == pytest.approx(1.0)  # unit 1 falls back to 0


def test_quantisation_is_opt_in() -> None:
    from aggregation.kinds.ac import ACSpec
    from aggregation.kinds.ac import draw_ac as _draw_ac
    from aggregation.kinds.ev import EVSpec
    from aggregation.kinds.ev import draw_ev as _draw_ev

    plain = _draw_ac(ACSpec(count=200), 0, 200, np.random.default_rng(1))
    same = _draw_ac(ACSpec(count=200, parameter_levels=None), 0, 200, np.random.default_rng(1))
    q = _draw_ac(ACSpec(count=200, parameter_levels=4), 0, 200, np.random.default_rng(1))
    np.testing.assert_array_equal(plain["r_c_per_kw"], same["r_c_per_kw"])
    assert len(np.unique(plain["r_c_per_kw"])) == 200
    assert len(np.unique(q["r_c_per_kw"])) <= 4 and len(np.unique(q["cop"])) <= 4
    np.testing.assert_array_equal(plain["t_in_c"], q["t_in_c"])  # same random stream
    ev = _draw_ev(EVSpec(count=50, parameter_levels=3), 0, 50, 2, np.random.default_rng(2))
    assert len(np.unique(ev["e_need_kwh"])) <= 3
    with pytest.raises(ValueError):
        methods.make_decider("simplex")
