"""The ``vpp_market`` scenario: schema checks and a smoke run writing every table and the figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from scenarios.vpp_market import VppMarketScenario, load_scenario, run

YAML = Path(__file__).resolve().parents[2] / "scenarios" / "supply_load_game.yaml"


def test_bundled_file_validates() -> None:
    sc = load_scenario(YAML)
    assert sc.kind == "vpp_market" and sc.n_periods == 12 and sc.load.adj_frac == 0.4 and len(sc.units) == 6


@pytest.mark.parametrize("patch", [
    {"typo_field": 1},
    {"load": {"inertia": float("nan")}},
    {"load": {"peak_load_mw": float("inf")}},
    {"load": {"adj_frac": 0.6}},
    {"load": {"flex_hi_frac": [0.1] * 5}},
    {"units": [{"name": "x", "technology": "unobtainium", "p_max_mw": 10}]},
    {"training": {"config": {"maddpg": {"hiden": 3}}}},
])
def test_schema_rejects(patch: dict) -> None:
    base = load_scenario(YAML).model_dump()
    for k, v in patch.items():
        base[k] = {**base[k], **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    with pytest.raises(ValidationError):
        VppMarketScenario.model_validate(base)


def test_smoke_run_writes_results(tmp_path) -> None:
    sc = load_scenario(YAML).model_copy(update={"training": load_scenario(YAML).training.model_copy(
        update={"use_shipped_weights": False, "config": {"maddpg": {"hidden": 16, "warmup_episodes": 1},
                                                         "dromarl": {"hidden": 16, "warmup_episodes": 1}}}),
        "evaluation": load_scenario(YAML).evaluation.model_copy(update={"oracle_days": 1})})
    summary = run(sc, tmp_path, max_steps=2)
    for f in ("schedule.csv", "units.csv", "high_price_probability.csv", "learners.csv", "robustness.csv",
              "market_report.png"):
        assert (tmp_path / f).exists(), f
    assert set(summary.index) == {"rule", "maddpg", "dromarl", "oracle"}
    hp = pd.read_csv(tmp_path / "high_price_probability.csv")
    probs = hp[["rule", "maddpg", "dromarl"]].to_numpy()
    assert len(hp) == 12 and ((probs >= 0) & (probs <= 1)).all()
    assert (summary.loc[["rule", "maddpg", "dromarl"], "decision_latency_ms"] > 0).all()


def test_coupled_schema_rules() -> None:
    data = load_scenario(YAML).model_dump()
    with pytest.raises(ValidationError, match="units from the case"):
        VppMarketScenario.model_validate({**data, "coupling": {"case": "case14"}})
    ok = VppMarketScenario.model_validate({**data, "units": [], "coupling": {"case": "case14"}})
    assert ok.coupling.park_scale == 100.0
    with pytest.raises(ValidationError, match="give units"):
        VppMarketScenario.model_validate({**data, "units": []})


def test_hand_down_splits_targets_by_flexible_share(monkeypatch) -> None:
    import numpy as np

    import scenarios.vpp_market_case14 as c14

    base = np.array([[100.0, 100.0, 50.0, 50.0], [300.0, 300.0, 0.0, 0.0]])  # 2 parks, 4 h (kW, unscaled)
    inputs = c14.CouplingInputs((), np.zeros(2), np.zeros(2), base, base, ["a", "b"])
    seen = {}

    def fake_parks(name, *, controlled, targets_kw=None, n_steps=None):
        seen["targets"] = targets_kw
        return None, targets_kw, targets_kw  # devices realise the targets exactly

    monkeypatch.setattr(c14, "simulate_parks", fake_parks)
    table, _ = c14.hand_down(np.array([4.0, -1.0]), inputs, parks_scenario="x", park_scale=100.0)
    # +4 MW scaled = +40 kW unscaled in hours 0-1, split 1:3; -1 MW = -10 kW in hours 2-3, all on park a
    np.testing.assert_allclose(seen["targets"], [[110.0, 110.0, 40.0, 40.0], [330.0, 330.0, 0.0, 0.0]])
    per_h = table.groupby("hour")[["planned_adjustment_mw", "realised_adjustment_mw"]].sum()
    np.testing.assert_allclose(per_h.planned_adjustment_mw, [4.0, 4.0, -1.0, -1.0])
    np.testing.assert_allclose(per_h.realised_adjustment_mw, per_h.planned_adjustment_mw)
    assert np.allclose(c14.to_periods(np.arange(6.0), 2), [0.5, 2.5, 4.5])
