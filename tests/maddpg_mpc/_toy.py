"""Small synthetic sites for the MADDPG–MPC tests (no file I/O)."""

from __future__ import annotations

import numpy as np

from aggregation.kinds.battery import BatterySpec
from aggregation.kinds.gas_turbine import GasTurbineSpec
from aggregation.kinds.heat_pump import HeatPumpSpec
from aggregation.kinds.thermal_storage import ThermalStorageSpec
from aggregation.multi_energy import CarbonSpec, SiteConfig, SiteData


def toy_day(T: int = 8) -> tuple[SiteConfig, SiteData]:
    """Seed 002 devices (banded turbine, SOC-dependent battery, tank) plus a heat pump, T hourly periods."""
    cfg = SiteConfig(gt=GasTurbineSpec(), battery=BatterySpec(soc_dependent_efficiency=True),
                     tes=ThermalStorageSpec(), hp=HeatPumpSpec(p_max_kw=300),
                     carbon=CarbonSpec(price_per_kg=0.03, quota_kg_per_day=1500 * T / 24))
    h = np.arange(T) * 24 / T
    buy = np.where(h < 6, 0.05, np.where(h < 8, 0.10, np.where(h < 22, 0.15, 0.10)))
    data = SiteData(1.0, 2000 + 800 * np.sin(h / 24 * 2 * np.pi), 1100 + 400 * np.cos(h / 24 * 2 * np.pi),
                    300 + 200 * np.sin(h / 3), np.clip(1500 * np.sin((h - 6) / 12 * np.pi), 0, None), buy,
                    np.full(T, 0.04))
    return cfg, data
