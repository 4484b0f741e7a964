"""The third bundled case (IEEE 30, MATPOWER's 6-generator version) follows the case14/39 recipe."""

from __future__ import annotations

import numpy as np
import pandapower.networks as pn
import pytest

from grid import data
from grid.cases import CASE_NAMES
from grid.cef import dispatch_carbon_flow
from grid.dispatch import dispatch_day
from grid.metrics import dispatch_metrics


def test_units_ratings_and_plants(case30):
    assert "case30" in CASE_NAMES
    by_bus = {u.bus: u for u in case30.thermal}
    assert set(by_bus) == set(data.CASE30_UNIT_FUELS)
    coal = by_bus[26]
    spec = data.FUELS["coal"]
    assert coal.must_run and coal.cost_per_mwh == spec.cost_per_mwh
    assert coal.p_min_mw == pytest.approx(0.4 * 55.0) and coal.co2_kg_per_mwh == spec.co2_kg_per_mwh
    assert by_bus[0].element == "ext_grid" and by_bus[0].fuel == "gas_cc"
    # ratings are MATPOWER's rateA (IEEE 27-30 corridor: 16 MVA)
    rating = case30.branch_rating_mva()
    names = case30.branch_names()
    assert rating[names.index("line 26-29")] == pytest.approx(16.0, rel=1e-9)
    assert rating[names.index("line 0-1")] == pytest.approx(130.0, rel=1e-9)
    assert [(r.kind, r.bus, r.p_mw) for r in case30.renewables] == [("wind", 29, 30.0), ("pv", 28, 20.0)]
    assert case30.net.load.p_mw.sum() == pytest.approx(pn.case30().load.p_mw.sum())


def test_default_day_dispatch_curtails_behind_the_corridor(case30):
    r = dispatch_day(case30, day_of_year=196, ac_check=True)
    m = dispatch_metrics(r)
    np.testing.assert_allclose(r.total_generation_mw, r.demand_mw.sum(axis=1), atol=1e-6)
    assert np.all(np.abs(r.flows_mw) <= r.rating_mw + 1e-6)
    assert 0.5 < m.renewable_utilisation < 0.95 and m.congestion_hours > 0
    assert r.ac is not None and r.ac.converged.all()
    cf = dispatch_carbon_flow(case30, r)
    np.testing.assert_allclose(cf.emission_kg_per_h.sum(axis=1), r.co2_kg, rtol=1e-6)
