"""Test networks: pandapower IEEE cases (14, 30, 39 bus) augmented with a merit order, ratings, renewables and parks.

A :class:`GridCase` bundles a pandapower net with the tables the dispatch needs. Build the IEEE
cases with :func:`build_case`; wrap any other pandapower net (e.g. a hand-made 3-bus test system)
with :func:`make_case`. Bus numbers are pandapower bus indices (IEEE number minus one for the IEEE
cases); all per-bus arrays follow ``net.bus.index`` order.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandapower as pp
import pandapower.networks as pn

import grid.data as data
from grid.backend import NetworkRefused, check_network, check_ratings

SQRT3 = float(np.sqrt(3.0))


@dataclass(frozen=True)
class ThermalUnit:
    """A dispatchable unit (gen or ext_grid element of the net).

    Attributes:
        name: label, e.g. ``"nuclear@30"``.
        fuel: key into :data:`grid.data.FUELS` (or any label for hand-made units).
        bus: pandapower bus index.
        element: ``"gen"`` or ``"ext_grid"``.
        element_index: index of the element in ``net[element]``.
        p_max_mw: maximum output.
        p_min_mw: minimum stable output when committed.
        ramp_mw_per_h: maximum change of output per hour, both directions.
        cost_per_mwh: average marginal cost; segment costs are this times the segment factors.
        co2_kg_per_mwh: direct emissions.
        must_run: committed in every period; otherwise output may go to zero.
        energy_mwh_per_day: daily energy limit (hydro), or None.
        segment_cost_factors: marginal cost multipliers of the piecewise-linear cost segments.
    """

    name: str
    fuel: str
    bus: int
    element: str
    element_index: int
    p_max_mw: float
    p_min_mw: float
    ramp_mw_per_h: float
    cost_per_mwh: float
    co2_kg_per_mwh: float
    must_run: bool
    energy_mwh_per_day: float | None = None
    segment_cost_factors: tuple[float, ...] = data.SEGMENT_COST_FACTORS

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Piecewise-linear cost as (segment widths in MW, marginal cost per MWh) arrays.

        The first segment ends at max(p_min, p_max / n_segments) so that the minimum output lies
        inside it; the rest of the range is split evenly. Costs rise from segment to segment.
        """
        n = len(self.segment_cost_factors)
        if self.p_max_mw <= 0:
            return np.zeros(n), self.cost_per_mwh * np.asarray(self.segment_cost_factors)
        first = min(self.p_max_mw, max(self.p_min_mw, self.p_max_mw / n))
        rest = np.full(n - 1, (self.p_max_mw - first) / max(n - 1, 1))
        widths = np.r_[first, rest]
        return widths, self.cost_per_mwh * np.asarray(self.segment_cost_factors, dtype=float)


@dataclass(frozen=True)
class RenewableUnit:
    """A wind farm or PV plant, modelled as a pandapower sgen.

    Attributes:
        name: label, e.g. ``"wind@28"``.
        kind: ``"wind"`` or ``"pv"``.
        bus: pandapower bus index.
        p_mw: installed AC capacity.
        sgen_index: index in ``net.sgen``.
    """

    name: str
    kind: str
    bus: int
    p_mw: float
    sgen_index: int


@dataclass
class GridCase:
    """A network plus everything the dispatch and AC check need.

    Attributes:
        name: case name.
        net: pandapower net holding renewables as sgens and one zero-valued load per park bus.
        thermal: dispatchable units, in LP order.
        renewables: renewable units, in LP order.
        park_buses: buses where parks may connect (default assignment order).
        base_load_index: ``net.load`` indices of the case's own loads (scaled by the load profile).
        park_load_index: mapping park bus -> ``net.load`` index of its park load element.
        load_scale: multiplier on the case's peak loads.
    """

    name: str
    net: pp.pandapowerNet
    thermal: tuple[ThermalUnit, ...]
    renewables: tuple[RenewableUnit, ...]
    park_buses: tuple[int, ...]
    base_load_index: np.ndarray
    park_load_index: dict[int, int]
    load_scale: float = 1.0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_bus(self) -> int:
        return len(self.net.bus)

    @property
    def bus_index(self) -> np.ndarray:
        """pandapower bus indices in array order."""
        return self.net.bus.index.to_numpy()

    def bus_position(self, buses: Iterable[int]) -> np.ndarray:
        """Array positions of pandapower bus indices."""
        pos = {int(b): k for k, b in enumerate(self.bus_index)}
        try:
            return np.array([pos[int(b)] for b in buses], dtype=int)
        except KeyError as err:
            raise ValueError(f"bus {err.args[0]} is not in case {self.name!r}") from None

    def base_load_mw(self, profile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Case loads per period, constant power factor.

        Args:
            profile: (T,) fraction of peak per period.

        Returns:
            (p_mw, q_mvar), each (T, n_base_loads) in ``base_load_index`` order.
        """
        if "peak_load" not in self._cache:
            loads = self.net.load.loc[self.base_load_index]
            self._cache["peak_load"] = (
                loads.p_mw.to_numpy() * self.load_scale,
                loads.q_mvar.to_numpy() * self.load_scale,
                self.bus_position(loads.bus),
            )
        peak_p, peak_q, _ = self._cache["peak_load"]
        prof = np.asarray(profile, dtype=float)[:, None]
        return prof * peak_p[None, :], prof * peak_q[None, :]

    def base_load_bus_position(self) -> np.ndarray:
        """Array position of the bus of each base load."""
        self.base_load_mw(np.zeros(1))
        return self._cache["peak_load"][2]

    def branch_rating_mva(self) -> np.ndarray:
        """Thermal rating per branch (lines then trafos) at nominal voltage, in MVA (inf when out of service)."""
        net = self.net
        vn = net.bus.vn_kv.reindex(net.line.from_bus).to_numpy()
        line = (
            SQRT3 * vn * net.line.max_i_ka.to_numpy() * net.line.df.to_numpy() * net.line.parallel.to_numpy()
        )
        trafo = net.trafo.sn_mva.to_numpy() * net.trafo.df.to_numpy() * net.trafo.parallel.to_numpy()
        on = np.r_[net.line.in_service.to_numpy(dtype=bool), net.trafo.in_service.to_numpy(dtype=bool)]
        # out-of-service branches carry no flow and are not monitored
        return np.where(on, np.r_[line, trafo].astype(float), np.inf)

    def branch_names(self) -> list[str]:
        """``line a-b`` / ``trafo a-b`` labels with pandapower bus indices."""
        net = self.net
        lines = [f"line {f}-{t}" for f, t in zip(net.line.from_bus, net.line.to_bus, strict=True)]
        trafos = [f"trafo {h}-{low}" for h, low in zip(net.trafo.hv_bus, net.trafo.lv_bus, strict=True)]
        return lines + trafos


def _unit_from_fuel(fuel: str, bus: int, element: str, index: int, p_max_mw: float) -> ThermalUnit:
    spec = data.FUELS[fuel]
    energy = None if spec.energy_capacity_factor is None else spec.energy_capacity_factor * p_max_mw * 24.0
    return ThermalUnit(
        name=f"{fuel}@{bus}",
        fuel=fuel,
        bus=int(bus),
        element=element,
        element_index=int(index),
        p_max_mw=float(p_max_mw),
        p_min_mw=spec.p_min_frac * float(p_max_mw),
        ramp_mw_per_h=spec.ramp_frac_per_h * float(p_max_mw),
        cost_per_mwh=spec.cost_per_mwh,
        co2_kg_per_mwh=spec.co2_kg_per_mwh,
        must_run=spec.must_run,
        energy_mwh_per_day=energy,
    )


def thermal_units_from_fuels(net: pp.pandapowerNet, fuels_by_bus: dict[int, str]) -> tuple[ThermalUnit, ...]:
    """Thermal units for every in-service gen/ext_grid whose bus has a fuel assigned (gens first)."""
    units = []
    for element in ("gen", "ext_grid"):
        table = net[element]
        for idx, row in table[table.in_service].iterrows():
            bus = int(row.bus)
            if bus in fuels_by_bus:
                units.append(_unit_from_fuel(fuels_by_bus[bus], bus, element, int(idx), float(row.max_p_mw)))
    return tuple(units)


def _set_case14_ratings(net: pp.pandapowerNet) -> None:
    # pandapower converts MATPOWER's missing rateA to 9900 MVA; replace with PGLib's rate_a.
    vn = net.bus.vn_kv
    for idx, row in net.line.iterrows():
        key = (int(row.from_bus) + 1, int(row.to_bus) + 1)
        rate = data.CASE14_RATE_A_MVA[tuple(sorted(key))]
        net.line.at[idx, "max_i_ka"] = rate / (SQRT3 * float(vn.at[row.from_bus]))
    for idx, row in net.trafo.iterrows():
        key = tuple(sorted((int(row.hv_bus) + 1, int(row.lv_bus) + 1)))
        # Derating factor instead of sn_mva: sn_mva also scales the trafo impedance in pandapower.
        net.trafo.at[idx, "df"] = data.CASE14_RATE_A_MVA[key] / float(row.sn_mva)


def make_case(
    name: str,
    net: pp.pandapowerNet,
    thermal: Sequence[ThermalUnit],
    renewables: Sequence[tuple[str, int, float]] = (),
    park_buses: Sequence[int] = (),
    load_scale: float = 1.0,
) -> GridCase:
    """Wrap a pandapower net into a :class:`GridCase`.

    The net is copied. Renewables become sgens; each park bus gets a zero-valued load named
    ``park@<bus>``. Existing loads are the case's base loads (scaled by the daily load profile).

    Args:
        name: case label.
        net: pandapower net with one in-service ext_grid (the DC reference bus). Out-of-service
            branches/buses and parallel branches are fine; see :func:`grid.backend.check_network`.
        thermal: dispatchable units referring to gen/ext_grid elements of ``net``.
        renewables: (kind, bus, p_mw) per renewable plant.
        park_buses: buses where parks may connect.
        load_scale: multiplier on the net's loads, which are read as daily peak values.

    Raises:
        NetworkRefused: (a ``ValueError``) naming the element and the reason: several or no
            in-service ext_grids, an in-service element (load, park, plant, unit) on a bus cut off
            from the reference bus or out of service, a missing/zero branch rating, unsupported
            element kinds (:func:`grid.backend.check_network`, :func:`grid.backend.check_ratings`).
    """
    net = copy.deepcopy(net)
    base_load_index = net.load.index.to_numpy().copy()
    units = []
    for kind, bus, p_mw in renewables:
        if kind not in ("wind", "pv"):
            raise ValueError(f"renewable kind must be 'wind' or 'pv', got {kind!r}")
        if int(bus) not in net.bus.index:
            raise ValueError(f"renewable bus {bus} is not in case {name!r}")
        idx = pp.create_sgen(
            net,
            int(bus),
            p_mw=0.0,
            q_mvar=0.0,
            sn_mva=float(p_mw),
            name=f"{kind}@{bus}",
            type="WP" if kind == "wind" else "PV",
        )
        units.append(RenewableUnit(f"{kind}@{bus}", kind, int(bus), float(p_mw), int(idx)))
    park_load_index = {}
    for bus in dict.fromkeys(int(b) for b in park_buses):
        if bus not in net.bus.index:
            raise ValueError(f"park bus {bus} is not in case {name!r}")
        park_load_index[bus] = int(pp.create_load(net, bus, p_mw=0.0, q_mvar=0.0, name=f"park@{bus}"))
    for unit in thermal:
        if unit.element not in ("gen", "ext_grid") or unit.element_index not in net[unit.element].index:
            raise ValueError(f"unit {unit.name} refers to a missing {unit.element} {unit.element_index}")
        if not bool(net[unit.element].in_service.at[unit.element_index]):
            raise NetworkRefused(
                f"unit {unit.name} refers to out-of-service {unit.element} {unit.element_index}"
            )
    # Refuse, before anything is solved, what the DC dispatch cannot represent (element and reason).
    check_network(net)
    check_ratings(net)
    return GridCase(
        name=name,
        net=net,
        thermal=tuple(thermal),
        renewables=tuple(units),
        park_buses=tuple(int(b) for b in park_buses),
        base_load_index=base_load_index,
        park_load_index=park_load_index,
        load_scale=float(load_scale),
    )


CASE_NAMES = ("case14", "case30", "case39")


def build_case(
    name: str = "case39",
    *,
    wind: Sequence[tuple[int, float]] | None = None,
    pv: Sequence[tuple[int, float]] | None = None,
    renewable_scale: float = 1.0,
    park_buses: Sequence[int] | None = None,
    load_scale: float = 1.0,
) -> GridCase:
    """IEEE 14-, 30- or 39-bus case with merit order, ratings, renewables and park buses.

    Args:
        name: ``"case14"``, ``"case30"`` or ``"case39"`` (:data:`CASE_NAMES`).
        wind: (bus, p_mw) per wind farm; None for the case default (:data:`grid.data.DEFAULT_WIND`).
        pv: (bus, p_mw) per PV plant; None for the case default.
        renewable_scale: multiplier applied to all renewable capacities.
        park_buses: buses where parks connect, in assignment order; None for the case default.
        load_scale: multiplier on the case's loads (read as daily peak).
    """
    if name == "case14":
        net = pn.case14()
        _set_case14_ratings(net)
        # PGLib classifies these units as synchronous condensers: they keep voltage control, no P.
        sync = net.gen.bus.isin(data.CASE14_SYNC_CONDENSER_BUSES)
        net.gen.loc[sync, ["p_mw", "max_p_mw", "min_p_mw"]] = 0.0
        fuels = data.CASE14_UNIT_FUELS
    elif name == "case30":
        # MATPOWER's rateA are kept (pandapower stores them as max_i_ka); all buses are 135 kV.
        net = pn.case30()
        fuels = data.CASE30_UNIT_FUELS
    elif name == "case39":
        net = pn.case39()
        fuels = data.CASE39_UNIT_FUELS
    else:
        raise ValueError(f"unknown case {name!r}; choose one of {CASE_NAMES}")
    net.gen["p_mw"] = 0.0
    wind = data.DEFAULT_WIND[name] if wind is None else wind
    pv = data.DEFAULT_PV[name] if pv is None else pv
    plants = [("wind", b, p * renewable_scale) for b, p in wind] + [
        ("pv", b, p * renewable_scale) for b, p in pv
    ]
    parks = data.DEFAULT_PARK_BUSES[name] if park_buses is None else park_buses
    return make_case(name, net, thermal_units_from_fuels(net, fuels), plants, parks, load_scale)
