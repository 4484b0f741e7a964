"""Small synthetic sites shared by the multi-energy tests (no file I/O)."""

from __future__ import annotations

import numpy as np

from aggregation.kinds.battery import BatterySpec
from aggregation.kinds.gas_turbine import GasTurbineSpec
from aggregation.kinds.heat_pump import HeatPumpSpec
from aggregation.kinds.thermal_storage import ThermalStorageSpec
from aggregation.multi_energy import CarbonSpec, SiteConfig, SiteData


def day_site(soc_dependent: bool = True) -> tuple[SiteConfig, SiteData]:
    """Seed 002 devices plus a heat pump over a smooth synthetic day (24 h)."""
    cfg = SiteConfig(gt=GasTurbineSpec(), battery=BatterySpec(soc_dependent_efficiency=soc_dependent),
                     tes=ThermalStorageSpec(), hp=HeatPumpSpec(p_max_kw=300),
                     carbon=CarbonSpec(price_per_kg=0.03, quota_kg_per_day=1500))
    T = 24
    h = np.arange(T)
    buy = np.where(h < 6, 0.05, np.where(h < 8, 0.10, np.where(h < 22, 0.15, 0.10)))
    data = SiteData(1.0, 2000 + 800 * np.sin(h / 24 * 2 * np.pi), 1100 + 400 * np.cos(h / 24 * 2 * np.pi),
                    300 + 200 * np.sin(h / 3), np.clip(1500 * np.sin((h - 6) / 12 * np.pi), 0, None), buy,
                    np.full(T, 0.04))
    return cfg, data


def toy_site(shutdown: bool = False) -> tuple[SiteConfig, SiteData]:
    """3 periods: a banded turbine (0-500 kW, edge 200 kW) and a lossless battery; no heat load.

    Built so that every vertex of the LP lies on the brute-force grid (100 kW turbine, 50 kW battery).
    ``shutdown``: P_min 200 kW, start/stop allowed, off at first, 5 per start, 2 per hour when on.
    """
    extra = (dict(p_min_kw=200, p_init_kw=0, allow_shutdown=True, start_cost=5.0, cost_c_per_h=2.0) if shutdown
             else dict(p_min_kw=0, p_init_kw=100, cost_c_per_h=0))
    gt = GasTurbineSpec(p_max_kw=500, eta_electric=0.5, heat_to_power_ratio=0.0,
                        ramp_band_edges_kw=(200.0,), ramp_up_kw_per_h=(100.0, 300.0),
                        ramp_down_kw_per_h=(100.0, 300.0), cost_a_per_mw2h=0, cost_b_per_mwh=0,
                        emission_kg_per_kwh_gas=0.0, **extra)
    bat = BatterySpec(capacity_kwh=200, p_charge_max_kw=100, p_discharge_max_kw=100, eta_charge=1.0,
                      eta_discharge=1.0, soc_min=0.0, soc_max=1.0, soc_init=0.5, soc_dependent_efficiency=False)
    cfg = SiteConfig(gt=gt, battery=bat, carbon=CarbonSpec(price_per_kg=0.0), gas_price_per_kwh=0.1,
                     imbalance_penalty_per_kwh=10.0)
    data = SiteData(1.0, np.array([300.0, 500.0, 200.0]), np.zeros(3), np.zeros(3), np.zeros(3),
                    np.array([0.1, 0.5, 0.05]), np.zeros(3))
    return cfg, data
