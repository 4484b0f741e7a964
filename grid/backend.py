"""Power-flow backends behind one small numpy interface (in the spirit of Grid2Op's ``Backend``).

Two backends implement :class:`GridBackend` for a pandapower net:

* :class:`LightsimBackend` (default): DC flows by the PTDF
  matrix (``pandapower.pypower.makePTDF`` on pandapower's own DC model); the AC check runs all
  periods in one lightsim2grid ``TimeSeriesCPP`` batch built by ``init_from_pandapower``.
* :class:`PandapowerBackend` (reference): ``pandapower.rundcpp`` per period for DC flows and
  ``pandapower.runpp`` with ``recycle`` per period for the AC check.

Both refuse, before solving, nets they cannot handle (:func:`check_network`): the message names the
element and the reason. Out-of-service lines/transformers/buses, parallel branches and cut-off buses
without elements are supported.

Array conventions: buses in ``net.bus.index`` order; branches are lines then transformers in
``net.line`` / ``net.trafo`` index order; flows are measured at the from/hv end, positive leaving it.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandapower as pp
import pandas as pd
import scipy.sparse as sp
from pandapower.pypower.idx_brch import BR_STATUS, F_BUS, T_BUS
from pandapower.pypower.idx_bus import BUS_I
from pandapower.pypower.makePTDF import makePTDF
from scipy.sparse.csgraph import connected_components

SQRT3 = float(np.sqrt(3.0))


@dataclass
class AcCheck:
    """AC power-flow results for T periods; NaN rows for periods that did not converge.

    Attributes:
        vm_pu: (T, n_bus) voltage magnitude.
        va_degree: (T, n_bus) voltage angle.
        p_from_mw: (T, n_line) active flow at the from/hv end.
        loading_percent: (T, n_line) pandapower loading (current relative to rating).
        slack_p_mw: (T,) ext_grid active power.
        losses_mw: (T,) total active losses (injections summed over all buses).
        converged: (T,) bool.
        cause: per period, "" if converged, else why not.
        vm_min_pu, vm_max_pu: (n_bus,) limits used for the violation report.
        monitored_bus: (n_bus,) bool, buses whose voltage is not held by a generator set-point.
    """

    vm_pu: np.ndarray
    va_degree: np.ndarray
    p_from_mw: np.ndarray
    loading_percent: np.ndarray
    slack_p_mw: np.ndarray
    losses_mw: np.ndarray
    converged: np.ndarray
    cause: list[str]
    vm_min_pu: np.ndarray
    vm_max_pu: np.ndarray
    monitored_bus: np.ndarray

    def summary(self, max_loading_percent: float = 100.0) -> pd.DataFrame:
        """One row per period: convergence, cause, voltage and loading violations, losses."""
        vm = np.where(self.monitored_bus[None, :], self.vm_pu, np.nan)
        with np.errstate(invalid="ignore"):
            low = (vm < self.vm_min_pu[None, :] - 1e-9).sum(axis=1)
            high = (vm > self.vm_max_pu[None, :] + 1e-9).sum(axis=1)
            over = (self.loading_percent > max_loading_percent + 1e-9).sum(axis=1)
        all_nan = ~self.converged
        return pd.DataFrame(
            {
                "converged": self.converged,
                "cause": self.cause,
                "n_vm_low": np.where(all_nan, -1, low),
                "n_vm_high": np.where(all_nan, -1, high),
                "vm_min_pu": np.nanmin(np.where(all_nan[:, None], 0.0, vm), axis=1, initial=np.inf),
                "vm_max_pu": np.nanmax(np.where(all_nan[:, None], 0.0, vm), axis=1, initial=-np.inf),
                "n_overloaded": np.where(all_nan, -1, over),
                "max_loading_percent": np.nanmax(
                    np.where(all_nan[:, None], 0.0, self.loading_percent), axis=1, initial=0.0
                ),
                "losses_mw": self.losses_mw,
            }
        ).assign(
            vm_min_pu=lambda d: d.vm_min_pu.where(self.converged),
            vm_max_pu=lambda d: d.vm_max_pu.where(self.converged),
            max_loading_percent=lambda d: d.max_loading_percent.where(self.converged),
        )

    @property
    def n_violation_hours(self) -> int:
        """Periods with a voltage or loading violation, or no convergence."""
        s = self.summary()
        return int(((s.n_vm_low != 0) | (s.n_vm_high != 0) | (s.n_overloaded != 0)).sum())


@runtime_checkable
class GridBackend(Protocol):
    """Power-flow solver interface; all inputs and outputs are numpy arrays.

    ``ac_check`` element arrays follow ``net.gen``, ``net.sgen`` and ``net.load`` row order.
    """

    n_bus: int
    n_line: int

    def dc_flows_mw(self, injections_mw: np.ndarray) -> np.ndarray:
        """DC branch flows (T, n_line) for bus injections (T, n_bus); the slack bus absorbs any imbalance."""
        ...

    def ac_check(
        self, gen_p_mw: np.ndarray, sgen_p_mw: np.ndarray, load_p_mw: np.ndarray, load_q_mvar: np.ndarray
    ) -> AcCheck:
        """AC power flow of each period with the given element set-points."""
        ...


@contextlib.contextmanager
def _quiet_pandapower():
    """Silence pandapower's per-call "numba cannot be imported" log line (rundcpp ignores numba=False)."""
    log = logging.getLogger("pandapower.auxiliary")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


class NetworkRefused(ValueError):
    """The net cannot be dispatched; the message names the element and the reason."""


# Element tables whose rows would carry flows outside the lines-then-trafos branch arrays.
_UNSUPPORTED_TABLES = (
    "trafo3w",
    "impedance",
    "dcline",
    "ward",
    "xward",
    "tcsc",
    "svc",
    "ssc",
    "vsc",
    "switch",
)
_ELEMENT_TABLES = ("load", "sgen", "gen", "ext_grid", "storage", "shunt")


@dataclass(frozen=True)
class NetworkTopology:
    """What :func:`check_network` learnt about a net.

    Attributes:
        ref_bus: pandapower index of the reference (in-service ext_grid) bus.
        live: (n_bus,) bool, in ``net.bus.index`` order: buses connected to the reference bus.
        branch_in_service: (n_line,) bool, lines then trafos, in service with both ends live.
        dropped_buses: pandapower indices of buses without any element that are cut off (dropped).
    """

    ref_bus: int
    live: np.ndarray
    branch_in_service: np.ndarray
    dropped_buses: tuple[int, ...]


def _elements_at(net: pp.pandapowerNet, buses: set[int]) -> list[str]:
    out = []
    for table in _ELEMENT_TABLES:
        frame = net[table]
        if len(frame) == 0:
            continue
        hit = frame[frame.in_service.astype(bool) & frame.bus.isin(buses)]
        for idx, row in hit.iterrows():
            name = row.get("name")
            label = f" ({name!r})" if isinstance(name, str) and name else ""
            out.append(f"{table} {idx}{label} at bus {int(row.bus)}")
    return out


def check_network(net: pp.pandapowerNet) -> NetworkTopology:
    """Validate a net for the DC dispatch and the backends, before anything is solved.

    Accepted: out-of-service lines, transformers, buses and elements; parallel branches (several
    lines between the same buses, or ``parallel > 1``); buses cut off from the reference that carry
    no in-service element (dropped: NaN voltages, zero flows on their branches).

    Args:
        net: pandapower net.

    Returns:
        The :class:`NetworkTopology` (reference bus, live buses, in-service branches).

    Raises:
        NetworkRefused: with the element and the reason, for: no or several in-service ext_grids,
            an ext_grid or a gen marked ``slack`` besides it, elements of an unsupported kind
            (3-winding transformers, impedances, DC lines, wards, switches, FACTS), an in-service
            element on an out-of-service bus or on a bus not connected to the reference bus by
            in-service lines/transformers, or a branch with a non-positive or missing impedance.
    """
    for table in _UNSUPPORTED_TABLES:
        if table in net and len(net[table]) > 0:
            raise NetworkRefused(
                f"net has {len(net[table])} {table} element(s) (first: {table} {net[table].index[0]}); "
                f"{table} is not supported by the grid backends (only lines and 2-winding transformers)"
            )
    ext = net.ext_grid[net.ext_grid.in_service.astype(bool)]
    if len(ext) != 1:
        where = ", ".join(f"ext_grid {i} at bus {int(b)}" for i, b in ext.bus.items()) or "none"
        raise NetworkRefused(
            f"net has {len(ext)} in-service ext_grids ({where}); the DC dispatch needs exactly one "
            "reference bus: keep one ext_grid and model the others as gen elements"
        )
    if "slack" in net.gen and len(net.gen):
        slack = net.gen[net.gen.slack.fillna(False).astype(bool) & net.gen.in_service.astype(bool)]
        if len(slack):
            raise NetworkRefused(
                f"gen {slack.index[0]} at bus {int(slack.bus.iloc[0])} is marked slack besides ext_grid "
                f"{ext.index[0]}; the DC dispatch needs exactly one reference bus"
            )
    bus_index = net.bus.index.to_numpy()
    pos = pd.Series(np.arange(len(bus_index)), index=bus_index)
    ref_bus = int(ext.bus.iloc[0])
    bus_on = net.bus.in_service.to_numpy(dtype=bool)
    if not bus_on[pos[ref_bus]]:
        raise NetworkRefused(f"ext_grid {ext.index[0]} sits on out-of-service bus {ref_bus}")
    ends = [
        (net.line.from_bus.to_numpy(), net.line.to_bus.to_numpy(), net.line.in_service.to_numpy(dtype=bool)),
        (net.trafo.hv_bus.to_numpy(), net.trafo.lv_bus.to_numpy(), net.trafo.in_service.to_numpy(dtype=bool)),
    ]
    f = pos[np.concatenate([e[0] for e in ends])].to_numpy()
    t = pos[np.concatenate([e[1] for e in ends])].to_numpy()
    on = np.concatenate([e[2] for e in ends]) & bus_on[f] & bus_on[t]
    _check_impedances(net, on)
    n = len(bus_index)
    graph = sp.coo_matrix((np.ones(int(on.sum())), (f[on], t[on])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    live = bus_on & (label == label[pos[ref_bus]])
    dead = {int(b) for b in bus_index[~live]}
    stranded = _elements_at(net, dead)
    if stranded:
        first = stranded[0]
        bus = int(first.rsplit(" ", 1)[1])
        why = (
            "is out of service"
            if not bus_on[pos[bus]]
            else f"is not connected to the reference bus {ref_bus} by any in-service line or transformer"
        )
        raise NetworkRefused(
            f"bus {bus} {why} but has in-service elements: {', '.join(stranded)}; "
            "connect the bus, or take those elements out of service"
        )
    return NetworkTopology(ref_bus, live, on & live[f], tuple(sorted(dead)))


def _check_impedances(net: pp.pandapowerNet, on: np.ndarray) -> None:
    nl = len(net.line)
    x = (net.line.x_ohm_per_km * net.line.length_km).to_numpy(dtype=float)
    for k in np.flatnonzero(on[:nl] & ~(np.abs(np.nan_to_num(x)) > 0)):
        idx = net.line.index[k]
        raise NetworkRefused(
            f"line {idx} (buses {int(net.line.from_bus.iat[k])}-{int(net.line.to_bus.iat[k])}) has reactance "
            f"{x[k]} ohm: a DC power flow needs a non-zero reactance (use a bus-bus connection instead)"
        )
    vk = net.trafo.vk_percent.to_numpy(dtype=float)
    for k in np.flatnonzero(on[nl:] & ~(np.nan_to_num(vk) > 0)):
        raise NetworkRefused(
            f"trafo {net.trafo.index[k]} has vk_percent {vk[k]}: a DC power flow needs vk > 0"
        )


def check_ratings(net: pp.pandapowerNet) -> None:
    """Refuse in-service branches whose thermal rating is missing (NaN) or not positive.

    Raises:
        NetworkRefused: naming the line or trafo and the offending column.
    """
    for table, cols in (("line", ("max_i_ka", "df", "parallel")), ("trafo", ("sn_mva", "df", "parallel"))):
        frame = net[table]
        if len(frame) == 0:
            continue
        live = frame[frame.in_service.astype(bool)]
        for col in cols:
            values = live[col].to_numpy(dtype=float) if col in live else np.ones(len(live))
            bad = ~(values > 0)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                ends = ("from_bus", "to_bus") if table == "line" else ("hv_bus", "lv_bus")
                raise NetworkRefused(
                    f"{table} {live.index[k]} (buses {int(live[ends[0]].iat[k])}-{int(live[ends[1]].iat[k])}) "
                    f"has {col}={values[k]}: its thermal rating is "
                    f"{'missing' if np.isnan(values[k]) else 'not positive'}; set a rating (or take it out "
                    "of service)"
                )


def _prepare_net(net: pp.pandapowerNet) -> tuple[pp.pandapowerNet, NetworkTopology]:
    net = copy.deepcopy(net)
    return net, check_network(net)


def dc_model(net: pp.pandapowerNet, topo: NetworkTopology | None = None) -> tuple[np.ndarray, np.ndarray]:
    """PTDF and zero-injection flows of a net, in pandapower bus and branch order.

    The B matrices come from pandapower's own model (``makeBdc`` on the ppc that ``rundcpp`` builds,
    with its reactances, tap ratios and phase shifts); out-of-service branches and cut-off buses are
    removed before ``makePTDF``, so their rows/columns are zero.

    Args:
        net: pandapower net (not modified).
        topo: result of :func:`check_network` (computed when None).

    Returns:
        ptdf (n_line, n_bus) in MW/MW with the ext_grid bus as reference, and flow_offset_mw (n_line,)
        (flows at zero injection, from phase shifters).
    """
    topo = topo if topo is not None else check_network(net)
    net = copy.deepcopy(net)
    for element in ("load", "sgen", "gen", "storage"):
        if len(net[element]):
            net[element]["p_mw"] = 0.0
    with _quiet_pandapower():
        pp.rundcpp(net)
    ppc = net._ppc
    lookup = net._pd2ppc_lookups
    bus_ppc = lookup["bus"][net.bus.index.to_numpy()]
    rows = []
    for element in ("line", "trafo"):
        if len(net[element]) == 0:
            continue
        start, stop = lookup["branch"][element]
        if stop - start != len(net[element]):
            raise NetworkRefused(f"pandapower's ppc lost {element} rows; cannot map branches")
        rows.append(np.arange(start, stop))
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=int)
    n_line, n_bus = len(rows), len(bus_ppc)
    live_ppc = np.unique(bus_ppc[topo.live])
    renum = np.full(ppc["bus"].shape[0], -1)
    renum[live_ppc] = np.arange(len(live_ppc))
    branch = ppc["branch"][rows[topo.branch_in_service]].copy()
    branch[:, F_BUS] = renum[branch[:, F_BUS].real.astype(int)]
    branch[:, T_BUS] = renum[branch[:, T_BUS].real.astype(int)]
    branch[:, BR_STATUS] = 1.0
    bus = ppc["bus"][live_ppc].copy()
    bus[:, BUS_I] = np.arange(len(live_ppc))
    ref = int(renum[lookup["bus"][topo.ref_bus]])
    ptdf = np.zeros((n_line, n_bus))
    if len(branch):
        sub = makePTDF(float(ppc["baseMVA"]), bus.real, branch.real, slack=ref)
        cols = np.flatnonzero(topo.live)
        ptdf[np.ix_(np.flatnonzero(topo.branch_in_service), cols)] = sub[:, renum[bus_ppc[cols]]]
    ptdf[np.abs(ptdf) < 1e-13] = 0.0
    flows = np.r_[net.res_line.p_from_mw.to_numpy(), net.res_trafo.p_hv_mw.to_numpy()]
    offset = np.where(topo.branch_in_service, np.nan_to_num(flows), 0.0)
    return np.ascontiguousarray(ptdf), offset


def _monitored_buses(net: pp.pandapowerNet) -> np.ndarray:
    held = set(net.ext_grid.bus[net.ext_grid.in_service]) | set(net.gen.bus[net.gen.in_service])
    return ~net.bus.index.isin(list(held))


def _limits(net: pp.pandapowerNet) -> tuple[np.ndarray, np.ndarray]:
    lo = net.bus.min_vm_pu.to_numpy(dtype=float) if "min_vm_pu" in net.bus else np.full(len(net.bus), 0.94)
    hi = net.bus.max_vm_pu.to_numpy(dtype=float) if "max_vm_pu" in net.bus else np.full(len(net.bus), 1.06)
    return np.nan_to_num(lo, nan=0.94), np.nan_to_num(hi, nan=1.06)


class _PtdfDc:
    """DC flows by the PTDF of :func:`dc_model` (shared by the backends)."""

    n_bus: int
    ptdf: np.ndarray
    flow_offset_mw: np.ndarray

    def dc_flows_mw(self, injections_mw: np.ndarray) -> np.ndarray:
        """DC branch flows (T, n_line) in MW for bus injections (T, n_bus) in MW.

        ``flows = injections @ PTDF.T + flow_offset``; the reference bus absorbs any imbalance and
        injections at dropped buses are ignored (as ``rundcpp``).

        Raises:
            ValueError: wrong number of columns.
        """
        inj = np.atleast_2d(np.asarray(injections_mw, dtype=float))
        if inj.shape[1] != self.n_bus:
            raise ValueError(f"injections must have {self.n_bus} columns, got shape {inj.shape}")
        return inj @ self.ptdf.T + self.flow_offset_mw[None, :]


def _merge_parallel(net: pp.pandapowerNet) -> None:
    """Replace ``parallel = n`` by one equivalent branch (lightsim2grid refuses the column)."""
    n = net.line.parallel.to_numpy(dtype=float)
    if np.any(n != 1):
        for col in ("r_ohm_per_km", "x_ohm_per_km"):
            net.line[col] = net.line[col] / n
        for col in ("c_nf_per_km", "g_us_per_km", "max_i_ka"):
            if col in net.line:
                net.line[col] = net.line[col] * n
        net.line["parallel"] = 1
    n = net.trafo.parallel.to_numpy(dtype=float)
    if np.any(n != 1):
        net.trafo["sn_mva"] = net.trafo.sn_mva * n
        net.trafo["pfe_kw"] = net.trafo.pfe_kw * n
        net.trafo["parallel"] = 1


class LightsimBackend(_PtdfDc):
    """Default backend: PTDF DC flows and a lightsim2grid ``TimeSeriesCPP`` AC check.

    The AC model is ``lightsim2grid.network.init_from_pandapower(net, pp_orig_file="pandapower_v3")``
    (pandapower 3 transformer equations); all periods go to one ``TimeSeriesCPP`` batch
    (Newton-Raphson with KLU, each period starting from the previous solution). lightsim2grid stops a
    batch at its first failed period; the batch is then restarted after it from the flat start, so a
    failed period is reported (NaN, cause) and the later ones are solved as if alone.

    Args:
        net: pandapower net (copied); loads constant-power.
        tolerance_pu: Newton-Raphson mismatch tolerance (pu on ``net.sn_mva``).
        max_iteration: Newton-Raphson iteration limit (pandapower's default 10).

    Raises:
        NetworkRefused: see :func:`check_network`.
    """

    def __init__(self, net: pp.pandapowerNet, tolerance_pu: float = 1e-8, max_iteration: int = 10) -> None:
        from lightsim2grid.algorithm import AlgorithmType
        from lightsim2grid.lightsim2grid_cpp import TimeSeriesCPP
        from lightsim2grid.network import init_from_pandapower

        self.net, self.topology = _prepare_net(net)
        self.tolerance_pu = tolerance_pu
        self.max_iteration = max_iteration
        self.n_bus = len(self.net.bus)
        self.n_line = len(self.net.line) + len(self.net.trafo)
        self.ptdf, self.flow_offset_mw = dc_model(self.net, self.topology)
        ac = copy.deepcopy(self.net)
        ac.bus.loc[list(self.topology.dropped_buses), "in_service"] = False
        n_l = len(ac.line)
        ac.line["in_service"] = self.topology.branch_in_service[:n_l]
        ac.trafo["in_service"] = self.topology.branch_in_service[n_l:]
        ac.ext_grid = ac.ext_grid[ac.ext_grid.in_service.astype(bool)]
        _merge_parallel(ac)
        # The batch's base case ("n" power flow on the model's own injections) must converge:
        # let the generators share the load.
        if "max_p_mw" in ac.gen and len(ac.gen):
            cap = np.nan_to_num(ac.gen.max_p_mw.to_numpy(dtype=float))
            ext_cap = (
                np.nansum(ac.ext_grid.max_p_mw.to_numpy(dtype=float)) if "max_p_mw" in ac.ext_grid else 0.0
            )
            share = ac.load.p_mw.sum() / max(cap.sum() + ext_cap, 1e-9)
            ac.gen["p_mw"] = cap * float(np.clip(share, 0.0, 1.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._model = init_from_pandapower(ac, pp_orig_file="pandapower_v3")
        self._ts_class, self._nr_klu = TimeSeriesCPP, AlgorithmType.NR_KLU
        # One batch object per number of rows: lightsim2grid fixes it at the first modify_* call and
        # keeps the base case (admittance matrix, factorisation pattern) between calls.
        self._batches: dict[int, object] = {}
        self._n_gen_ls = len(self._model.get_generators())
        idx = self.net.bus.index.to_numpy()
        # lightsim2grid numbers buses in sorted pandapower index order
        self._ls_bus = np.searchsorted(np.sort(idx), idx)
        self._live = self.topology.live
        vm0 = np.ones(len(idx))  # start: set-point magnitudes at voltage-controlled buses, flat angles
        for table in ("gen", "ext_grid"):
            on = ac[table][ac[table].in_service.astype(bool)]
            vm0[np.searchsorted(np.sort(idx), on.bus.to_numpy())] = on.vm_pu.to_numpy()
        self._v0 = vm0.astype(complex)
        self._scale = {
            e: (self.net[e].scaling.to_numpy(dtype=float) if "scaling" in self.net[e] else 1.0)
            for e in ("sgen", "load")
        }
        vn = self.net.bus.vn_kv
        line, trafo = self.net.line, self.net.trafo
        i_max = (line.max_i_ka * line.df * line.parallel).to_numpy(dtype=float)
        vf = np.r_[vn.reindex(line.from_bus).to_numpy(), vn.reindex(trafo.hv_bus).to_numpy()]
        vt = np.r_[vn.reindex(line.to_bus).to_numpy(), vn.reindex(trafo.lv_bus).to_numpy()]
        denom = (trafo.sn_mva * trafo.parallel * trafo.df).to_numpy(dtype=float)
        # loading (%) = 100 x max over ends of |S_end| / (vm_end x k_end) (pandapower's definitions)
        with np.errstate(divide="ignore"):
            self._k_f = np.r_[
                1.0 / (SQRT3 * vf[: len(line)] * i_max), trafo.vn_hv_kv.to_numpy() / (vf[len(line) :] * denom)
            ]
            self._k_t = np.r_[
                1.0 / (SQRT3 * vt[: len(line)] * i_max), trafo.vn_lv_kv.to_numpy() / (vt[len(line) :] * denom)
            ]
        pos = {b: k for k, b in enumerate(idx)}
        self._f = np.array(
            [pos[b] for b in np.r_[line.from_bus.to_numpy(), trafo.hv_bus.to_numpy()]], dtype=int
        )
        self._t = np.array(
            [pos[b] for b in np.r_[line.to_bus.to_numpy(), trafo.lv_bus.to_numpy()]], dtype=int
        )
        shunt = (
            self.net.shunt[self.net.shunt.in_service.astype(bool)] if len(self.net.shunt) else self.net.shunt
        )
        self._shunt_p_mw = np.zeros(len(idx))
        if len(shunt):
            np.add.at(
                self._shunt_p_mw, [pos[b] for b in shunt.bus], (shunt.p_mw * shunt.step).to_numpy(float)
            )
        self.vm_min_pu, self.vm_max_pu = _limits(self.net)
        self.monitored_bus = _monitored_buses(self.net)

    def _run_batch(
        self, gen, sgen, lp, lq
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        ts = self._batches.get(gen.shape[0])
        if ts is None:
            ts = self._ts_class(self._model)
            if self._nr_klu in ts.available_default_algorithms():
                ts.change_algorithm(self._nr_klu)
            ts.compute_gen_results = True
            self._batches[gen.shape[0]] = ts
        ts.modify_gen_p(gen)
        ts.modify_sgen_p(sgen)
        ts.modify_load_p(lp)
        ts.modify_load_q(lq)
        ts.compute(self._v0.copy(), int(self.max_iteration), float(self.tolerance_pu))
        ok = np.asarray(ts.converged_mask(), dtype=bool)
        v = np.asarray(ts.get_voltages())
        branch = np.asarray(ts.compute_branch_results())
        gen_p = np.asarray(ts.get_gen_results())[..., 0] if ok.any() else np.zeros((len(ok), gen.shape[1]))
        iters = np.asarray(ts.get_row_nb_iter()).ravel()
        return ok, v, branch, gen_p, iters

    def ac_check(
        self, gen_p_mw: np.ndarray, sgen_p_mw: np.ndarray, load_p_mw: np.ndarray, load_q_mvar: np.ndarray
    ) -> AcCheck:
        """AC power flow of all periods in one lightsim2grid batch.

        Args:
            gen_p_mw: (T, len(net.gen)); sgen_p_mw: (T, len(net.sgen)); load_p_mw, load_q_mvar:
                (T, len(net.load)), element row order of the net.

        Returns:
            :class:`AcCheck`; failed periods have NaN results and a cause.
        """
        gen_p_mw, sgen_p_mw, load_p_mw, load_q_mvar = (
            np.atleast_2d(np.asarray(a, dtype=float)) for a in (gen_p_mw, sgen_p_mw, load_p_mw, load_q_mvar)
        )
        n_t = gen_p_mw.shape[0]
        gen = np.zeros((n_t, self._n_gen_ls))
        gen[:, : gen_p_mw.shape[1]] = gen_p_mw
        sgen = np.ascontiguousarray(sgen_p_mw * self._scale["sgen"])
        lp = np.ascontiguousarray(load_p_mw * self._scale["load"])
        lq = np.ascontiguousarray(load_q_mvar * self._scale["load"])
        v = np.full((n_t, self.n_bus), np.nan + 0j)
        s_br = np.full((n_t, self.n_line, 4), np.nan)
        slack = np.full(n_t, np.nan)
        converged = np.zeros(n_t, dtype=bool)
        cause = [""] * n_t
        start = 0
        while start < n_t:
            ok, vb, br, gp, iters = self._run_batch(gen[start:], sgen[start:], lp[start:], lq[start:])
            n_ok = int(np.argmin(ok)) if not ok.all() else len(ok)
            rows = slice(start, start + n_ok)
            converged[rows] = True
            v[rows] = vb[:n_ok][:, self._ls_bus]
            s_br[rows] = br[:n_ok]
            slack[rows] = gp[:n_ok].sum(axis=1) - gen[rows].sum(axis=1)
            if n_ok == len(ok):
                break
            bad = start + n_ok
            cause[bad] = (
                f"lightsim2grid Newton-Raphson did not converge (period {bad}, "
                f"{int(iters[n_ok]) if n_ok < len(iters) else 0} iterations, limit {self.max_iteration})"
            )
            start = bad + 1
        v[:, ~self._live] = np.nan
        vm = np.abs(v)
        s_f = s_br[..., 0] + 1j * s_br[..., 1]
        s_t = s_br[..., 2] + 1j * s_br[..., 3]
        with np.errstate(invalid="ignore", divide="ignore"):
            loading = 100.0 * np.maximum(
                np.nan_to_num(np.abs(s_f) / vm[:, self._f] * self._k_f),
                np.nan_to_num(np.abs(s_t) / vm[:, self._t] * self._k_t),
            )
        loading[~converged] = np.nan
        total_gen = gen_p_mw.sum(axis=1) + slack + sgen.sum(axis=1)
        losses = total_gen - lp.sum(axis=1) - np.nansum(vm**2 * self._shunt_p_mw[None, :], axis=1)
        return AcCheck(
            vm_pu=vm,
            va_degree=np.degrees(np.angle(v)),
            p_from_mw=s_br[..., 0],
            loading_percent=loading,
            slack_p_mw=slack,
            losses_mw=np.where(converged, losses, np.nan),
            converged=converged,
            cause=cause,
            vm_min_pu=self.vm_min_pu,
            vm_max_pu=self.vm_max_pu,
            monitored_bus=self.monitored_bus,
        )


class PandapowerBackend:
    """Reference backend: one pandapower power flow per period.

    DC flows come from ``rundcpp`` with the injections placed on probe sgens (all other elements
    zeroed); the AC check sets gen/sgen/load values and calls ``runpp`` with ``recycle`` (a full
    ``runpp`` again after a period that failed, so a bad period cannot poison the next start).
    """

    _RECYCLE = {"bus_pq": True, "gen": True, "trafo": False}

    def __init__(self, net: pp.pandapowerNet) -> None:
        self.net, self.topology = _prepare_net(net)
        self.n_bus = len(self.net.bus)
        self.n_line = len(self.net.line) + len(self.net.trafo)
        self.vm_min_pu, self.vm_max_pu = _limits(self.net)
        self.monitored_bus = _monitored_buses(self.net)
        self._dc_net: pp.pandapowerNet | None = None

    def dc_flows_mw(self, injections_mw: np.ndarray) -> np.ndarray:
        """DC branch flows (T, n_line) by one ``rundcpp`` per period."""
        inj = np.atleast_2d(np.asarray(injections_mw, dtype=float))
        if inj.shape[1] != self.n_bus:
            raise ValueError(f"injections must have {self.n_bus} columns, got shape {inj.shape}")
        if self._dc_net is None:
            net = copy.deepcopy(self.net)
            for element in ("load", "sgen", "gen"):
                net[element]["p_mw"] = 0.0
            self._probe = np.array(
                [pp.create_sgen(net, int(b), p_mw=0.0, name="probe") for b in net.bus.index]
            )
            self._dc_net = net
        net = self._dc_net
        out = np.empty((inj.shape[0], self.n_line))
        for t, row in enumerate(inj):
            net.sgen.loc[self._probe, "p_mw"] = row
            with _quiet_pandapower():
                pp.rundcpp(net)
            out[t] = np.r_[net.res_line.p_from_mw.to_numpy(), net.res_trafo.p_hv_mw.to_numpy()]
        return out

    def ac_check(
        self, gen_p_mw: np.ndarray, sgen_p_mw: np.ndarray, load_p_mw: np.ndarray, load_q_mvar: np.ndarray
    ) -> AcCheck:
        """``runpp`` per period; a non-converged period is reported with pandapower's message."""
        gen_p_mw, sgen_p_mw, load_p_mw, load_q_mvar = (
            np.atleast_2d(np.asarray(a, dtype=float)) for a in (gen_p_mw, sgen_p_mw, load_p_mw, load_q_mvar)
        )
        net = self.net
        n_t = gen_p_mw.shape[0]
        vm = np.full((n_t, self.n_bus), np.nan)
        va = np.full((n_t, self.n_bus), np.nan)
        p_from = np.full((n_t, self.n_line), np.nan)
        loading = np.full((n_t, self.n_line), np.nan)
        slack = np.full(n_t, np.nan)
        losses = np.full(n_t, np.nan)
        converged = np.zeros(n_t, dtype=bool)
        cause = [""] * n_t
        fresh = True
        for t in range(n_t):
            net.gen["p_mw"] = gen_p_mw[t]
            net.sgen["p_mw"] = sgen_p_mw[t]
            net.load["p_mw"] = load_p_mw[t]
            net.load["q_mvar"] = load_q_mvar[t]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if fresh:
                        pp.runpp(net, numba=False, init="dc")
                    else:
                        pp.runpp(net, numba=False, recycle=self._RECYCLE)
            except Exception as err:  # pandapower raises LoadflowNotConverged and numerical errors
                cause[t] = f"{type(err).__name__}: {err}"
                fresh = True
                continue
            if not net.converged:
                cause[t] = "runpp reported no convergence"
                fresh = True
                continue
            fresh = False
            converged[t] = True
            vm[t] = net.res_bus.vm_pu.to_numpy()
            va[t] = net.res_bus.va_degree.to_numpy()
            p_from[t] = np.r_[net.res_line.p_from_mw.to_numpy(), net.res_trafo.p_hv_mw.to_numpy()]
            loading[t] = np.r_[
                net.res_line.loading_percent.to_numpy(), net.res_trafo.loading_percent.to_numpy()
            ]
            slack[t] = float(net.res_ext_grid.p_mw.sum())
            # element injections summed over buses = branch losses (+ shunt conductance, zero here)
            losses[t] = float(-net.res_bus.p_mw.sum())
        return AcCheck(
            vm_pu=vm,
            va_degree=va,
            p_from_mw=p_from,
            loading_percent=loading,
            slack_p_mw=slack,
            losses_mw=losses,
            converged=converged,
            cause=cause,
            vm_min_pu=self.vm_min_pu,
            vm_max_pu=self.vm_max_pu,
            monitored_bus=self.monitored_bus,
        )
