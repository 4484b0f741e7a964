import hashlib
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from aggregation.agents import create_handles
from aggregation.kinds.ac import ACAgent
from aggregation.kinds.ev import EVAgent
from aggregation.kinds.pv import PVAgent
from aggregation.policy import GreedyFitnessPolicy, KindView, RulePolicy
from scenarios.runner import build_model, run_scenario
from scenarios.schema import bundled_scenarios, load


@pytest.fixture(scope="module")
def sc560():
    return load("three_parks_560")


def test_bulk_handles_equal_one_by_one_registration():
    class M(mesa.Model):
        pass

    a, b = M(seed=1), M(seed=1)
    slow = []
    for _i in range(5):
        h = ACAgent.__new__(ACAgent)
        mesa.Agent.__init__(h, a)
        slow.append(h)
    a.handle_offsets = {"ac": slow[0].unique_id}
    fast = create_handles(b, ACAgent, 5)
    assert [x.unique_id for x in slow] == [x.unique_id for x in fast]
    assert [x.idx for x in fast] == list(range(5))
    assert len(b.agents) == len(a.agents) == 5
    assert set(b.agents_by_type) == {ACAgent}
    nxt_a, nxt_b = ACAgent.__new__(ACAgent), ACAgent.__new__(ACAgent)
    mesa.Agent.__init__(nxt_a, a)
    mesa.Agent.__init__(nxt_b, b)
    assert nxt_a.unique_id == nxt_b.unique_id == 6  # the id counter moved past the bulk ids
    assert create_handles(b, EVAgent, 1)[0].unique_id == 7


def test_model_handles_read_the_arrays(sc560):
    m = build_model(sc560)
    assert len(m.agents) == 560
    assert len(m.agents_by_type[ACAgent]) == 515
    assert len(m.agents_by_type[EVAgent]) == 42
    assert len(m.agents_by_type[PVAgent]) == 3
    m.step()
    ac = next(iter(m.agents_by_type[ACAgent]))
    assert ac.t_in_c == pytest.approx(float(m.fleet.ac.t_in_c[ac.idx]))
    assert ac.p_kw == pytest.approx(float(m.fleet.ac.p_kw[ac.idx]))
    assert ac.park in m.fleet.park_names
    pv = next(iter(m.agents_by_type[PVAgent]))
    assert pv.capacity_kw in (2800, 430, 150)


def test_loads_add_up_across_parks_and_kinds(sc560):
    m = build_model(sc560)
    m.run(6)
    parks = m.park_series()
    sysdf = m.system_series()
    by_step = parks.groupby("step")[["ac_kw", "ev_kw", "base_kw", "pv_kw", "net_kw"]].sum()
    for col in ("ac_kw", "ev_kw", "base_kw", "pv_kw", "net_kw"):
        assert np.allclose(by_step[col].to_numpy(), sysdf[col].to_numpy())
    assert np.allclose(sysdf["net_kw"], sysdf["ac_kw"] + sysdf["ev_kw"] + sysdf["base_kw"] - sysdf["pv_kw"])
    assert float(m.fleet.ac.p_kw.sum()) == pytest.approx(sysdf["ac_kw"].iloc[-1], rel=1e-5)
    # The result tables are Mesa DataCollector tables.
    dc = m.datacollector.get_table_dataframe("system")
    assert len(dc) == 6 and np.allclose(dc["net_kw"], sysdf["net_kw"])
    assert len(m.datacollector.get_table_dataframe("parks")) == 6 * len(m.fleet.park_names)


def test_same_seed_same_results_different_seed_differs(sc560):
    def fingerprint(seed):
        m = build_model(sc560.model_copy(update={"seed": seed}), GreedyFitnessPolicy())
        m.run(8)
        return pd.util.hash_pandas_object(m.park_series(), index=False).sum()

    assert fingerprint(3) == fingerprint(3)
    assert fingerprint(3) != fingerprint(4)


def test_invalid_actions_are_replaced_by_usual_and_counted(sc560):
    class Bad:
        name = "bad"

        def act(self, view: KindView):
            return np.full(view.n, view.n_actions - 1)  # cool30 / full charge for everyone

    m = build_model(sc560, Bad())
    m.run(3)
    over = m.system_series()["actions_overridden"]
    assert over.sum() > 0  # off units cannot be switched on, absent EVs cannot charge
    ref = build_model(sc560, RulePolicy())
    ref.run(3)
    assert (ref.system_series()["actions_overridden"] == 0).all()


def test_checkpoint_resume_is_bit_identical(sc560):
    full = build_model(sc560, GreedyFitnessPolicy())
    full.run(10)
    part = build_model(sc560, GreedyFitnessPolicy())
    part.run(4)
    state = part.checkpoint_state()
    resumed = build_model(sc560, GreedyFitnessPolicy())
    resumed.restore_state(state)
    resumed.run(6)
    pd.testing.assert_frame_equal(full.park_series(), resumed.park_series())
    assert np.array_equal(full.fleet.ac.t_in_c, resumed.fleet.ac.t_in_c)


@pytest.mark.parametrize("name", [n for n in bundled_scenarios() if load(n).kind == "der_aggregation"])
def test_every_bundled_scenario_runs_a_few_steps_at_reduced_scale(name):
    sc = load(name)
    small = sc.model_copy(update={"scale": min(sc.scale, 1.0)})
    out = run_scenario(small, None, progress=False, max_steps=3)
    for m in out.models.values():
        df = m.system_series()
        assert len(df) == 3
        assert np.isfinite(df[["net_kw", "eta_gi", "fitness_mean"]].to_numpy()).all()


def _hash_dir(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.suffix in (".csv",)
    }


def test_same_seed_identical_results_files(tmp_path, sc560):
    a = run_scenario(sc560, tmp_path / "a", progress=False, max_steps=6, plots=False)
    b = run_scenario(sc560, tmp_path / "b", progress=False, max_steps=6, plots=False)
    ha, hb = _hash_dir(a.folder), _hash_dir(b.folder)
    assert ha == hb and len(ha) >= 5
    assert not list((tmp_path / "a").glob(".*partial"))


def test_run_checkpoint_and_resume_with_self_organisation(tmp_path, sc560):
    """A run killed after its checkpoint resumes to the same files as an uninterrupted run."""
    from scenarios.runner import run_scenario as run

    sc = sc560.model_copy(update={
        "aggregation": sc560.aggregation.model_copy(update={"enabled": True}),
        "output": sc560.output.model_copy(update={"checkpoint_every_steps": 2, "plots": False}),
    })
    full = run(sc, tmp_path / "full", progress=False, max_steps=6)
    # An interrupted run: stop after 4 periods, keeping the partial folder and its checkpoints.
    part = run(sc, tmp_path / "cut", progress=False, max_steps=4)
    partial = part.folder.parent / f".{part.folder.name}.partial"
    part.folder.rename(partial)
    for label, m in part.models.items():
        from scenarios import results

        results.write_pickle(partial / f"checkpoint_{label}.pkl", m.checkpoint_state())
    resumed = run(sc, None, progress=False, max_steps=6, resume=partial)
    for label in ("baseline", "controlled"):
        pd.testing.assert_frame_equal(full.models[label].park_series(), resumed.models[label].park_series())


@pytest.mark.parametrize("method", ["rule", "greedy", "qmix", "mip", "lagrangian"])
def test_scenario_method_field_picks_the_decision_method(method, sc560):
    sc = sc560.model_copy(update={"method": method, "scale": 0.1})
    out = run_scenario(sc, None, progress=False, max_steps=3)
    assert ("controlled" in out.models) == (method != "rule")
    if method in ("mip", "lagrangian"):
        last = out.models["controlled"].decider.last
        assert last.method == method and last.residual_kw >= 0


@pytest.mark.parametrize("every", [0, 1])
def test_a_crashed_run_leaves_a_note_saying_how_to_resume(tmp_path, sc560, monkeypatch, every):
    import scenarios.pipelines.der_aggregation as pipe

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipe, "write", boom)
    sc = sc560.model_copy(update={"output": sc560.output.model_copy(update={"checkpoint_every_steps": every})})
    with pytest.raises(RuntimeError):
        run_scenario(sc, tmp_path, progress=False, max_steps=2, plots=False)
    (partial,) = tmp_path.glob(".*.partial")
    note = (partial / "RESUME.txt").read_text()
    assert "disk full" in note
    assert ("--resume" in note) == bool(every) and ("cannot be resumed" in note) == (not every)
