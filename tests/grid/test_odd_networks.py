"""Odd networks: each either dispatches with DC flows equal to rundcpp's, or is refused before solving."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from grid import data
from grid.backend import LightsimBackend, NetworkRefused, PandapowerBackend, check_network
from grid.cases import GridCase, make_case, thermal_units_from_fuels
from grid.dispatch import dispatch_day


def _case14_net() -> pp.pandapowerNet:
    net = pn.case14()
    net.gen["p_mw"] = 0.0
    return net


def _case(net: pp.pandapowerNet, park_buses=(13,)) -> GridCase:
    return make_case(
        "odd14", net, thermal_units_from_fuels(net, data.CASE14_UNIT_FUELS), park_buses=park_buses
    )


def _rundcpp_flows(net: pp.pandapowerNet, injections: np.ndarray) -> np.ndarray:
    net = copy.deepcopy(net)
    for element in ("load", "sgen", "gen"):
        net[element]["p_mw"] = 0.0
    idx = [pp.create_sgen(net, int(b), p_mw=0.0) for b in net.bus.index]
    out = []
    for row in injections:
        net.sgen.loc[idx, "p_mw"] = row
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.rundcpp(net)
        flows = np.r_[net.res_line.p_from_mw.to_numpy(), net.res_trafo.p_hv_mw.to_numpy()]
        out.append(np.nan_to_num(flows))
    return np.array(out)


def _dispatch_injections(case: GridCase, r) -> np.ndarray:
    inj = -r.demand_mw.copy()
    np.add.at(inj.T, case.bus_position([u.bus for u in case.thermal]), r.thermal_p_mw.T)
    return inj


def _check_dc(case: GridCase) -> None:
    rng = np.random.default_rng(3)
    inj = rng.normal(0.0, 50.0, size=(3, case.n_bus))
    ref = _rundcpp_flows(case.net, inj)
    np.testing.assert_allclose(LightsimBackend(case.net).dc_flows_mw(inj), ref, atol=1e-6, rtol=0)
    np.testing.assert_allclose(PandapowerBackend(case.net).dc_flows_mw(inj), ref, atol=1e-6, rtol=0)
    r = dispatch_day(case, n_periods=4, renewable_avail_mw=np.zeros((4, 0)))
    np.testing.assert_allclose(r.flows_mw, _rundcpp_flows(case.net, _dispatch_injections(case, r)), atol=1e-6)
    np.testing.assert_allclose(r.total_generation_mw, r.demand_mw.sum(axis=1), atol=1e-6)


def test_regression_a_line_1_2_out_of_service():
    """Issue 17 (a): case14 with the line between pandapower buses 1 and 2 out of service."""
    net = _case14_net()
    k = net.line.index[(net.line.from_bus == 1) & (net.line.to_bus == 2)][0]
    net.line.at[k, "in_service"] = False
    case = _case(net)
    _check_dc(case)
    r = dispatch_day(case, n_periods=2, renewable_avail_mw=np.zeros((2, 0)))
    assert np.all(r.flows_mw[:, k] == 0.0)
    assert np.isinf(case.branch_rating_mva()[k])
    # hand check at bus 2 (IEEE 3): with 1-2 open, only line 2-3 (IEEE 3-4) serves its load
    k23 = net.line.index[(net.line.from_bus == 2) & (net.line.to_bus == 3)][0]
    d2 = r.demand_mw[:, 2]
    np.testing.assert_allclose(-r.flows_mw[:, k23], d2, atol=1e-6)


def test_regression_a_ac_check_equals_runpp():
    net = _case14_net()
    k = net.line.index[(net.line.from_bus == 1) & (net.line.to_bus == 2)][0]
    net.line.at[k, "in_service"] = False
    be = LightsimBackend(net)
    gen = np.array([[30.0, 0.0, 0.0, 0.0]])
    ac = be.ac_check(gen, np.zeros((1, 0)), net.load.p_mw.to_numpy()[None], net.load.q_mvar.to_numpy()[None])
    ref = copy.deepcopy(net)
    ref.gen["p_mw"] = gen[0]
    pp.runpp(ref, numba=False, tolerance_mva=1e-10)
    assert ac.converged[0]
    np.testing.assert_allclose(ac.vm_pu[0], ref.res_bus.vm_pu, atol=1e-6)
    np.testing.assert_allclose(
        ac.p_from_mw[0], np.r_[ref.res_line.p_from_mw, ref.res_trafo.p_hv_mw], atol=1e-4
    )
    assert ac.slack_p_mw[0] == pytest.approx(float(ref.res_ext_grid.p_mw.sum()), abs=1e-4)


def test_regression_b_isolated_bus_with_park_is_refused():
    """Issue 17 (b): an extra 138 kV bus with no branch and a 30 MW park on it."""
    net = _case14_net()
    bus = pp.create_bus(net, vn_kv=138.0, name="island")
    with pytest.raises(NetworkRefused) as info:
        _case(net, park_buses=(13, bus))
    msg = str(info.value)
    assert f"bus {bus} is not connected to the reference bus 0" in msg
    assert f"'park@{bus}'" in msg and f"load {len(net.load) + 1}" in msg
    with pytest.raises(NetworkRefused, match="not connected"):
        LightsimBackend(_with_park(net, bus))


def _with_park(net: pp.pandapowerNet, bus: int) -> pp.pandapowerNet:
    net = copy.deepcopy(net)
    pp.create_load(net, bus, p_mw=30.0, name=f"park@{bus}")
    return net


def test_isolated_buses_without_elements_are_dropped():
    net = _case14_net()
    a = pp.create_bus(net, vn_kv=138.0)
    b = pp.create_bus(net, vn_kv=138.0)
    pp.create_line_from_parameters(net, a, b, 10.0, 0.1, 0.5, 0.0, 0.5)  # an island of two empty buses
    case = _case(net)
    topo = check_network(case.net)
    assert topo.dropped_buses == (a, b)
    _check_dc(case)
    be = LightsimBackend(case.net)
    gen = np.array([[30.0, 0.0, 0.0, 0.0]])
    lp = case.net.load.p_mw.to_numpy()[None]
    ac = be.ac_check(gen, np.zeros((1, 0)), lp, case.net.load.q_mvar.to_numpy()[None])
    assert ac.converged[0] and np.isnan(ac.vm_pu[0, [a, b]]).all() and np.isfinite(ac.vm_pu[0, :14]).all()


def test_out_of_service_trafo_and_parallel_branches():
    net = _case14_net()
    net.trafo.at[net.trafo.index[(net.trafo.hv_bus == 3) & (net.trafo.lv_bus == 8)][0], "in_service"] = False
    k = net.line.index[(net.line.from_bus == 3) & (net.line.to_bus == 4)][0]
    row = net.line.loc[k]
    pp.create_line_from_parameters(
        net, 3, 4, row.length_km, row.r_ohm_per_km, row.x_ohm_per_km, row.c_nf_per_km, row.max_i_ka
    )
    net.line.at[net.line.index[(net.line.from_bus == 0) & (net.line.to_bus == 4)][0], "parallel"] = 2
    case = _case(net)
    _check_dc(case)
    rating = case.branch_rating_mva()
    k04 = net.line.index[(net.line.from_bus == 0) & (net.line.to_bus == 4)][0]
    assert rating[k04] == pytest.approx(2 * np.sqrt(3) * 135.0 * net.line.max_i_ka[k04])


def test_several_ext_grids_refused_but_out_of_service_one_accepted():
    net = _case14_net()
    pp.create_ext_grid(net, 1, vm_pu=1.045)
    with pytest.raises(
        NetworkRefused, match=r"2 in-service ext_grids \(ext_grid 0 at bus 0, ext_grid 1 at bus 1\)"
    ):
        _case(net)
    net.ext_grid.at[1, "in_service"] = False
    _check_dc(_case(net))


@pytest.mark.parametrize("value", [0.0, np.nan])
def test_missing_or_zero_rating_refused(value):
    net = _case14_net()
    net.line.at[3, "max_i_ka"] = value
    with pytest.raises(NetworkRefused, match="line 3 .buses 1-3. has max_i_ka="):
        _case(net)
    net.line.at[3, "in_service"] = False  # an out-of-service branch needs no rating
    _case(net)


def test_out_of_service_bus_with_load_refused():
    net = _case14_net()
    net.bus.at[13, "in_service"] = False
    with pytest.raises(NetworkRefused, match="bus 13 is out of service but has in-service elements: load"):
        _case(net, park_buses=())


def test_parallel_column_ac_equals_runpp():
    net = _case14_net()
    net.line.at[0, "parallel"] = 2
    net.trafo.at[0, "parallel"] = 2
    be = LightsimBackend(net)
    gen = np.array([[30.0, 0.0, 0.0, 0.0]])
    ac = be.ac_check(gen, np.zeros((1, 0)), net.load.p_mw.to_numpy()[None], net.load.q_mvar.to_numpy()[None])
    ref = copy.deepcopy(net)
    ref.gen["p_mw"] = gen[0]
    pp.runpp(ref, numba=False, tolerance_mva=1e-10)
    np.testing.assert_allclose(ac.vm_pu[0], ref.res_bus.vm_pu, atol=1e-6)
    ref_loading = np.r_[ref.res_line.loading_percent, ref.res_trafo.loading_percent]
    np.testing.assert_allclose(ac.loading_percent[0], ref_loading, atol=1e-4)


def test_unsorted_bus_indices():
    """Bus indices 20, 10, 30: arrays follow net.bus.index order, lightsim2grid sorts internally."""
    net = pp.create_empty_network(sn_mva=100.0)
    for b in (20, 10, 30):
        pp.create_bus(net, vn_kv=110.0, index=b)
    for f, t in ((20, 10), (10, 30), (20, 30)):
        pp.create_line_from_parameters(net, f, t, 20.0, 0.06, 0.4, 9.0, 2.0)
    pp.create_ext_grid(net, 20, vm_pu=1.02)
    pp.create_gen(net, 10, p_mw=40.0, vm_pu=1.01)
    pp.create_load(net, 30, p_mw=90.0, q_mvar=20.0)
    be = LightsimBackend(net)
    inj = np.array([[10.0, 40.0, -90.0]])
    np.testing.assert_allclose(be.dc_flows_mw(inj), _rundcpp_flows(net, inj), atol=1e-6)
    ac = be.ac_check(np.array([[40.0]]), np.zeros((1, 0)), np.array([[90.0]]), np.array([[20.0]]))
    ref = copy.deepcopy(net)
    pp.runpp(ref, numba=False, tolerance_mva=1e-10)
    np.testing.assert_allclose(ac.vm_pu[0], ref.res_bus.vm_pu.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(ac.va_degree[0], ref.res_bus.va_degree.to_numpy(), atol=1e-5)
