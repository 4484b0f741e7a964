"""Multi-energy site simulator: a handful of device groups on one electric and one heat bus.

A site is a gas turbine/CHP, a battery, a thermal storage tank and a heat pump (the
controllable groups, any subset), wind and PV (weather-driven, curtailable) and a grid
connection (the electric slack within its buy/sell limits). Each period (seed 001 §2.4,
seed 002 §3.3 ① ⑥)::

    electric:  P_gt + P_bat + P_wind + P_pv + P_buy - P_sell + unserved_e - excess_e = L_e + P_hp
    heat:      Q_gt + COP*P_hp + Q_tes + unserved_h - vented_h = L_h

Set-points are clipped to each device's feasible range (ramp bands, SOC room: seed 002 §4.3 ③
"action clipping"); the grid then absorbs the residual within its limits; surplus beyond the
sell limit first curtails wind/PV; what still does not balance is *imbalance*
(``unserved_e_kw`` or ``excess_e_kw``; ``unserved_h_kw``), reported and penalised, never hidden.
Surplus heat is vented (``vented_h_kw``: a CHP exhaust bypass; reported, free).

Costs per period (currency of the tariff): grid purchase, sale revenue, gas, the seed 002
quadratic operating cost of the turbine, and the imbalance penalty. Carbon is priced per day
(seed 001 §2.3): with trading ``price * max(0, E - quota)``, without ``price * E``.

Device physics lives in :mod:`aggregation.kinds` (battery, gas_turbine, heat_pump,
thermal_storage, wind, me_pv, grid_exchange). For speed (one period in a few microseconds,
for the RL environments) the simulator runs a scalar, group-aggregated copy of the same equations
(``count`` identical units sharing a set-point equally act as one unit scaled by ``count``);
``tests/multi_energy/test_devices.py`` checks it against the kinds' vectorised ``step``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from aggregation.distributions import STRICT_CONFIG
from aggregation.kinds.battery import BatterySpec
from aggregation.kinds.gas_turbine import GasTurbineSpec
from aggregation.kinds.grid_exchange import GridExchangeSpec
from aggregation.kinds.heat_pump import HeatPumpSpec
from aggregation.kinds.me_pv import MultiEnergyPVSpec, pv_available_kw
from aggregation.kinds.thermal_storage import ThermalStorageSpec
from aggregation.kinds.wind import WindSpec, wind_available_kw

#: controllable groups in action-vector order; each present group is one action (kW, generation sign
#: for gt/battery/tes, consumption sign for the heat pump)
CONTROL_ORDER: tuple[str, ...] = ("gt", "battery", "tes", "hp")


class CarbonSpec(BaseModel):
    """Carbon pricing (seed 001 §2.3 and Table 6; seed 002 §3.3 ③, §5.1)."""

    # strict and finite: booleans, quoted numbers, NaN and inf are errors (issue 10).
    model_config = STRICT_CONFIG

    price_per_kg: float = Field(0.03, ge=0, le=10, allow_inf_nan=False)
    quota_kg_per_day: float = Field(1500.0, ge=0, le=1e9, allow_inf_nan=False)
    trading: bool = True
    hard_cap: bool = False


@dataclass(frozen=True)
class SiteConfig:
    """Devices of a site (None = absent) and its grid, carbon and penalty settings."""

    grid: GridExchangeSpec = field(default_factory=GridExchangeSpec)
    gt: GasTurbineSpec | None = None
    battery: BatterySpec | None = None
    tes: ThermalStorageSpec | None = None
    hp: HeatPumpSpec | None = None
    wind: WindSpec | None = None
    pv: MultiEnergyPVSpec | None = None
    carbon: CarbonSpec = field(default_factory=CarbonSpec)
    imbalance_penalty_per_kwh: float = 1.0
    gas_price_per_kwh: float = 0.025

    @property
    def controls(self) -> tuple[str, ...]:
        return tuple(g for g in CONTROL_ORDER if getattr(self, g) is not None)


@dataclass(frozen=True)
class SiteData:
    """Exogenous series of one horizon, each (T,): loads, renewable availability, prices."""

    dt_h: float
    load_e_kw: np.ndarray
    load_h_kw: np.ndarray
    wind_kw: np.ndarray
    pv_kw: np.ndarray
    buy_price: np.ndarray
    sell_price: np.ndarray

    @property
    def n_periods(self) -> int:
        return len(self.load_e_kw)

    def window(self, t0: int, t1: int) -> SiteData:
        """Periods [t0, t1) (copies)."""
        return SiteData(self.dt_h, *(np.array(getattr(self, k)[t0:t1]) for k in
                                     ("load_e_kw", "load_h_kw", "wind_kw", "pv_kw", "buy_price", "sell_price")))


def renewable_available(cfg: SiteConfig, wind_speed_m_s: np.ndarray, ghi_w_m2: np.ndarray, t_air_c: np.ndarray,
                        dt_h: float) -> tuple[np.ndarray, np.ndarray]:
    """(wind_kw, pv_kw), each (T,), from weather series at 10 m / horizontal (zeros for absent groups)."""
    n = len(wind_speed_m_s)
    wind = wind_available_kw(cfg.wind, wind_speed_m_s, dt_h) if cfg.wind is not None else np.zeros(n)
    pv = pv_available_kw(cfg.pv, ghi_w_m2, t_air_c) if cfg.pv is not None else np.zeros(n)
    return wind, pv


class MultiEnergySim:
    """Period-by-period simulator of one site over ``data.n_periods`` periods.

    Args:
        cfg: devices and settings.
        data: the realised exogenous series.

    Attributes:
        controls: names of the controllable groups, the order of set-point vectors.
        t: index of the next period.
        emissions_kg: emissions so far this day.
    """

    def __init__(self, cfg: SiteConfig, data: SiteData) -> None:
        self.cfg = cfg
        self.data = data
        self.controls = cfg.controls
        lo, hi = [], []
        for g in self.controls:
            spec = getattr(cfg, g)
            n = spec.count
            if g == "gt":
                lo.append(0.0 if spec.allow_shutdown else spec.p_min_kw * n)
                hi.append(spec.p_max_kw * n)
            elif g == "battery":
                lo.append(-spec.p_charge_max_kw * n)
                hi.append(spec.p_discharge_max_kw * n)
            elif g == "tes":
                lo.append(-spec.q_charge_max_kw * n)
                hi.append(spec.q_discharge_max_kw * n)
            else:
                lo.append(0.0)
                hi.append(spec.p_max_kw * n)
        #: static action ranges (kW), (k,)
        self.range_lo = np.array(lo, dtype=float)
        self.range_hi = np.array(hi, dtype=float)
        self.reset()

    def reset(self) -> None:
        """Back to the initial state of the day."""
        c = self.cfg
        # Group-aggregated scalar state: count identical units sharing a set-point equally behave as one
        # unit scaled by count (tests check this path against the kinds' vectorised steps).
        self.gt_p_kw = c.gt.p_init_kw * c.gt.count if c.gt else 0.0
        self.bat_e_kwh = c.battery.soc_init * c.battery.capacity_kwh * c.battery.count if c.battery else 0.0
        self.tes_e_kwh = c.tes.level_init_kwh * c.tes.count if c.tes else 0.0
        self.t = 0
        self.emissions_kg = 0.0

    # -- state ------------------------------------------------------------------------------------------
    def state(self) -> dict[str, float]:
        """Group states: ``gt_p_kw`` (last output), ``bat_e_kwh``, ``bat_soc``, ``tes_e_kwh``, ``tes_fill``."""
        c = self.cfg
        s: dict[str, float] = {}
        if c.gt is not None:
            s["gt_p_kw"] = self.gt_p_kw
        if c.battery is not None:
            s["bat_e_kwh"] = self.bat_e_kwh
            s["bat_soc"] = self.bat_e_kwh / (c.battery.capacity_kwh * c.battery.count)
        if c.tes is not None:
            s["tes_e_kwh"] = self.tes_e_kwh
            s["tes_fill"] = self.tes_e_kwh / (c.tes.capacity_kwh * c.tes.count)
        return s

    def _gt_range(self, dt: float) -> tuple[float, float, bool]:
        """(lo, hi) when on and whether off is reachable (as ``gas_turbine.on_range``, group totals)."""
        g = self.cfg.gt
        n = g.count
        p1 = self.gt_p_kw / n
        band = sum(1 for e in g.ramp_band_edges_kw if p1 >= e)
        up, down = g.ramp_up_kw_per_h[band] * dt, g.ramp_down_kw_per_h[band] * dt
        off = g.allow_shutdown and p1 <= 0
        if off:
            lo, hi = g.p_min_kw, max(g.p_min_kw, min(g.p_max_kw, up))
        else:
            lo, hi = max(g.p_min_kw, p1 - down), min(g.p_max_kw, p1 + up)
        can_stop = g.allow_shutdown and (off or p1 - down <= g.p_min_kw)
        return lo * n, max(hi, lo) * n, can_stop

    def _gt_bounds(self, dt: float) -> tuple[float, float]:
        lo, hi, can_stop = self._gt_range(dt)
        return (0.0 if can_stop else lo), hi

    def _bat_eta(self) -> tuple[float, float]:
        b = self.cfg.battery
        f = 1.0
        if b.soc_dependent_efficiency:
            x = (self.bat_e_kwh / (b.capacity_kwh * b.count) - b.soc_opt) / (b.soc_max - b.soc_min)
            f = 1.0 - b.efficiency_decay_delta * x * x
        return b.eta_charge * f, b.eta_discharge * f

    def _bat_bounds(self, dt: float) -> tuple[float, float]:
        b = self.cfg.battery
        n = b.count
        eta_ch, eta_dis = self._bat_eta()
        e_lo, e_hi = b.soc_min * b.capacity_kwh * n, b.soc_max * b.capacity_kwh * n
        room_ch = max(e_hi - self.bat_e_kwh, 0.0) / (eta_ch * dt)
        room_dis = max(self.bat_e_kwh - e_lo, 0.0) * eta_dis / dt
        return -min(b.p_charge_max_kw * n, room_ch), min(b.p_discharge_max_kw * n, room_dis)

    def _tes_bounds(self, dt: float) -> tuple[float, float]:
        s = self.cfg.tes
        n = s.count
        room_ch = max(s.capacity_kwh * n - self.tes_e_kwh, 0.0) / (s.eta_charge * dt)
        room_dis = max(self.tes_e_kwh - s.level_min_kwh * n, 0.0) * s.eta_discharge / dt
        return -min(s.q_charge_max_kw * n, room_ch), min(s.q_discharge_max_kw * n, room_dis)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Feasible set-point range (kW) of each control for the next period, each (k,)."""
        dt = self.data.dt_h
        fn = {"gt": self._gt_bounds, "battery": self._bat_bounds, "tes": self._tes_bounds,
              "hp": lambda dt: (0.0, self.cfg.hp.p_max_kw * self.cfg.hp.count)}
        lh = [fn[g](dt) for g in self.controls]
        return np.array([x[0] for x in lh]), np.array([x[1] for x in lh])

    # -- one period -------------------------------------------------------------------------------------
    def step(self, setpoints_kw: np.ndarray) -> dict[str, float]:
        """Apply one period of set-points (k,) in kW (group totals, split equally over units).

        Returns:
            Flat dict of floats: device outputs (``gt_p_kw``, ``gt_q_kw``, ``bat_p_kw``, ``tes_q_kw``,
            ``hp_p_kw``, ``hp_q_kw``), renewable ``wind_kw``/``pv_kw`` used and ``*_avail_kw``,
            ``buy_kw``, ``sell_kw``, imbalance ``unserved_e_kw``, ``excess_e_kw``, ``unserved_h_kw``,
            ``vented_h_kw``, costs ``cost_buy``, ``revenue_sell``, ``cost_gas``, ``cost_gt_om``,
            ``cost_penalty``, ``cost_period``, ``co2_kg``, losses, ``clip_kw`` (sum of |set-point - applied|)
            and the state after the period.

        Raises:
            IndexError: the day is over.
        """
        t = self.t
        d = self.data
        if t >= d.n_periods:
            raise IndexError("the day is over; call reset()")
        dt = d.dt_h
        cfg = self.cfg
        sp = [float(x) for x in np.asarray(setpoints_kw, dtype=np.float64).reshape(-1)]
        gt_p = gt_q = gas = om = bat_p = bat_loss = tes_q = tes_loss = hp_p = hp_q = 0.0
        clip = co2 = 0.0
        for i, g in enumerate(self.controls):
            x = sp[i]
            if g == "gt":  # seed 002 §3.1 ④ ⑤, §3.3 ⑤
                s = cfg.gt
                lo, hi, can_stop = self._gt_range(dt)
                was_off = s.allow_shutdown and self.gt_p_kw <= 0
                gt_p = 0.0 if (can_stop and x < 0.5 * s.p_min_kw * s.count) else min(max(x, lo), hi)
                gt_q = min(s.heat_to_power_ratio * gt_p, s.heat_max_kw * s.count)
                gas = gt_p * dt / s.eta_electric
                pm = gt_p / (1000.0 * s.count)
                on = 0.0 if (s.allow_shutdown and gt_p <= 0) else 1.0
                om = s.count * (s.cost_a_per_mw2h * pm * pm + s.cost_b_per_mwh * pm + s.cost_c_per_h * on) * dt
                if was_off and gt_p > 0:
                    om += s.start_cost * s.count
                co2 += s.emission_kg_per_kwh_gas * gas + s.emission_kg_per_kwh_e * gt_p * dt
                self.gt_p_kw = gt_p
                clip += abs(x - gt_p)
            elif g == "battery":  # seed 002 §3.1 ③ (efficiency at the start-of-period SOC)
                lo, hi = self._bat_bounds(dt)
                bat_p = min(max(x, lo), hi)
                eta_ch, eta_dis = self._bat_eta()
                b = cfg.battery
                if bat_p >= 0:
                    drawn = bat_p * dt / eta_dis
                    bat_loss = drawn - bat_p * dt
                    self.bat_e_kwh -= drawn
                    co2 += b.emission_kg_per_kwh_discharged * bat_p * dt
                else:
                    stored = -bat_p * dt * eta_ch
                    bat_loss = -bat_p * dt - stored
                    self.bat_e_kwh += stored
                n = b.count
                self.bat_e_kwh = min(max(self.bat_e_kwh, b.soc_min * b.capacity_kwh * n), b.soc_max * b.capacity_kwh * n)
                clip += abs(x - bat_p)
            elif g == "tes":  # seed 001 §2.2 item 6
                lo, hi = self._tes_bounds(dt)
                tes_q = min(max(x, lo), hi)
                s = cfg.tes
                if tes_q >= 0:
                    drawn = tes_q * dt / s.eta_discharge
                    tes_loss = drawn - tes_q * dt
                    self.tes_e_kwh -= drawn
                else:
                    stored = -tes_q * dt * s.eta_charge
                    tes_loss = -tes_q * dt - stored
                    self.tes_e_kwh += stored
                self.tes_e_kwh = min(max(self.tes_e_kwh, s.level_min_kwh * s.count), s.capacity_kwh * s.count)
                clip += abs(x - tes_q)
            else:  # seed 001 §2.2 item 7
                hp_p = min(max(x, 0.0), cfg.hp.p_max_kw * cfg.hp.count)
                hp_q = cfg.hp.cop * hp_p
                co2 += cfg.hp.emission_kg_per_kwh_e * hp_p * dt
                clip += abs(x - hp_p)
        wind_av, pv_av = float(d.wind_kw[t]), float(d.pv_kw[t])
        load_e, load_h = float(d.load_e_kw[t]), float(d.load_h_kw[t])
        # electric bus: grid is the slack within its limits, then curtailment, then imbalance
        net = load_e + hp_p - gt_p - bat_p - wind_av - pv_av
        buy = sell = unserved = excess = curt = 0.0
        if net > 0:
            buy = min(net, cfg.grid.buy_max_kw)
            unserved = net - buy
        else:
            sell = min(-net, cfg.grid.sell_max_kw)
            rest = -net - sell
            curt = min(rest, wind_av + pv_av)
            excess = rest - curt
        # curtail PV first (pro rata would cost the same)
        pv_curt = min(curt, pv_av)
        net_h = load_h - gt_q - hp_q - tes_q
        unserved_h, vented = (net_h, 0.0) if net_h > 0 else (0.0, -net_h)
        co2 += cfg.grid.emission_kg_per_kwh_import * buy * dt
        self.emissions_kg += co2
        pen = cfg.imbalance_penalty_per_kwh * (unserved + excess + unserved_h) * dt
        cost_buy = buy * float(d.buy_price[t]) * dt
        rev = sell * float(d.sell_price[t]) * dt
        cost_gas = gas * cfg.gas_price_per_kwh
        r = {
            "t": t, "gt_p_kw": gt_p, "gt_q_kw": gt_q, "gas_kwh": gas, "cost_gt_om": om, "bat_p_kw": bat_p,
            "bat_loss_kwh": bat_loss, "tes_q_kw": tes_q, "tes_loss_kwh": tes_loss, "hp_p_kw": hp_p, "hp_q_kw": hp_q,
            "wind_kw": wind_av - (curt - pv_curt), "pv_kw": pv_av - pv_curt, "wind_avail_kw": wind_av,
            "pv_avail_kw": pv_av, "buy_kw": buy, "sell_kw": sell, "unserved_e_kw": unserved, "excess_e_kw": excess,
            "unserved_h_kw": unserved_h, "vented_h_kw": vented, "load_e_kw": load_e, "load_h_kw": load_h,
            "cost_buy": cost_buy, "revenue_sell": rev, "cost_gas": cost_gas, "cost_penalty": pen, "co2_kg": co2,
            "clip_kw": clip, "cost_period": cost_buy - rev + cost_gas + om + pen,
        }
        r.update(self.state())
        self.t += 1
        return r

    def run(self, schedule_kw: np.ndarray) -> pd.DataFrame:
        """Reset and play a whole schedule (T, k); one row per period (the dicts of :meth:`step`)."""
        self.reset()
        sched = np.asarray(schedule_kw, dtype=float).reshape(self.data.n_periods, len(self.controls))
        return pd.DataFrame([self.step(row) for row in sched])


def carbon_cost(cfg: SiteConfig, emissions_kg: float) -> float:
    """Daily carbon cost (seed 001 §2.3): trading ``price*max(0, E - quota)``, else ``price*E``."""
    c = cfg.carbon
    if c.trading:
        return c.price_per_kg * max(0.0, emissions_kg - c.quota_kg_per_day)
    return c.price_per_kg * emissions_kg


def summarise(cfg: SiteConfig, df: pd.DataFrame, dt_h: float) -> dict[str, float]:
    """Day totals of a run table: costs, emissions, carbon cost with and without trading, absorption rate.

    ``total_cost`` = energy + gas + O&M + penalty - sales + carbon (with the configured trading rule).
    ``absorption_rate`` = renewable energy used / available (1 when nothing was available).
    """
    e = float(df["co2_kg"].sum())
    c = cfg.carbon
    avail = float((df["wind_avail_kw"] + df["pv_avail_kw"]).sum() * dt_h)
    used = float((df["wind_kw"] + df["pv_kw"]).sum() * dt_h)
    out = {
        "cost_buy": float(df["cost_buy"].sum()), "revenue_sell": float(df["revenue_sell"].sum()),
        "cost_gas": float(df["cost_gas"].sum()), "cost_gt_om": float(df["cost_gt_om"].sum()),
        "cost_penalty": float(df["cost_penalty"].sum()), "co2_kg": e,
        "carbon_cost_trading": c.price_per_kg * max(0.0, e - c.quota_kg_per_day),
        "carbon_cost_no_trading": c.price_per_kg * e, "carbon_cost": carbon_cost(cfg, e),
        "absorption_rate": used / avail if avail > 0 else 1.0,
        "unserved_e_kwh": float(df["unserved_e_kw"].sum() * dt_h), "excess_e_kwh": float(df["excess_e_kw"].sum() * dt_h),
        "unserved_h_kwh": float(df["unserved_h_kw"].sum() * dt_h), "vented_h_kwh": float(df["vented_h_kw"].sum() * dt_h),
        "buy_kwh": float(df["buy_kw"].sum() * dt_h), "sell_kwh": float(df["sell_kw"].sum() * dt_h),
    }
    out["total_cost"] = float(df["cost_period"].sum()) + out["carbon_cost"]
    return out
