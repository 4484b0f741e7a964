"""Carbon emission flow: nodal carbon intensity and renewable share by proportional sharing.

Kang, Zhou, Chen, Xia, Xu, "Carbon Emission Flow from Generation to Demand: A Network-Based Model",
IEEE Trans. Smart Grid 6(5), 2015 (seed 003 reference [14]). With lossless DC flows, power arriving at
a bus mixes perfectly (proportional sharing) and leaves it, over its outgoing branches and to its load,
with one intensity. Per period, with P_B[i, j] >= 0 the power sent from bus i to bus j over branches
(both directions of every branch folded in), P_G the generation injected at each bus and E_G its
emission rate (kg/h), the nodal throughput is

    P_N,b = P_G,b + sum_i P_B[i, b]                                   (inflow, Kang Eq. 17)

and the nodal carbon intensity e (kg/MWh) solves

    (diag(P_N) - P_B^T) e = E_G                                       (Kang Eq. 21)

The renewable share r of the power at each bus is the same system with the renewable injection
(MW) on the right-hand side. All periods are solved at once (a batch of dense n_bus x n_bus systems,
``numpy.linalg.solve``). Equations and conventions: ``docs/grid.md`` section 2.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grid.cases import GridCase
from grid.dispatch import DispatchResult

_TOL_MW = 1e-9


@dataclass
class CarbonFlow:
    """Carbon emission flow of T periods (arrays (T, n_bus) in ``net.bus.index`` order unless noted).

    Attributes:
        ci_kg_per_mwh: carbon intensity of the power consumed at each bus (NaN where no power flows
            through the bus).
        renewable_share: fraction of the power at each bus that comes from the renewable plants
            (NaN where none flows); the nodal zero-carbon index of seed 003 section 5.4.
        consumption_mw: power consumed at each bus (demand, >= 0).
        generation_mw: power injected at each bus (thermal units, plants, park export).
        throughput_mw: nodal throughput P_N (generation + inflow).
        emission_kg_per_h: rate of emissions attributed to each bus's consumption (consumption x ci).
        branch_ci_kg_per_mwh: (T, n_line) intensity of each branch flow (that of its sending bus).
        system_ci_kg_per_mwh: (T,) total emissions / total consumption.
    """

    ci_kg_per_mwh: np.ndarray
    renewable_share: np.ndarray
    consumption_mw: np.ndarray
    generation_mw: np.ndarray
    throughput_mw: np.ndarray
    emission_kg_per_h: np.ndarray
    branch_ci_kg_per_mwh: np.ndarray
    system_ci_kg_per_mwh: np.ndarray


def carbon_emission_flow(
    generation_mw: np.ndarray,
    emission_kg_per_h: np.ndarray,
    renewable_mw: np.ndarray,
    consumption_mw: np.ndarray,
    flows_mw: np.ndarray,
    from_bus: np.ndarray,
    to_bus: np.ndarray,
) -> CarbonFlow:
    """Proportional-sharing carbon emission flow for T periods (Kang et al. 2015, Eqs. 17-21).

    Args:
        generation_mw: (T, n_bus) power injected at each bus (>= 0).
        emission_kg_per_h: (T, n_bus) emission rate of that injection (sum of unit output x factor).
        renewable_mw: (T, n_bus) renewable part of the injection.
        consumption_mw: (T, n_bus) power consumed at each bus (>= 0).
        flows_mw: (T, n_line) lossless branch flows, positive from ``from_bus`` to ``to_bus``.
        from_bus, to_bus: (n_line,) bus array positions of the branch ends.

    Returns:
        A :class:`CarbonFlow`.

    Raises:
        ValueError: shapes disagree, or negative generation/consumption.
    """
    g = np.atleast_2d(np.asarray(generation_mw, dtype=float))
    n_t, n_b = g.shape
    e_g = np.asarray(emission_kg_per_h, dtype=float).reshape(n_t, n_b)
    r_g = np.asarray(renewable_mw, dtype=float).reshape(n_t, n_b)
    d = np.asarray(consumption_mw, dtype=float).reshape(n_t, n_b)
    f = np.asarray(flows_mw, dtype=float).reshape(n_t, -1)
    fb, tb = np.asarray(from_bus, dtype=int), np.asarray(to_bus, dtype=int)
    if f.shape[1] != len(fb) or len(fb) != len(tb):
        raise ValueError(f"flows {f.shape} and branch ends {len(fb)}/{len(tb)} disagree")
    if (g < -_TOL_MW).any() or (d < -_TOL_MW).any():
        raise ValueError("generation_mw and consumption_mw must be >= 0 (split net injections first)")
    fwd, bwd = np.clip(f, 0.0, None), np.clip(-f, 0.0, None)
    # sender -> receiver for both directions; parallel branches add up
    send = np.r_[fb, tb]
    recv = np.r_[tb, fb]
    p = np.concatenate([fwd, bwd], axis=1)  # (T, 2 n_line)
    a = np.zeros((n_t, n_b, n_b))
    # A = diag(P_N) - P_B^T:  A[t, recv, send] -= P
    np.add.at(a, (slice(None), recv, send), -p)
    inflow = np.zeros((n_t, n_b))
    np.add.at(inflow.T, recv, p.T)
    throughput = g + inflow
    idle = throughput <= _TOL_MW
    diag = np.where(idle, 1.0, throughput)
    idx = np.arange(n_b)
    a[:, idx, idx] += diag
    rhs = np.stack([np.where(idle, 0.0, e_g), np.where(idle, 0.0, r_g)], axis=2)
    sol = np.linalg.solve(a, rhs)
    ci = np.where(idle, np.nan, sol[..., 0])
    share = np.where(idle, np.nan, sol[..., 1])
    emission = np.nan_to_num(ci) * d
    total_d = d.sum(axis=1)
    sys_ci = np.divide(e_g.sum(axis=1), total_d, out=np.full(n_t, np.nan), where=total_d > _TOL_MW)
    sender = np.where(f >= 0.0, fb[None, :], tb[None, :])
    return CarbonFlow(
        ci_kg_per_mwh=ci,
        renewable_share=share,
        consumption_mw=d,
        generation_mw=g,
        throughput_mw=throughput,
        emission_kg_per_h=emission,
        branch_ci_kg_per_mwh=np.take_along_axis(ci, sender, axis=1),
        system_ci_kg_per_mwh=sys_ci,
    )


def branch_ends(case: GridCase) -> tuple[np.ndarray, np.ndarray]:
    """(from, to) bus array positions of every branch (lines then trafos; hv side is 'from')."""
    net = case.net
    key = "branch_ends"
    if key not in case._cache:
        f = case.bus_position(np.r_[net.line.from_bus.to_numpy(), net.trafo.hv_bus.to_numpy()])
        t = case.bus_position(np.r_[net.line.to_bus.to_numpy(), net.trafo.lv_bus.to_numpy()])
        case._cache[key] = (f, t)
    return case._cache[key]


def dispatch_injections(case: GridCase, result: DispatchResult) -> tuple[np.ndarray, ...]:
    """Per-bus generation, emission rate, renewable injection and consumption of a dispatch.

    Negative bus demand (a park exporting its PV) counts as zero-carbon renewable generation at that
    bus; shed load reduces consumption; spilled power counts as consumption at its bus.

    Returns:
        (generation_mw, emission_kg_per_h, renewable_mw, consumption_mw), each (T, n_bus).
    """
    n_t, n_b = result.demand_mw.shape
    gen = np.zeros((n_t, n_b))
    emis = np.zeros((n_t, n_b))
    ren = np.zeros((n_t, n_b))
    if case.thermal:
        pos = case.bus_position([u.bus for u in case.thermal])
        np.add.at(gen.T, pos, result.thermal_p_mw.T)
        np.add.at(emis.T, pos, (result.thermal_p_mw * result.unit_co2_kg_per_mwh[None, :]).T)
    if case.renewables:
        pos = case.bus_position([r.bus for r in case.renewables])
        np.add.at(ren.T, pos, result.renewable_p_mw.T)
    net_demand = result.demand_mw - result.shed_mw + result.spill_mw
    export = np.clip(-net_demand, 0.0, None)
    ren += export
    gen += ren
    return gen, emis, ren, np.clip(net_demand, 0.0, None)


def dispatch_carbon_flow(case: GridCase, result: DispatchResult) -> CarbonFlow:
    """Carbon emission flow of a DC dispatch of ``case`` (its DC flows and unit outputs).

    Args:
        case: the dispatched case.
        result: output of :func:`grid.dispatch.dispatch_day` for that case.

    Returns:
        :class:`CarbonFlow`; ``renewable_share`` is the nodal zero-carbon index parks respond to.
    """
    gen, emis, ren, cons = dispatch_injections(case, result)
    f, t = branch_ends(case)
    return carbon_emission_flow(gen, emis, ren, cons, result.flows_mw, f, t)


def nodal_zero_carbon_index(
    case: GridCase, result: DispatchResult, buses: Sequence[int] | None = None
) -> dict[int, np.ndarray]:
    """Nodal zero-carbon index (renewable share of the power at the bus) per period, for some buses.

    The bus-level analogue of the system index eta_GI (seed 003 Eq. 1), for parks to respond to their
    own bus's index (``system_index.source: grid_nodal``). Where no power flows through a bus in a period
    (share undefined) the system eta_GI of that period is used.

    Args:
        case: the dispatched case.
        result: its dispatch.
        buses: pandapower buses; default the case's park buses.

    Returns:
        {bus: (T,) index in [0, 1]}.
    """
    cf = dispatch_carbon_flow(case, result)
    buses = case.park_buses if buses is None else buses
    pos = case.bus_position(buses)
    share = np.where(np.isnan(cf.renewable_share), result.eta_gi[:, None], cf.renewable_share)
    return {int(b): np.clip(share[:, k], 0.0, 1.0) for b, k in zip(buses, pos, strict=True)}
