"""The self-organiser: splits, convergence (Eq. 13), joint actions, proposals, invariants, determinism."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from aggregation.coalitions import PeriodTable, compact_labels, improve_joint, propose_groups
from aggregation.hierarchy import ConvergenceMonitor, SelfOrganiser, make_decider
from aggregation.outputs import hierarchy_graph
from aggregation.policy import GreedyFitnessPolicy
from aggregation.specs import AggregationSpec

# ------------------------------------------------------------------ split after an index change


def test_coalition_splits_when_the_index_moves(table_of, closest_actions, organiser):
    org = organiser("rule3", levels=2)
    # Period 0, flat index (g = 0): A is stuck 0.2 kW above its target, B 0.2 kW below: they merge.
    t0 = table_of([[1.2, 1.5], [0.5, 0.8]], prev_kw=[1.0, 1.0], g=0.0, step=0)
    r0 = org.organise(t0, closest_actions(t0))
    assert org.labels[0][0] == org.labels[0][1] and r0.merges == 1
    # Period 1: renewables fall (g = -0.5), both targets drop by 0.5 kW. Neither can shed
    # enough, so the residuals no longer cancel: the coalition (e^-0.35 = 0.705) is worse
    # than its members' mean (0.713) and Rule 3 fails.
    loads = t0.power_kw(r0.actions)
    t1 = table_of([[1.2, 1.5], [0.5, 0.8]], prev_kw=loads, g=-0.5, step=1)
    r1 = org.organise(t1, closest_actions(t1))
    assert org.labels[0][0] != org.labels[0][1]
    assert r1.splits >= 1
    # Back to a flat index: they find each other again.
    t2 = table_of([[1.2, 1.5], [0.5, 0.8]], prev_kw=[1.0, 1.0], g=0.0, step=2)
    org.organise(t2, closest_actions(t2))
    assert org.labels[0][0] == org.labels[0][1]


def test_split_members_leave_the_levels_above(table_of, closest_actions, organiser):
    org = organiser("rule3", levels=3)
    t0 = table_of([[1.2, 1.5], [0.5, 0.8]], prev_kw=[1.0, 1.0])
    org.organise(t0, closest_actions(t0))
    t1 = table_of([[1.2, 1.5], [0.5, 0.8]], prev_kw=[1.2, 0.8], g=-0.5, step=1)
    org.organise(t1, closest_actions(t1))
    for lab in org.labels:  # no level keeps the two DERs together
        assert lab[0] != lab[1]


# ------------------------------------------------------------------ convergence (Eq. 13)


def test_monitor_exact_epsilon_boundary_is_stable():
    m = ConvergenceMonitor(epsilon_kw=0.5, h_m=1, max_iterations=10, initial_kw=[0.0])
    assert m.update([0.5]) and m.converged and m.iterations == 1
    m = ConvergenceMonitor(epsilon_kw=0.5, h_m=1, max_iterations=10, initial_kw=[0.0])
    assert not m.update([0.5000001]) and not m.converged


def test_monitor_sums_changes_over_parks_and_needs_consecutive_stable_iterations():
    m = ConvergenceMonitor(epsilon_kw=0.5, h_m=2, max_iterations=10, initial_kw=[0.0, 0.0])
    assert not m.update([0.25, -0.25])  # |0.25| + |-0.25| = 0.5: stable (1 of 2)
    assert not m.update([0.25, 0.5])  # change 0.75: the run of stable iterations restarts
    assert not m.update([0.25, 0.5])  # stable 1
    assert m.update([0.25, 0.5]) and m.converged and m.iterations == 4
    assert m.deltas_kw == pytest.approx([0.5, 0.75, 0.0, 0.0])
    with pytest.raises(RuntimeError):
        m.update([0.0, 0.0])


def test_monitor_never_converging_stops_at_max_iterations():
    m = ConvergenceMonitor(epsilon_kw=0.5, h_m=2, max_iterations=5, initial_kw=0.0)
    loads = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    stops = [m.update(x) for x in loads[:5]]
    assert stops == [False, False, False, False, True]
    assert not m.converged and m.iterations == 5


def test_organiser_h_m_one_converges_at_the_first_quiet_iteration(table_of, closest_actions, organiser):
    org = organiser("rule3", h_m=1)
    t = table_of([[1.2, 1.5], [0.5, 0.8]], prev_kw=[1.0, 1.0])
    r = org.organise(t, closest_actions(t))
    # The pair merges without moving anyone: the load does not change, iteration 1 is stable.
    assert r.converged and r.iterations == 1 and r.deltas_kw == [0.0]


def test_organiser_reports_when_it_does_not_converge(table_of, closest_actions, organiser):
    org = organiser("rule3", h_m=5, max_iterations=3)
    t = table_of([[1.2, 1.5], [0.5, 0.8]], prev_kw=[1.0, 1.0])
    r = org.organise(t, closest_actions(t))
    assert not r.converged and r.iterations == 3
    org.record(t, r)
    assert org.periods[-1]["converged"] is False and org.periods[-1]["iterations"] == 3


def test_organiser_counts_load_changes_of_joint_moves(table_of, closest_actions, organiser):
    # A sheds 0.4 kW for the coalition: iteration 1 changes the VPP load by exactly 0.4 kW.
    org = organiser("rule3", epsilon_cvg_kw=0.39, h_m=2)
    t = table_of([[0.6, 1.0], [0.9]], prev_kw=[1.0, 0.5])
    r = org.organise(t, closest_actions(t))
    assert r.deltas_kw[0] == pytest.approx(0.4, abs=1e-6)
    assert r.converged and r.iterations == 3 and r.deltas_kw[1:] == [0.0, 0.0]


# ------------------------------------------------------------------ joint actions and proposals


def _random_table(rng, n, n_parks=2, g=0.1):
    cand = np.sort(rng.uniform(0.0, 3.0, (n, 5)), axis=1).astype(np.float32)
    avail = rng.random((n, 5)) < 0.7
    avail[np.arange(n), rng.integers(0, 5, n)] = True
    prev = rng.uniform(0.0, 3.0, n)
    return PeriodTable.from_arrays(cand, avail, prev, np.full(n, 3.0), g=g, gamma=0.8,
                                   park=rng.integers(0, n_parks, n), no_shed=rng.random(n) < 0.2)


@pytest.mark.parametrize("seed", range(5))
def test_joint_improvement_never_increases_any_residual_and_keeps_actions_available(seed):
    rng = np.random.default_rng(seed)
    t = _random_table(rng, 400)
    act = np.array([rng.choice(np.flatnonzero(row)) for row in t.avail], np.int8)
    coal = np.where(rng.random(400) < 0.8, rng.integers(0, 60, 400), -1)
    p = t.power_kw(act)
    sel = coal >= 0
    load = np.bincount(coal[sel], weights=p[sel], minlength=60)
    pmax = np.bincount(coal[sel], weights=t.p_max_kw[sel], minlength=60)
    prev = np.bincount(coal[sel], weights=t.prev_kw[sel], minlength=60)
    target = t.target_kw(prev, pmax)
    mv = improve_joint(t, act, p, coal, load, target, rng.random(400), passes=4)
    new = act.copy()
    new[mv.rows] = mv.action
    p_new = t.power_kw(new)
    load_new = np.bincount(coal[sel], weights=p_new[sel], minlength=60)
    np.testing.assert_allclose(mv.load_kw, load_new, atol=1e-9)
    assert (np.abs(target - load_new) <= np.abs(target - load) + 1e-9).all()
    assert (np.abs(target - load_new) < np.abs(target - load) - 1e-9).any()  # it does something
    assert t.avail[np.arange(400), new].all()
    assert (new[coal < 0] == act[coal < 0]).all()  # outsiders never move
    # Guarded units may shed back toward their usual power for a coalition, never below it
    # (the comfort rule every method obeys; issue 11).
    floor = t.power_kw(t.usual)
    shed = (p_new < p - 1e-9) & t.no_shed
    assert (p_new[shed] >= floor[shed] - 1e-6).all()


def test_proposals_stay_in_parks_respect_group_size_and_pair_opposite_residuals():
    rng = np.random.default_rng(3)
    park = np.repeat([0, 1, 2], 50)
    resid = rng.normal(0, 1, 150)
    gid = propose_groups(park, resid, group_size=4, jitter=0.0, rng=rng)
    g = gid[gid >= 0]
    assert len(np.unique(g)) == g.max() + 1  # compact
    sizes = np.bincount(g)
    assert sizes.max() <= 4 and sizes.min() >= 2
    for k in range(g.max() + 1):
        members = np.flatnonzero(gid == k)
        assert len(set(park[members])) == 1
    # Without jitter the first group of each park holds its two lowest and two highest residuals.
    for p in range(3):
        idx = np.flatnonzero(park == p)
        order = idx[np.argsort(resid[idx])]
        first = set(np.flatnonzero(gid == gid[order[0]]))
        assert first == {order[0], order[1], order[-1], order[-2]}


def test_compact_labels_keeps_order_and_minus_one():
    lab, k = compact_labels(np.array([7, -1, 3, 7, 10, 3]))
    assert k == 3 and lab.tolist() == [1, -1, 0, 1, 2, 0]


# ------------------------------------------------------------------ invariants on the 560-DER scenario


class CheckingDecider:
    """Wraps the organiser and checks the hierarchy invariants after every period."""

    def __init__(self, org: SelfOrganiser):
        self.org = org
        self.checked = 0

    def __call__(self, views, policy):
        out = self.org(views, policy)
        table, act = self.org._last
        n, levels = table.n, self.org.levels
        labs = [np.arange(n), *self.org.labels]
        assert len(self.org.labels) == levels  # depth <= max_levels
        for i, lab in enumerate(labs):
            k = int(lab.max()) + 1
            assert lab.shape == (n,) and set(np.unique(lab)) == set(range(k))  # every DER in exactly one unit
            pairs = np.unique(lab * (table.park.max() + 1) + table.park)
            assert len(pairs) == k  # a unit never spans parks
            if i:
                # nesting: each level-(i-1) unit lies inside one level-i unit
                assert len(np.unique(labs[i - 1] * (k + 1) + lab)) == int(labs[i - 1].max()) + 1
        total = table.power_kw(act).sum()
        for lt in self.org.level_tables(table, act):
            assert lt.load_kw.sum() == pytest.approx(total, rel=1e-9, abs=1e-6)  # loads add up
            assert lt.p_max_kw.sum() == pytest.approx(table.p_max_kw.sum())
        np.testing.assert_array_equal(np.concatenate([out[k] for k in table.kinds]), act)
        self.checked += 1
        return out


@pytest.fixture(scope="module")
def sc560():
    from scenarios.schema import load

    return load("three_parks_560")


def test_hierarchy_invariants_hold_every_period(sc560):
    from scenarios.runner import build_model

    spec = sc560.aggregation.model_copy(update={"enabled": True})
    dec = CheckingDecider(make_decider(spec, sc560.fitness.similarity_lambda))
    m = build_model(sc560, GreedyFitnessPolicy(), dec, handles=False)
    m.run(12)
    assert dec.checked == 12
    assert (m.system_series()["actions_overridden"] == 0).all()
    # The controlled kinds' load recorded by the model is the organiser's final load.
    per = dec.org.periods
    sysdf = m.system_series()
    np.testing.assert_allclose([p["load_final_kw"] for p in per], sysdf["ac_kw"] + sysdf["ev_kw"], rtol=1e-5)
    assert any(r["coalitions"] > 0 for r in dec.org.level_rows if r["level"] == spec.max_levels)
    G = hierarchy_graph(dec.org, 10, m.fleet.park_names)
    ders = [n for n, d in G.nodes(data=True) if d["level"] == 0]
    assert len(ders) == m.fleet.count("ac") + m.fleet.count("ev")
    assert all(G.in_degree(n) == 1 for n in ders)
    assert nx.is_directed_acyclic_graph(G)
    assert nx.dag_longest_path_length(G) == spec.max_levels + 1  # park root -> level 5 -> ... -> DER
    assert sum(1 for n in G if G.in_degree(n) == 0) == len(m.fleet.park_names)


def test_runs_are_deterministic_given_the_seed(sc560):
    from scenarios.runner import build_model

    def run(seed):
        spec = sc560.aggregation.model_copy(update={"enabled": True, "seed": seed})
        org = make_decider(spec, 1.0)
        m = build_model(sc560, GreedyFitnessPolicy(), org, handles=False)
        m.run(12)
        return m.system_series()["net_kw"].to_numpy(), [lab.copy() for lab in org.labels], org

    a_load, a_labs, a_org = run(7)
    b_load, b_labs, _ = run(7)
    c_load, c_labs, _ = run(8)
    np.testing.assert_array_equal(a_load, b_load)
    for x, y in zip(a_labs, b_labs, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a_labs, c_labs, strict=True))
    assert a_org.state_dict()["seed"] == 7


def test_state_dict_round_trip_continues_identically(sc560):
    from scenarios.runner import build_model

    spec = sc560.aggregation.model_copy(update={"enabled": True})
    org = make_decider(spec, 1.0)
    m = build_model(sc560, GreedyFitnessPolicy(), org, handles=False)
    m.run(9)
    model_state, org_state = m.checkpoint_state(), org.state_dict()
    m.run(2)
    org2 = make_decider(spec, 1.0)
    m2 = build_model(sc560, GreedyFitnessPolicy(), org2, handles=False)
    m2.restore_state(model_state)
    org2.load_state_dict(org_state)
    m2.run(2)
    np.testing.assert_array_equal(m.system_series()["net_kw"], m2.system_series()["net_kw"])


def test_spec_defaults_are_the_documented_ones():
    s = AggregationSpec()
    assert (s.max_levels, s.group_size, s.epsilon_cvg_kw, s.h_m, s.max_iterations) == (5, 4, 0.5, 3, 50)
    assert s.rules == ["rule3"] * 5 and not s.enabled
