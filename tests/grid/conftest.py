"""Shared fixtures: the three IEEE cases (built once per session) and a hand-made 3-bus system."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from grid.cases import GridCase, ThermalUnit, build_case, make_case


def three_bus_net(line_rating_mva: float = 1000.0) -> pp.pandapowerNet:
    """Triangle of 110 kV lines; ext_grid at bus 0, a gen at bus 1, demand and a wind farm at bus 2."""
    net = pp.create_empty_network(sn_mva=100.0)
    for k in range(3):
        pp.create_bus(net, vn_kv=110.0, name=f"b{k}", min_vm_pu=0.9, max_vm_pu=1.1)
    max_i_ka = line_rating_mva / (np.sqrt(3) * 110.0)
    for f, t in ((0, 1), (1, 2), (0, 2)):
        pp.create_line_from_parameters(
            net, f, t, length_km=20.0, r_ohm_per_km=0.06, x_ohm_per_km=0.4, c_nf_per_km=9.0, max_i_ka=max_i_ka
        )
    pp.create_ext_grid(net, 0, vm_pu=1.02, max_p_mw=100.0)
    pp.create_gen(net, 1, p_mw=0.0, vm_pu=1.01, max_p_mw=100.0)
    return net


def three_bus_case(line_rating_mva: float = 1000.0, coal_ramp_mw_per_h: float = 1000.0) -> GridCase:
    """3-bus case with flat costs so that cost and CO2 can be computed by hand.

    coal (ext_grid, bus 0): 20 $/MWh, 1000 kg/MWh, must-run 40..100 MW.
    gas (gen, bus 1): 50 $/MWh, 400 kg/MWh, 0..100 MW. Wind farm 100 MW and a park at bus 2.
    """
    net = three_bus_net(line_rating_mva)
    flat = (1.0, 1.0)
    coal = ThermalUnit(
        "coal@0",
        "coal",
        0,
        "ext_grid",
        0,
        100.0,
        40.0,
        coal_ramp_mw_per_h,
        20.0,
        1000.0,
        must_run=True,
        segment_cost_factors=flat,
    )
    gas = ThermalUnit(
        "gas@1",
        "gas_cc",
        1,
        "gen",
        0,
        100.0,
        0.0,
        1000.0,
        50.0,
        400.0,
        must_run=False,
        segment_cost_factors=flat,
    )
    return make_case("three_bus", net, [coal, gas], renewables=[("wind", 2, 100.0)], park_buses=[2])


@pytest.fixture(scope="session")
def case14() -> GridCase:
    return build_case("case14")


@pytest.fixture(scope="session")
def case30() -> GridCase:
    return build_case("case30")


@pytest.fixture(scope="session")
def case39() -> GridCase:
    return build_case("case39")


@pytest.fixture(scope="session")
def make_three_bus():
    """Factory for variants of the 3-bus case (line rating, coal ramp limit)."""
    return three_bus_case


@pytest.fixture(scope="session")
def tiny() -> GridCase:
    return three_bus_case()


@pytest.fixture(scope="session")
def cases(case14: GridCase, case30: GridCase, case39: GridCase, tiny: GridCase) -> dict[str, GridCase]:
    return {"case14": case14, "case30": case30, "case39": case39, "three_bus": tiny}
