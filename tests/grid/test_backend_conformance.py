"""One conformance suite for every GridBackend, on every case.

Each backend must reproduce pandapower's own rundcpp/runpp computed here independently of the backends.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandapower as pp
import pytest

from grid.backend import AcCheck, GridBackend, LightsimBackend, PandapowerBackend
from grid.cases import GridCase

BACKENDS = {"lightsim": LightsimBackend, "pandapower": PandapowerBackend}
CASES = ("three_bus", "case14", "case30", "case39")
N_T = 4


@pytest.fixture(scope="module")
def backends(cases: dict[str, GridCase]) -> dict[tuple[str, str], GridBackend]:
    return {(b, c): cls(cases[c].net) for b, cls in BACKENDS.items() for c in CASES}


def _injections(n_bus: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 80.0, size=(N_T, n_bus))


def _rundcpp_flows(net: pp.pandapowerNet, injections: np.ndarray) -> np.ndarray:
    """Reference DC flows: injections on fresh sgens, every other element zeroed, one rundcpp per row."""
    net = copy.deepcopy(net)
    for element in ("load", "sgen", "gen"):
        net[element]["p_mw"] = 0.0
    idx = [pp.create_sgen(net, int(b), p_mw=0.0) for b in net.bus.index]
    out = []
    for row in injections:
        net.sgen.loc[idx, "p_mw"] = row
        pp.rundcpp(net)
        out.append(np.r_[net.res_line.p_from_mw.to_numpy(), net.res_trafo.p_hv_mw.to_numpy()])
    return np.array(out)


def _setpoints(case: GridCase, load_factor: np.ndarray) -> tuple[np.ndarray, ...]:
    """A plausible operating point per period: loads scaled, gens sharing the load, renewables at 30 %."""
    net = case.net
    lp = np.outer(load_factor, net.load.p_mw.to_numpy())
    lq = np.outer(load_factor, net.load.q_mvar.to_numpy())
    sgen = np.outer(np.full(len(load_factor), 0.3), net.sgen.sn_mva.to_numpy())
    cap = net.gen.max_p_mw.to_numpy()
    share = (lp.sum(axis=1) - sgen.sum(axis=1)) / (cap.sum() + net.ext_grid.max_p_mw.sum())
    gen = np.outer(np.clip(share, 0.0, 1.0), cap)
    return gen, sgen, lp, lq


def _runpp_reference(net: pp.pandapowerNet, gen, sgen, lp, lq) -> list[pp.pandapowerNet | None]:
    out = []
    for t in range(gen.shape[0]):
        n = copy.deepcopy(net)
        n.gen["p_mw"], n.sgen["p_mw"], n.load["p_mw"], n.load["q_mvar"] = gen[t], sgen[t], lp[t], lq[t]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pp.runpp(n, numba=False, tolerance_mva=1e-10)
            out.append(n)
        except pp.LoadflowNotConverged:
            out.append(None)
    return out


@pytest.mark.parametrize("case_name", CASES)
@pytest.mark.parametrize("backend_name", BACKENDS)
class TestConformance:
    def test_protocol_and_shapes(self, backends, cases, backend_name, case_name):
        be = backends[(backend_name, case_name)]
        net = cases[case_name].net
        assert isinstance(be, GridBackend)
        assert be.n_bus == len(net.bus)
        assert be.n_line == len(net.line) + len(net.trafo)
        assert be.dc_flows_mw(np.zeros((N_T, be.n_bus))).shape == (N_T, be.n_line)
        with pytest.raises(ValueError):
            be.dc_flows_mw(np.zeros((N_T, be.n_bus + 1)))

    def test_dc_flows_equal_rundcpp(self, backends, cases, backend_name, case_name):
        be = backends[(backend_name, case_name)]
        inj = _injections(be.n_bus, seed=7)
        ref = _rundcpp_flows(cases[case_name].net, inj)
        np.testing.assert_allclose(be.dc_flows_mw(inj), ref, atol=1e-6, rtol=0)

    def test_dc_flows_balance_at_every_bus(self, backends, cases, backend_name, case_name):
        be = backends[(backend_name, case_name)]
        net = cases[case_name].net
        inj = _injections(be.n_bus, seed=11)
        inj -= inj.mean(axis=1, keepdims=True)  # balanced: the slack takes nothing
        flows = be.dc_flows_mw(inj)
        pos = {b: k for k, b in enumerate(net.bus.index)}
        f = [pos[b] for b in np.r_[net.line.from_bus.to_numpy(), net.trafo.hv_bus.to_numpy()]]
        t = [pos[b] for b in np.r_[net.line.to_bus.to_numpy(), net.trafo.lv_bus.to_numpy()]]
        incidence = np.zeros((be.n_line, be.n_bus))
        incidence[np.arange(be.n_line), f] = 1.0
        incidence[np.arange(be.n_line), t] = -1.0
        # DC is lossless: what leaves a bus over its branches equals its injection
        np.testing.assert_allclose(flows @ incidence, inj, atol=1e-6)

    def test_ac_check_equals_runpp(self, backends, cases, backend_name, case_name):
        be = backends[(backend_name, case_name)]
        case = cases[case_name]
        gen, sgen, lp, lq = _setpoints(case, np.array([0.6, 0.8, 0.9, 1.0]))
        ac = be.ac_check(gen, sgen, lp, lq)
        assert isinstance(ac, AcCheck)
        assert ac.vm_pu.shape == (N_T, be.n_bus) and ac.loading_percent.shape == (N_T, be.n_line)
        refs = _runpp_reference(case.net, gen, sgen, lp, lq)
        for t, ref in enumerate(refs):
            assert ref is not None
            assert ac.converged[t] and ac.cause[t] == ""
            np.testing.assert_allclose(ac.vm_pu[t], ref.res_bus.vm_pu, atol=1e-6)
            np.testing.assert_allclose(ac.va_degree[t], ref.res_bus.va_degree, atol=1e-5)
            ref_loading = np.r_[ref.res_line.loading_percent, ref.res_trafo.loading_percent]
            np.testing.assert_allclose(ac.loading_percent[t], ref_loading, atol=1e-4)
            ref_flow = np.r_[ref.res_line.p_from_mw, ref.res_trafo.p_hv_mw]
            np.testing.assert_allclose(ac.p_from_mw[t], ref_flow, atol=1e-4)
            assert ac.slack_p_mw[t] == pytest.approx(float(ref.res_ext_grid.p_mw.sum()), abs=1e-4)
            assert ac.losses_mw[t] == pytest.approx(float(-ref.res_bus.p_mw.sum()), abs=1e-4)

    def test_ac_nonconvergence_reported_not_raised(self, backends, cases, backend_name, case_name):
        be = backends[(backend_name, case_name)]
        case = cases[case_name]
        gen, sgen, lp, lq = _setpoints(case, np.array([0.7, 0.7, 0.7]))
        lp[1] = lp[1] * 60.0 + 3000.0  # absurd load in the middle period: no AC solution exists
        lq[1] *= 60.0
        ac = be.ac_check(gen, sgen, lp, lq)
        assert list(ac.converged) == [True, False, True]
        assert ac.cause[1] != "" and np.isnan(ac.vm_pu[1]).all()
        # the periods after the failure are solved as if alone
        alone = be.ac_check(gen[2:], sgen[2:], lp[2:], lq[2:])
        np.testing.assert_allclose(ac.vm_pu[2], alone.vm_pu[0], atol=1e-8)
        summary = ac.summary()
        assert not summary.converged[1] and summary.cause[1] == ac.cause[1]
