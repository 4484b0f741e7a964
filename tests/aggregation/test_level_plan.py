"""Rule 4's day-ahead level plan respects the organiser's comfort guard and holds at night (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest

from aggregation.coalitions import PeriodTable, Targets
from aggregation.dayahead_bound import bound_inputs, simulate
from aggregation.indices import shape_distance
from aggregation.level_fitness import PLAN_GAMMA, guard_replay, guarded_plan

pytest.importorskip("highspy")

GUARD_C = 0.5  # AggregationSpec.comfort_guard_c's default
# Share of the day-ahead bound's improvement at 56 DERs (measured 2026-11-30: 1.18 with the guarded
# plan, the plan's gamma and start actions; 0.93 with the earlier plan, which asked for sheds the guard refuses and
# was ignored where gamma_t = 0). Above 1: the bound is a best-found reference (docs/aggregation.md).
SHARE_FLOOR_56 = 1.05


@pytest.fixture(scope="module")
def scenario():
    from scenarios.schema import load

    return load("three_parks_560_levels").model_copy(update={"scale": 0.1})  # ~56 DERs


@pytest.fixture(scope="module")
def inputs(scenario):
    from scenarios.build import build_model

    return bound_inputs(build_model(scenario, handles=False))


def test_guard_replay_raises_exactly_the_refused_sheds(inputs):
    plan = inputs.ac_lo.copy()  # every unit as low as its modes allow: the guard must refuse some
    real, refused = guard_replay(inputs, plan, GUARD_C)
    assert refused.any()
    np.testing.assert_allclose(real[refused], inputs.ac_usual_kw[refused])
    np.testing.assert_array_equal(real[~refused], plan[~refused])
    # Each refusal is a guarded unit on the replayed trajectory: temperature at the period's start
    # within the guard of the top of its band.
    temps = simulate(inputs, real, inputs.unc_ev_kw * inputs.dt_h)["t_in_c"]
    start = np.concatenate([inputs.ac_t0[:, None], temps[:, :-1]], axis=1)
    assert (start[refused] >= (inputs.ac_high[:, None] - GUARD_C - 1e-4).repeat(plan.shape[1], 1)[refused]).all()
    # Without a guard nothing is refused.
    assert not guard_replay(inputs, plan, 0.0)[1].any()


def test_guarded_plan_asks_no_shed_the_guard_refuses(inputs):
    sol, ac_kw, _ = guarded_plan(inputs, "net", guard_c=GUARD_C)
    again, refused = guard_replay(inputs, ac_kw, GUARD_C)
    assert not refused.any()  # the installed plan is realisable under the guard
    np.testing.assert_allclose(again, ac_kw)
    assert (ac_kw >= inputs.ac_lo - 1e-6).all() and (ac_kw <= inputs.ac_hi + 1e-6).all()
    rep = simulate(inputs, ac_kw, sol.ev_kwh)
    assert rep["comfort_mean_c"] <= inputs.unc_comfort_c.mean() + 1e-5
    assert rep["ev_short_kwh"] <= 1e-4
    load = inputs.fixed_kw + ac_kw.sum(axis=0) + sol.ev_kwh.sum(axis=0) / inputs.dt_h
    assert sol.score == pytest.approx(shape_distance(load, inputs.eta))
    assert sol.score < shape_distance(inputs.unc_net_kw, inputs.eta)


def test_plan_gamma_replaces_a_zero_gamma():
    # gamma_t = 0 (a windless night): every fitness is 0 and no rule can hold; the plan's weight applies.
    cand = np.tile([0.0, 1.0, 2.0], (2, 1))
    t0 = PeriodTable.from_arrays(cand, np.ones((2, 3), bool), [1.0, 1.0], [2.0, 2.0], g=0.0, gamma=0.0,
                                 targets=Targets(der_kw=np.array([0.0, 2.0])))
    t1 = PeriodTable.from_arrays(cand, np.ones((2, 3), bool), [1.0, 1.0], [2.0, 2.0], g=0.0, gamma=0.0,
                                 targets=Targets(der_kw=np.array([0.0, 2.0]), gamma=PLAN_GAMMA))
    assert t0.gamma == 0.0 and t1.gamma == PLAN_GAMMA
    load, target, p_max = np.array([1.0]), np.array([1.5]), np.array([2.0])
    assert t0.fitness_to(load, target, p_max)[0] == 0.0 < t1.fitness_to(load, target, p_max)[0]


def test_level_tracking_follows_the_plan_at_night_and_reaches_the_bound(scenario):
    """End to end at 56 DERs: the organiser meets the plan where gamma_t = 0, and the realised
    whole-park distance keeps a measured share of the day-ahead bound's improvement."""
    from aggregation.dayahead_bound import dayahead_bound
    from aggregation.level_fitness import install_level_targets
    from scenarios.build import build_model, controlled_for

    policy, decider = controlled_for(scenario)
    model = build_model(scenario, policy, decider, handles=False)
    assert install_level_targets(model, scenario.aggregation)
    model.run(model.n_steps)
    sysdf = model.system_series()
    flex = model.flexible_kw(sysdf).to_numpy(float)
    plan = model.vpp_targets_kw.sum(axis=0)
    night = np.asarray(sysdf["gamma"], float) == 0.0
    if night.any():  # the plan holds where Eq. 5's weight is 0
        assert np.abs(flex[night] - plan[night]).max() <= 0.05 * max(plan[night].max(), 1.0)
    bound = dayahead_bound(model)
    unc, best = bound["bound_uncontrolled_distance"], bound["bound_tracking_distance"]
    d = shape_distance(sysdf["net_kw"].to_numpy(float), model.eta_gi[: model.n_steps])
    share = (unc - d) / (unc - best)
    assert share >= SHARE_FLOOR_56, share
    assert model.summary()["comfort_violation_mean_c"] <= bound["bound_uncontrolled_comfort_c"] + 1e-6



def test_plan_start_policy_picks_the_allowed_action_closest_to_the_plan():
    from types import SimpleNamespace

    from aggregation.level_fitness import PlanStartPolicy

    base = SimpleNamespace(act=lambda view: np.zeros(view.n, np.int64), state_dict=lambda: {"w": 1})
    der = np.array([[1.0, 0.2], [0.9, 0.9], [3.0, 3.0]])  # two ACs then one EV, two periods
    avail = np.array([[True, True, True], [True, True, False]])  # unit 1: its 1.0 kW step is guarded away
    ac_view = SimpleNamespace(kind="ac", n=2, ctx=SimpleNamespace(step=0), candidate_p_kw=np.tile([0.0, 0.5, 1.0], (2, 1)),
                              comfort_avail=lambda guard_c: avail)
    pol = PlanStartPolicy(base, der, {"ac": 0, "ev": 2}, 0.5)
    np.testing.assert_array_equal(pol.act(ac_view), [2, 1])
    ac_view.ctx = SimpleNamespace(step=1)
    np.testing.assert_array_equal(pol.act(ac_view), [0, 1])
    ev_view = SimpleNamespace(kind="ev", n=1, ctx=SimpleNamespace(step=5), candidate_p_kw=np.array([[0.0, 3.5, 7.0]]),
                              comfort_avail=lambda guard_c: np.ones((1, 3), bool))
    np.testing.assert_array_equal(pol.act(ev_view), [1])  # the last period's plan beyond the horizon
    other = SimpleNamespace(kind="battery", n=3)
    np.testing.assert_array_equal(pol.act(other), [0, 0, 0])  # kinds without a plan: the base policy
    assert pol.state_dict() == {"w": 1}  # checkpoints keep the base policy's state


def test_plan_is_a_feasible_point_reported_beside_the_bound(scenario, tmp_path):
    """The plan's programme load is feasible for the bound's programme, so write_comparison
    reports the best known point (min of the two) and the share of it, never above the share
    of the bound's scale-search figure."""
    from aggregation.level_fitness import install_level_targets
    from aggregation.outputs import write_comparison
    from scenarios.build import build_model, controlled_for

    base = build_model(scenario, handles=False)
    base.run(base.n_steps)
    policy, decider = controlled_for(scenario)
    model = build_model(scenario, policy, decider, handles=False)
    assert install_level_targets(model, scenario.aggregation)
    assert np.isfinite(model.level_plan_distance)
    model.run(model.n_steps)
    fig = write_comparison(base, model, tmp_path, previous_days=1, plots=False)
    assert fig["level_plan_tracking_distance"] == model.level_plan_distance
    assert fig["best_known_tracking_distance"] == min(fig["bound_tracking_distance"], model.level_plan_distance)
    assert fig["share_of_best_known_pct"] <= fig["share_of_bound_pct"] + 1e-9
    assert fig["share_of_best_known_pct"] > 0
