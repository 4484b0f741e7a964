"""Scenario kind ``multi_energy``: schema, bundled files, the pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from scenarios.multi_energy import MpcBlock, MultiEnergyScenario, build_day, load_scenario, run

BUNDLED = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize("name", ["campus_vpp", "industrial_mevpp"])
def test_bundled_files_validate(name):
    sc = load_scenario(BUNDLED / f"{name}.yaml")
    assert sc.kind == "multi_energy" and sc.name == name


def test_schema_rejects_bad_input():
    raw = yaml.safe_load((BUNDLED / "industrial_mevpp.yaml").read_text())
    for patch in ({"kind": "parks"}, {"typo_field": 1}, {"imbalance_penalty_per_kwh": float("nan")},
                  {"start_day_of_year": 400}):
        with pytest.raises(ValidationError):
            MultiEnergyScenario.model_validate({**raw, **patch})
    bad = dict(raw)
    bad["battery"] = {**raw["battery"], "soc_init": 0.95}
    with pytest.raises(ValidationError):
        MultiEnergyScenario.model_validate(bad)


def test_day_data_matches_the_seed_scaling():
    sc = load_scenario(BUNDLED / "industrial_mevpp.yaml")
    _, data, _ = build_day(sc)
    assert data.load_e_kw.max() == pytest.approx(2800.0)
    assert data.load_h_kw.max() == pytest.approx(1500.0) and data.load_h_kw.min() == pytest.approx(800.0)
    assert np.all(data.pv_kw >= 0) and data.pv_kw.max() <= 2000.0 + 1e-9
    assert np.all((data.wind_kw >= 0) & (data.wind_kw <= 1500.0 + 1e-9))
    assert data.buy_price[0] == 0.05 and data.buy_price[12] == 0.15 and data.buy_price[23] == 0.10


def test_pipeline_writes_the_results_folder(tmp_path):
    sc = load_scenario(BUNDLED / "campus_vpp.yaml").model_copy(
        update={"mpc": MpcBlock(forecast_errors=[0.1]), "methods": ["oracle", "mpc"]})
    msgs: list[str] = []
    summary = run(sc, tmp_path, progress=msgs.append, max_steps=4)
    assert list(summary.index) == ["oracle", "mpc_H4h_err10pct"]
    assert summary.loc["oracle", "gap_to_oracle"] == 0.0
    for f in ("summary.csv", "summary.json", "oracle_periods.csv", "power_balance_oracle.png",
              "heat_balance_oracle.png", "storage.png", "costs.png", "weather.csv"):
        assert (tmp_path / f).exists(), f
    assert msgs


def test_envs_on_the_campus_day():
    from gymnasium.utils.env_checker import check_env

    from learners.multi_energy_env import MultiEnergyEnv, MultiEnergyParallelEnv

    sc = load_scenario(BUNDLED / "campus_vpp.yaml")
    cfg, data, _ = build_day(sc)
    check_env(MultiEnergyEnv(cfg, data, reward="ahp"), skip_render_check=True)
    env = MultiEnergyParallelEnv(cfg, data)
    obs, _ = env.reset(seed=1)
    assert set(obs) == {"gt", "battery", "tes", "hp"}


def test_methods_come_from_the_registry():
    """``methods:`` is validated against learners.registry (no Literal of its own), item by item."""
    import learners.registry as reg
    from scenarios.schema import multi_energy_methods

    for n in ("oracle", "mpc"):
        e = reg.get(n)
        assert not e.trainable and e.scenario_kinds == ("multi_energy",) and e.decider is not None
        assert callable(reg.load_object(e.decider))
    assert set(multi_energy_methods()) == {"oracle", "mpc", "maddpg_mpc", "sac_lax"}
    raw = yaml.safe_load((BUNDLED / "campus_vpp.yaml").read_text())
    assert MultiEnergyScenario.model_validate({**raw, "methods": ["oracle", "sac_lax"]}).methods == ["oracle", "sac_lax"]
    for bad in ("ppo", "qmix", "rule", "nonsense"):  # trainable without weights, another kind's, unknown
        with pytest.raises(ValidationError, match=r"methods\.1"):
            MultiEnergyScenario.model_validate({**raw, "methods": ["oracle", bad]})
    reg.register(reg.MethodEntry("me_test_solver", "a test solver", decider="learners.oracle:oracle",
                                 scenario_kinds=("multi_energy",)))
    try:
        sc = MultiEnergyScenario.model_validate({**raw, "methods": ["me_test_solver"]})
        with pytest.raises(ValueError, match="pipeline runs only"):
            run(sc, None, max_steps=2)
    finally:
        reg.unregister("me_test_solver")
