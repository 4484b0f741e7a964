"""End to end on three_parks_560: tracking against the uncontrolled day, outputs, runner integration."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from aggregation.hierarchy import SelfOrganiser, make_decider
from aggregation.outputs import hierarchy_graph, write_comparison, write_organiser_outputs
from aggregation.policy import GreedyFitnessPolicy
from aggregation.tracking import assessment_table, tracking_summary


@pytest.fixture(scope="module")
def day():
    """The uncontrolled day and the self-organised day (greedy start actions), same scenario and seed."""
    from scenarios.runner import build_model, system_signal, weather_for
    from scenarios.schema import load

    sc = load("three_parks_560")
    weather, signal = weather_for(sc), system_signal(sc)
    base = build_model(sc, handles=False, weather=weather, signal=signal)
    base.run()
    org = make_decider(sc.aggregation.model_copy(update={"enabled": True}), sc.fitness.similarity_lambda)
    ctrl = build_model(sc, GreedyFitnessPolicy(), org, handles=False, weather=weather, signal=signal)
    ctrl.run()
    return sc, base, ctrl, org


def test_self_organisation_tracks_the_index_better_than_the_uncontrolled_day(day):
    _, base, ctrl, org = day
    s = tracking_summary(base, ctrl)
    # Measured on the full day for organiser seeds 0-3, greedy or rule start actions:
    # shape distance 0.3802 -> 0.3771..0.3801 (0.03-0.8 %, seed 0: 0.3785), Eq. 3 gradient
    # distance -3.4..-4.1 %. The shape gain is small and seed-dependent by construction:
    # base load and PV dominate the parks' net load and belong to no coalition, and the
    # fitness rewards gradients, not levels (docs/aggregation.md). The gradient gain is the robust one.
    assert s["tracking_distance_before"] == pytest.approx(0.3802, abs=5e-4)
    assert s["tracking_distance_after"] < s["tracking_distance_before"]
    assert s["gradient_improvement_pct"] > 3.0
    # Every period converged well before the cap.
    per = pd.DataFrame(org.periods)
    assert per["converged"].all() and per["iterations"].max() <= 8
    # Coalitions formed at every level at the snapshot hour.
    rows = pd.DataFrame(org.level_rows)
    at10 = rows[rows["step"] == 10].set_index("level")
    assert (at10.loc[1:, "coalitions"] > 0).all()
    assert at10.loc[5, "fitness_mean"] >= at10.loc[0, "fitness_mean"] - 1e-9


def test_write_outputs_graphs_tables_and_plots(day, tmp_path):
    sc, _, ctrl, org = day
    paths = write_organiser_outputs(org, tmp_path, ctrl)
    out = tmp_path / "aggregation"
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert len(list((out / "hierarchy").glob("step_*.graphml"))) == 24
    G = nx.read_graphml(out / "hierarchy" / "step_010.graphml")
    H = nx.node_link_graph(json.loads((out / "hierarchy" / "step_010.json").read_text()), edges="edges")
    assert G.number_of_nodes() == H.number_of_nodes() and G.number_of_edges() == H.number_of_edges()
    assert G.graph["lowest_level"] == 0 and G.graph["truncated"] is False  # small run: DERs included
    level5 = [n for n, d in G.nodes(data=True) if d.get("level") == 5]
    assert sum(G.nodes[n]["n_ders"] for n in level5) == ctrl.fleet.count("ac") + ctrl.fleet.count("ev")
    levels = pd.read_csv(out / "levels.csv")
    assert set(levels["level"]) == set(range(6)) and len(levels) == 24 * 6
    assert {"flex_up_kw", "flex_down_kw", "fitness_p50", "size_ders_max", "coalitions"} <= set(levels.columns)
    periods = pd.read_csv(out / "periods.csv")
    assert {"iterations", "converged", "convergence_time_s", "load_final_kw[industrial]"} <= set(periods.columns)
    for name in ("fig7a_level4_fitness.png", "fig7b_flexibility.png", "hierarchy_hour10.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_aggregator_handles_are_materialised_on_request(day):
    _, _, ctrl, org = day
    top = org.aggregators(org.levels)
    assert sum(a.n_ders for a in top) == ctrl.fleet.count("ac") + ctrl.fleet.count("ev")
    level4 = org.aggregators(4)
    for a in top:
        assert a.parent is None and a.n_ders == sum(level4[k].n_ders for k in a.members)
        assert a.load_kw == pytest.approx(sum(level4[k].load_kw for k in a.members))
        assert all(level4[k].parent == a.index and level4[k].park == a.park for k in a.members)
    with pytest.raises(ValueError):
        org.aggregators(org.levels + 1)


def test_outputs_without_plots(day, tmp_path):
    _, base, ctrl, org = day
    paths = write_organiser_outputs(org, tmp_path, ctrl, plots=False)
    assert not [p for p in paths if p.suffix == ".png"]
    write_comparison(base, ctrl, tmp_path, week_net_kw=np.zeros((1, base.n_steps, base.fleet.n_parks)), plots=False)
    assert not list((tmp_path / "aggregation").glob("*.png"))


def test_large_runs_export_only_the_top_levels(day):
    sc, _, ctrl, _ = day
    spec = sc.aggregation.model_copy(update={"enabled": True, "graph_max_nodes": 600})
    org = make_decider(spec, 1.0)
    from scenarios.runner import build_model

    m = build_model(sc, GreedyFitnessPolicy(), org, handles=False)
    m.run(11)
    G = hierarchy_graph(org, 10, m.fleet.park_names)
    assert G.graph["truncated"] is True and G.graph["lowest_level"] > 0
    assert G.number_of_nodes() <= 600 + len(m.fleet.park_names)
    tiny = make_decider(spec.model_copy(update={"graph_max_nodes": 10}), 1.0)
    m2 = build_model(sc, GreedyFitnessPolicy(), tiny, handles=False)
    m2.run(2)
    S = hierarchy_graph(tiny, 1, m2.fleet.park_names)
    assert S.graph["export"] == "summary" and S.number_of_nodes() == spec.max_levels + 2


def test_write_comparison_figures_and_assessment_methods(day, tmp_path):
    _, base, ctrl, _ = day
    # Two simulated preceding days keep the test fast; the default is the full week.
    figs = write_comparison(base, ctrl, tmp_path, previous_days=2)
    out = tmp_path / "aggregation"
    assert figs["previous_week_days"] == 2.0
    assert all(np.isfinite(v) for v in figs.values())
    assert figs["tracking_improvement_pct"] == pytest.approx(
        100 * (figs["tracking_distance_before"] - figs["tracking_distance_after"]) / figs["tracking_distance_before"]
    )
    ass = pd.read_csv(out / "assessment.csv")
    assert (ass["baseline_method_kw"] <= 0).all()  # the baseline method only credits reductions
    np.testing.assert_allclose(ass["zero_carbon_method_kw"], ass["controlled_kw"] - ass["uncontrolled_kw"])
    assert figs["zero_carbon_method_increase_kwh"] > 0  # the index method also counts increases
    assert json.loads((out / "comparison.json").read_text())["tracking_distance_after"] == figs["tracking_distance_after"]
    for name in ("fig8_tracking.png", "fig9_assessment.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_assessment_uses_the_previous_week_average_of_the_same_hour(day):
    _, base, ctrl, _ = day
    n, parks = base.n_steps, base.fleet.n_parks
    week = np.stack([np.full((n, parks), 100.0 * d) for d in range(1, 8)])  # daily net 100..700 kW per park
    tab = assessment_table(base, ctrl, week)
    np.testing.assert_allclose(tab["baseline_week_kw"], 400.0 * parks)
    np.testing.assert_allclose(tab["baseline_method_kw"], np.minimum(tab["controlled_kw"] - 400.0 * parks, 0))


def test_runner_plugs_the_organiser_in():
    from scenarios.runner import decider_for, run_scenario
    from scenarios.schema import load

    sc = load("three_parks_560").model_copy(update={"aggregation": load("three_parks_560").aggregation.model_copy(
        update={"enabled": True})})
    assert isinstance(decider_for(sc), SelfOrganiser)
    out = run_scenario(sc, None, progress=False, max_steps=3)
    assert set(out.models) == {"baseline", "controlled"}
    assert isinstance(out.models["controlled"].decider, SelfOrganiser)
    assert len(out.models["controlled"].decider.periods) == 3
