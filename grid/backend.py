"""Power-flow backends behind one small numpy interface (in the spirit of Grid2Op's ``Backend``).

Two backends implement :class:`GridBackend` for a pandapower net:

* :class:`PtdfBackend` (fast, default): DC flows by the PTDF matrix from
  ``pandapower.pypower.makePTDF``; the AC check solves all periods at once by a batched
  Newton-Raphson on pandapower's own admittance matrices (Ybus, Yf, Yt of the internal ppc).
* :class:`PandapowerBackend` (reference): ``pandapower.rundcpp`` per period for DC flows and
  ``pandapower.runpp`` with ``recycle`` per period for the AC check.

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
from pandapower.pypower.idx_brch import F_BUS, T_BUS
from pandapower.pypower.idx_bus import BASE_KV, BUS_TYPE, REF, VA
from pandapower.pypower.idx_gen import GEN_BUS, GEN_STATUS, VG
from pandapower.pypower.makeBdc import makeBdc
from pandapower.pypower.makePTDF import makePTDF

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


def _prepare_net(net: pp.pandapowerNet) -> pp.pandapowerNet:
    net = copy.deepcopy(net)
    if len(net.ext_grid) != 1:
        raise ValueError("backends need exactly one ext_grid")
    return net


def _branch_positions(net: pp.pandapowerNet) -> np.ndarray:
    """ppci branch row of each line then trafo."""
    lookup = net._pd2ppc_lookups["branch"]
    rows = []
    for element in ("line", "trafo"):
        n = len(net[element])
        if n == 0:
            continue
        start, stop = lookup[element]
        if stop - start != n:
            raise ValueError(f"out-of-service {element}s are not supported by the backends")
        rows.append(np.arange(start, stop))
    return np.concatenate(rows) if rows else np.zeros(0, dtype=int)


def _monitored_buses(net: pp.pandapowerNet) -> np.ndarray:
    held = set(net.ext_grid.bus[net.ext_grid.in_service]) | set(net.gen.bus[net.gen.in_service])
    return ~net.bus.index.isin(list(held))


def _limits(net: pp.pandapowerNet) -> tuple[np.ndarray, np.ndarray]:
    lo = net.bus.min_vm_pu.to_numpy(dtype=float) if "min_vm_pu" in net.bus else np.full(len(net.bus), 0.94)
    hi = net.bus.max_vm_pu.to_numpy(dtype=float) if "max_vm_pu" in net.bus else np.full(len(net.bus), 1.06)
    return np.nan_to_num(lo, nan=0.94), np.nan_to_num(hi, nan=1.06)


class PtdfBackend:
    """PTDF DC flows and batched Newton-Raphson AC check (see module docstring).

    Args:
        net: pandapower net (copied). All loads must be constant-power.
        tolerance_pu: Newton-Raphson mismatch tolerance (per unit on ``net.sn_mva``), as pandapower.
        max_iteration: Newton-Raphson iteration limit, as pandapower's default for ``runpp``.
    """

    def __init__(self, net: pp.pandapowerNet, tolerance_pu: float = 1e-8, max_iteration: int = 10) -> None:
        self.net = _prepare_net(net)
        self.tolerance_pu = tolerance_pu
        self.max_iteration = max_iteration
        self.n_bus = len(self.net.bus)
        self.n_line = len(self.net.line) + len(self.net.trafo)
        self._build_dc()
        self._build_ac()

    def _build_dc(self) -> None:
        net = copy.deepcopy(self.net)
        for element in ("load", "sgen", "gen"):
            net[element]["p_mw"] = 0.0
        with _quiet_pandapower():
            pp.rundcpp(net)
        ppci = net._ppc["internal"]
        ref = np.flatnonzero(ppci["bus"][:, BUS_TYPE] == REF)
        if len(ref) != 1:
            raise ValueError(f"expected one reference bus, found {len(ref)}")
        ptdf = makePTDF(ppci["baseMVA"], ppci["bus"], ppci["branch"], slack=int(ref[0]))
        bus_pos = net._pd2ppc_lookups["bus"][net.bus.index.to_numpy()]
        self.ptdf = np.ascontiguousarray(ptdf[_branch_positions(net)][:, bus_pos])
        # DC flow is affine in the injections: keep the zero-injection flows (shunts, phase shifters).
        self.flow_offset_mw = np.r_[net.res_line.p_from_mw.to_numpy(), net.res_trafo.p_hv_mw.to_numpy()]

    def _build_ac(self) -> None:
        net = copy.deepcopy(self.net)
        try:
            pp.runpp(net, numba=False)
        except pp.LoadflowNotConverged:
            # Only the admittance matrices are needed here: retry with generators sharing the load.
            share = net.load.p_mw.sum() / max(net.gen.max_p_mw.sum() + net.ext_grid.max_p_mw.sum(), 1e-9)
            net.gen["p_mw"] = net.gen.max_p_mw * share
            try:
                pp.runpp(net, numba=False)
            except pp.LoadflowNotConverged as err:
                raise ValueError(
                    "the base AC power flow of the net does not converge; "
                    "PtdfBackend needs it to build the admittance matrices"
                ) from err
        ppci = net._ppc["internal"]
        self._base_mva = float(ppci["baseMVA"])
        self._ybus = np.asarray(ppci["Ybus"].todense())
        self._yf = np.asarray(ppci["Yf"].todense())
        self._yt = np.asarray(ppci["Yt"].todense())
        self._ref = np.asarray(ppci["ref"], dtype=int)
        self._pv = np.asarray(ppci["pv"], dtype=int)
        self._pq = np.asarray(ppci["pq"], dtype=int)
        self._pvpq = np.r_[self._pv, self._pq]
        # Start like pandapower's init="dc": set-point magnitudes at PV/ref buses, 1.0 elsewhere, DC angles.
        bus = ppci["bus"]
        self._vm0 = np.ones(len(bus))
        gen = ppci["gen"]
        on = gen[:, GEN_STATUS].real > 0
        self._vm0[gen[on, GEN_BUS].real.astype(int)] = gen[on, VG].real
        self._va_ref = np.radians(bus[self._ref, VA].real)
        bbus, _, pbusinj, _, _ = makeBdc(bus, ppci["branch"])
        nonref = np.setdiff1d(np.arange(len(bus)), self._ref)
        self._nonref = nonref
        self._b_inv = np.linalg.inv(np.asarray(bbus.todense())[np.ix_(nonref, nonref)])
        self._pbusinj = np.asarray(pbusinj, dtype=float).ravel()
        n_int = self._ybus.shape[0]
        lookup = net._pd2ppc_lookups["bus"]
        self._bus_pos = lookup[net.bus.index.to_numpy()]
        if n_int != self.n_bus:
            raise ValueError("isolated or out-of-service buses are not supported by PtdfBackend")

        def incidence(element: str) -> np.ndarray:
            table = net[element]
            m = np.zeros((len(table), n_int))
            live = table.in_service.to_numpy(dtype=bool)
            scaling = table.scaling.to_numpy(dtype=float) if "scaling" in table else np.ones(len(table))
            m[np.arange(len(table))[live], lookup[table.bus.to_numpy()[live]]] = scaling[live]
            return m

        self._c_gen, self._c_sgen, self._c_load = incidence("gen"), incidence("sgen"), incidence("load")
        branch = ppci["branch"]
        rows = _branch_positions(net)
        self._f = branch[rows, F_BUS].real.astype(int)
        self._t = branch[rows, T_BUS].real.astype(int)
        self._yf, self._yt = self._yf[rows], self._yt[rows]
        base_kv = ppci["bus"][:, BASE_KV]
        # loading = 100 * max over ends of |S_end| / vm_end * k_end (pandapower's definitions)
        line, trafo = net.line, net.trafo
        i_max = (line.max_i_ka * line.df * line.parallel).to_numpy(dtype=float)
        nl = len(line)
        k_f = np.zeros(self.n_line)
        k_t = np.zeros(self.n_line)
        k_f[:nl] = 1.0 / (SQRT3 * base_kv[self._f[:nl]] * i_max)
        k_t[:nl] = 1.0 / (SQRT3 * base_kv[self._t[:nl]] * i_max)
        denom = (trafo.sn_mva * trafo.parallel * trafo.df).to_numpy(dtype=float)
        k_f[nl:] = trafo.vn_hv_kv.to_numpy(dtype=float) / (base_kv[self._f[nl:]] * denom)
        k_t[nl:] = trafo.vn_lv_kv.to_numpy(dtype=float) / (base_kv[self._t[nl:]] * denom)
        self._k_f, self._k_t = k_f, k_t
        self.vm_min_pu, self.vm_max_pu = _limits(net)
        self.monitored_bus = _monitored_buses(net)

    def dc_flows_mw(self, injections_mw: np.ndarray) -> np.ndarray:
        """DC branch flows (T, n_line) for bus injections (T, n_bus)."""
        inj = np.atleast_2d(np.asarray(injections_mw, dtype=float))
        if inj.shape[1] != self.n_bus:
            raise ValueError(f"injections must have {self.n_bus} columns, got shape {inj.shape}")
        return inj @ self.ptdf.T + self.flow_offset_mw[None, :]

    def _sbus(self, gen_p_mw, sgen_p_mw, load_p_mw, load_q_mvar) -> np.ndarray:
        p = gen_p_mw @ self._c_gen + sgen_p_mw @ self._c_sgen - load_p_mw @ self._c_load
        q = -load_q_mvar @ self._c_load
        return (p + 1j * q) / self._base_mva

    def _jacobian(self, v: np.ndarray, i_bus: np.ndarray) -> np.ndarray:
        y = self._ybus[None, :, :]
        vn = v / np.abs(v)
        diag_i = np.zeros_like(y, shape=(len(v),) + self._ybus.shape)
        idx = np.arange(self._ybus.shape[0])
        diag_i[:, idx, idx] = i_bus
        ds_dvm = v[:, :, None] * np.conj(y * vn[:, None, :])
        ds_dvm[:, idx, idx] += np.conj(i_bus) * vn
        ds_dva = 1j * v[:, :, None] * np.conj(diag_i - y * v[:, None, :])
        pvpq, pq = self._pvpq, self._pq
        top = np.concatenate([ds_dva[:, pvpq][:, :, pvpq].real, ds_dvm[:, pvpq][:, :, pq].real], axis=2)
        bottom = np.concatenate([ds_dva[:, pq][:, :, pvpq].imag, ds_dvm[:, pq][:, :, pq].imag], axis=2)
        return np.concatenate([top, bottom], axis=1)

    def _solve_batch(self, jac: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Newton steps for a stack of systems; returns (steps, ok) with ok False for singular ones."""
        try:
            return np.linalg.solve(jac, rhs[..., None])[..., 0], np.ones(len(jac), dtype=bool)
        except np.linalg.LinAlgError:
            steps = np.zeros_like(rhs)
            ok = np.ones(len(jac), dtype=bool)
            for k in range(len(jac)):
                try:
                    steps[k] = np.linalg.solve(jac[k], rhs[k])
                except np.linalg.LinAlgError:
                    ok[k] = False
            return steps, ok

    def ac_check(
        self, gen_p_mw: np.ndarray, sgen_p_mw: np.ndarray, load_p_mw: np.ndarray, load_q_mvar: np.ndarray
    ) -> AcCheck:
        """Batched Newton-Raphson AC power flow of all periods (polar form, as pandapower's newtonpf)."""
        gen_p_mw, sgen_p_mw, load_p_mw, load_q_mvar = (
            np.atleast_2d(np.asarray(a, dtype=float)) for a in (gen_p_mw, sgen_p_mw, load_p_mw, load_q_mvar)
        )
        sbus = self._sbus(gen_p_mw, sgen_p_mw, load_p_mw, load_q_mvar)
        n_t = sbus.shape[0]
        vm = np.tile(self._vm0, (n_t, 1))
        va = np.zeros((n_t, self.n_bus))
        va[:, self._ref] = self._va_ref
        p_nonref = sbus.real[:, self._nonref] - self._pbusinj[self._nonref]
        va[:, self._nonref] = p_nonref @ self._b_inv.T + self._va_ref[0]
        v = vm * np.exp(1j * va)
        pvpq, pq = self._pvpq, self._pq
        active = np.ones(n_t, dtype=bool)
        converged = np.zeros(n_t, dtype=bool)
        cause = [""] * n_t
        norm = np.full(n_t, np.inf)
        for it in range(self.max_iteration + 1):
            idx = np.flatnonzero(active)
            i_bus = v[idx] @ self._ybus.T
            mis = v[idx] * np.conj(i_bus) - sbus[idx]
            f = np.concatenate([mis[:, pvpq].real, mis[:, pq].imag], axis=1)
            with np.errstate(invalid="ignore"):
                norm[idx] = np.abs(f).max(axis=1, initial=0.0)
            done = norm[idx] < self.tolerance_pu
            bad = ~np.isfinite(norm[idx])
            converged[idx[done]] = True
            for k in idx[bad]:
                cause[k] = "diverged: non-finite voltages"
            active[idx[done | bad]] = False
            keep = ~(done | bad)
            idx, i_bus, f = idx[keep], i_bus[keep], f[keep]
            if len(idx) == 0 or it == self.max_iteration:
                break
            with np.errstate(all="ignore"):
                step, ok = self._solve_batch(self._jacobian(v[idx], i_bus), -f)
            for k in idx[~ok]:
                cause[k] = "singular Jacobian (voltage collapse or islanded bus)"
            active[idx[~ok]] = False
            idx, step = idx[ok], step[ok]
            va[idx[:, None], pvpq[None, :]] += step[:, : len(pvpq)]
            vm[idx[:, None], pq[None, :]] += step[:, len(pvpq) :]
            with np.errstate(all="ignore"):
                v[idx] = vm[idx] * np.exp(1j * va[idx])
        for k in np.flatnonzero(active):
            cause[k] = (
                f"Newton-Raphson did not converge in {self.max_iteration} iterations "
                f"(max mismatch {norm[k] * self._base_mva:.3g} MVA)"
            )
        v[~converged] = np.nan
        return self._results(v, sbus, converged, cause)

    def _results(self, v: np.ndarray, sbus: np.ndarray, converged: np.ndarray, cause: list[str]) -> AcCheck:
        i_bus = v @ self._ybus.T
        s_inj = v * np.conj(i_bus)
        s_f = v[:, self._f] * np.conj(v @ self._yf.T) * self._base_mva
        s_t = v[:, self._t] * np.conj(v @ self._yt.T) * self._base_mva
        vm = np.abs(v)
        loading = 100.0 * np.maximum(
            np.abs(s_f) / vm[:, self._f] * self._k_f, np.abs(s_t) / vm[:, self._t] * self._k_t
        )
        ref = self._ref[0]
        slack = (s_inj[:, ref].real - sbus[:, ref].real) * self._base_mva
        return AcCheck(
            vm_pu=vm[:, self._bus_pos],
            va_degree=np.degrees(np.angle(v))[:, self._bus_pos],
            p_from_mw=s_f.real,
            loading_percent=loading,
            slack_p_mw=slack,
            losses_mw=s_inj.real.sum(axis=1) * self._base_mva,
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
        self.net = _prepare_net(net)
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
