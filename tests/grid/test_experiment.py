"""Uptake sweep and Figure-10-style plot."""

from __future__ import annotations

import numpy as np
import pytest

from grid.bound import FlexEnvelope
from grid.experiment import (
    assign_parks,
    bound_share,
    parks_to_bus_mw,
    parse_label,
    plot_uptake,
    uptake_sweep,
)


def test_parse_label():
    assert parse_label(("controlled", 1000)) == ("controlled", 1000.0)
    assert parse_label("baseline@560") == ("baseline", 560.0)
    mode, n = parse_label("reference")
    assert mode == "reference" and np.isnan(n)


def test_parks_round_robin_and_units(case14):
    assert assign_parks(case14, 3) == list(case14.park_buses[:3])
    buses = assign_parks(case14, len(case14.park_buses) + 1)
    assert buses[-1] == case14.park_buses[0]
    kw = np.ones((2, 24)) * 500.0
    out = parks_to_bus_mw(case14, kw, park_buses=[13], park_scale=4.0)
    np.testing.assert_allclose(out[13], np.full(24, 4.0))  # 2 parks x 500 kW x 4 = 4 MW


@pytest.fixture(scope="module")
def sweep():
    h = np.arange(24)
    evening = 1.0 + np.exp(-(((h - 19) / 2.5) ** 2))
    midday = 1.0 + np.exp(-(((h - 13) / 2.5) ** 2))
    midday *= evening.sum() / midday.sum()  # same energy, shifted into the windy, congested hours
    profiles = {}
    for n in (1000, 10000, 40000):
        for mode, shape in (("baseline", evening), ("controlled", midday)):
            profiles[(mode, n)] = np.tile(shape * n / 2.0, (2, 1))  # 2 parks, 1 kW per agent scale
    profiles[("controlled", 10_000_000)] = np.tile(midday * 1e7, (2, 1))  # 20 GW: cannot be served
    with pytest.warns(RuntimeWarning, match="infeasible"):
        return uptake_sweep("case14", profiles, day_of_year=196)


def test_uptake_sweep_table(sweep):
    assert list(sweep["mode"]) == ["baseline"] * 3 + ["controlled"] * 4
    assert list(sweep["n_agents"][:3]) == [1000, 10000, 40000]
    ok = sweep[sweep.status == "optimal"]
    assert len(ok) == 6
    for col in ("renewable_utilisation", "curtailment_rate", "co2_t", "cost"):
        assert ok[col].notna().all()
    bad = sweep[sweep.n_agents == 10_000_000]
    assert bad.status.iloc[0].startswith("infeasible") and np.isnan(bad.co2_t.iloc[0])


def test_shifting_park_load_into_curtailed_hours_raises_uptake(sweep):
    ok = sweep[sweep.status == "optimal"].set_index(["mode", "n_agents"])
    base = ok.loc["baseline"]
    ctrl = ok.loc["controlled"]
    # parks sit at the wind farm's bus: midday demand absorbs wind the corridor cannot export
    assert (ctrl.renewable_utilisation > base.renewable_utilisation + 1e-6).all()
    assert (ctrl.co2_t < base.co2_t).all()
    assert base.renewable_utilisation.is_monotonic_increasing


def test_plot_uptake(sweep, tmp_path):
    path = plot_uptake(sweep, tmp_path / "uptake.png", title="case14")
    assert path.exists() and path.stat().st_size > 10_000


def test_sweep_with_bound_reports_the_share(case14):
    h = np.arange(24)
    evening = 1.0 + np.exp(-(((h - 19) / 2.5) ** 2))
    midday = 1.0 + np.exp(-(((h - 13) / 2.5) ** 2))
    midday *= evening.sum() / midday.sum()
    kw = {
        ("baseline", 10000): np.tile(evening * 5000, (2, 1)),
        ("controlled", 10000): np.tile(midday * 5000, (2, 1)),
    }
    bus_mw = parks_to_bus_mw(case14, kw[("baseline", 10000)])
    p = np.column_stack(list(bus_mw.values()))
    env = FlexEnvelope(
        tuple(bus_mw), 0.5 * p.min(axis=0) * np.ones_like(p), 3.0 * p, p.sum(axis=0), p.sum(axis=0)
    )
    df = uptake_sweep(case14, kw, day_of_year=196, bounds={("controlled", 10000): env})
    row = df.set_index("mode").loc["controlled"]
    base = df.set_index("mode").loc["baseline"]
    assert row.bound_renewable_utilisation >= row.renewable_utilisation - 1e-9
    assert np.isnan(base.get("bound_renewable_utilisation", np.nan))
    share = bound_share(
        row.renewable_utilisation, base.renewable_utilisation, row.bound_renewable_utilisation
    )
    assert 0.0 < share <= 1.0 + 1e-9
    assert np.isnan(bound_share(0.5, 0.5, 0.5))
