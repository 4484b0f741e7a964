"""Numbers added to the IEEE cases, each with its source (see ``docs/grid.md``).

Everything in this module is plain data; :mod:`grid.cases` turns it into
pandapower elements and unit tables. Bus numbers here are pandapower bus
indices, i.e. IEEE bus number minus one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- fuels ---------------------------------------------------------------------------------------------
# Fuel-only short-run marginal cost = fuel price x heat rate (variable O&M is neglected).
# Sources:
#   heat rates: EIA Electric Power Annual, Table 8.1 "Average operating heat rate", 2022
#       (coal 10,689; petroleum 11,166; natural gas 7,740 Btu/kWh) and EIA Today in Energy
#       (Oct 2020): gas combined-cycle units installed since 2015 average 6,654 Btu/kWh,
#       units installed before 2000 average 8,840 Btu/kWh.
#   fuel prices: EIA Electric Power Monthly Table 4.1 / Electric Power Annual, delivered cost to
#       the electric power sector: coal 2.36 $/MMBtu (2022), petroleum 16.53 $/MMBtu (2022),
#       natural gas 3.36 $/MMBtu (2023; 2022's 7.21 was the price-crisis year).
#   nuclear: NEI, average fuel cost of US nuclear plants 0.75 cent/kWh (2012).
#   CO2 coefficients: EIA "Carbon Dioxide Emissions Coefficients" (kg CO2 per MMBtu):
#       coal (all types) 95.35, natural gas 53.07, residual fuel oil 78.79.
#   minimum stable output and ramp rates: Agora Energiewende (2017), "Flexibility in thermal
#       power plants", commonly achieved values: hard coal 40 % / 1.5 %/min, CCGT 50 % / 2 %/min;
#       nuclear: OECD-NEA (2011), "Technical and economic aspects of load following with nuclear
#       power plants": load following between 50 % and 100 % at >= 2 %/min.
#   import CO2: EIA FAQ "How much CO2 is produced per kWh of US electricity generation", 2023:
#       1.53e9 t / 4.18e12 kWh = 366 kg/MWh.
#   hydro daily energy: EIA Electric Power Monthly Table 6.07.B, conventional hydro capacity
#       factor 40.7 % (2020; 2013-2021 range 35.7-43.0 %).

_MMBTU_PER_MWH_PER_BTU_PER_KWH = 1.0e-3  # 1 Btu/kWh = 1e-3 MMBtu/MWh


@dataclass(frozen=True)
class FuelSpec:
    """Operating parameters shared by all units of one technology.

    Attributes:
        name: technology key.
        cost_per_mwh: fuel-only marginal cost at the unit's average heat rate ($/MWh).
        co2_kg_per_mwh: direct CO2 emissions per MWh generated.
        p_min_frac: minimum stable output as a fraction of ``p_max_mw``.
        ramp_frac_per_h: ramp limit per hour as a fraction of ``p_max_mw`` (1.0 = no limit for hourly steps).
        must_run: committed in every period (``p_min`` enforced); otherwise the unit may
            decommit and its output range is [0, p_max] (LP relaxation of commitment).
        energy_capacity_factor: daily energy limit as a capacity factor (hydro), or None.
    """

    name: str
    cost_per_mwh: float
    co2_kg_per_mwh: float
    p_min_frac: float
    ramp_frac_per_h: float
    must_run: bool
    energy_capacity_factor: float | None = None


def _fossil(
    name: str,
    heat_rate_btu_per_kwh: float,
    price_per_mmbtu: float,
    co2_kg_per_mmbtu: float,
    p_min_frac: float,
    ramp_pct_per_min: float,
    must_run: bool,
) -> FuelSpec:
    mmbtu_per_mwh = heat_rate_btu_per_kwh * _MMBTU_PER_MWH_PER_BTU_PER_KWH
    return FuelSpec(
        name,
        round(price_per_mmbtu * mmbtu_per_mwh, 2),
        round(co2_kg_per_mmbtu * mmbtu_per_mwh, 1),
        p_min_frac,
        min(1.0, ramp_pct_per_min * 60.0 / 100.0),
        must_run,
    )


GAS_PRICE_PER_MMBTU = 3.36
GAS_FLEET_COST_PER_MWH = round(GAS_PRICE_PER_MMBTU * 7.740, 2)

FUELS: dict[str, FuelSpec] = {
    "nuclear": FuelSpec("nuclear", 7.5, 0.0, 0.50, 1.0, True),
    "coal": _fossil("coal", 10689, 2.36, 95.35, 0.40, 1.5, True),
    # Steam units burning residual oil; New England runs them as peakers, so they may decommit.
    "oil_steam": _fossil("oil_steam", 11166, 16.53, 78.79, 0.40, 1.5, False),
    "gas_cc": _fossil("gas_cc", 7740, GAS_PRICE_PER_MMBTU, 53.07, 0.50, 2.0, False),
    "gas_cc_new": _fossil("gas_cc_new", 6654, GAS_PRICE_PER_MMBTU, 53.07, 0.50, 2.0, False),
    "gas_cc_old": _fossil("gas_cc_old", 8840, GAS_PRICE_PER_MMBTU, 53.07, 0.50, 2.0, False),
    # Hydro: 1 $/MWh is a tie-breaker (no source) so the LP never spills water while curtailing wind/PV.
    "hydro": FuelSpec("hydro", 1.0, 0.0, 0.0, 1.0, False, energy_capacity_factor=0.407),
    # Tie to the rest of the Eastern Interconnection: priced at a fleet-average gas unit plus a 10 %
    # wheeling/loss margin (assumption), emitting the 2023 US average intensity.
    "import": FuelSpec("import", round(1.1 * GAS_FLEET_COST_PER_MWH, 2), 366.0, 0.0, 1.0, False),
}

# Piecewise-linear cost: three segments with marginal cost = cost_per_mwh x these factors, so the
# incremental cost rises with output (convex heat-rate curve, Wood & Wollenberg ch. 3). The +-5 %
# spread is a modelling choice; the segment breakpoints are set in grid.cases.
SEGMENT_COST_FACTORS: tuple[float, ...] = (0.95, 1.00, 1.05)

# --- unit technology per case ----------------------------------------------------------------------------
# case39: MATPOWER case39.m header, "The generator locations and types": 30 hydro, 31/32/35/37/38
# nuclear, 33/34/36 fossil, 39 interconnection to rest of US/Canada (IEEE numbering). MATPOWER does not
# say which fossil fuel; we assign coal (34), gas CC (33) and oil steam (36) to spread the merit order.
CASE39_UNIT_FUELS: dict[int, str] = {
    29: "hydro",
    30: "nuclear",
    31: "nuclear",
    32: "gas_cc",
    33: "coal",
    34: "nuclear",
    35: "oil_steam",
    36: "nuclear",
    37: "nuclear",
    38: "import",
}
# case14: PGLib-OPF v21.07 pglib_opf_case14_ieee.m classifies the units at IEEE buses 1 and 2 as natural
# gas ("NG") and those at buses 3, 6, 8 as synchronous condensers ("SYNC", Pmax 0). Bus-2's steeper
# MATPOWER cost (0.25 $/MW^2h vs 0.043) suggests the less efficient unit, hence old vs new CC.
CASE14_UNIT_FUELS: dict[int, str] = {0: "gas_cc_new", 1: "gas_cc_old"}
CASE14_SYNC_CONDENSER_BUSES: tuple[int, ...] = (2, 5, 7)

# case30: MATPOWER case30.m (the 6-generator modification of IEEE 30 by Alsac & Stott, 1974, as in
# pandapower.networks.case30) gives quadratic costs but no technologies. We assign them by the cost curve's
# curvature c2 ($/MW^2h), read as the rise of the incremental heat rate (assumption): the flattest unit
# (IEEE 27, c2 0.00834) is base-load coal, the steepest (IEEE 22, c2 0.0625) an oil steam peaker, and the
# four in between gas combined cycles, newest for the lowest c1 (IEEE 2: 1.75 $/MWh), fleet average for
# the slack (IEEE 1: 2.00) and old units for IEEE 13 and 23 (3.00 $/MWh).
CASE30_UNIT_FUELS: dict[int, str] = {
    0: "gas_cc",
    1: "gas_cc_new",
    12: "gas_cc_old",
    21: "oil_steam",
    22: "gas_cc_old",
    26: "coal",
}

# case14 thermal ratings (MVA), PGLib-OPF v21.07 pglib_opf_case14_ieee.m rate_a, in MATPOWER branch
# order keyed by IEEE (from, to) bus numbers.
CASE14_RATE_A_MVA: dict[tuple[int, int], float] = {
    (1, 2): 472,
    (1, 5): 128,
    (2, 3): 145,
    (2, 4): 158,
    (2, 5): 161,
    (3, 4): 160,
    (4, 5): 664,
    (4, 7): 141,
    (4, 9): 53,
    (5, 6): 117,
    (6, 11): 134,
    (6, 12): 104,
    (6, 13): 201,
    (7, 8): 167,
    (7, 9): 267,
    (9, 10): 325,
    (9, 14): 99,
    (10, 11): 141,
    (12, 13): 99,
    (13, 14): 76,
}

# --- default renewables and parks (modelling choices, see docs/grid.md) ---------------------------------
# Rule (all cases): the wind farm(s) at load bus(es) at the far end of a rated corridor from the bulk
# generation, PV at a neighbouring load bus, sized so that the default day (196) curtails behind that
# corridor. case30: wind at IEEE 30 and PV at IEEE 29, the two buses furthest from the slack (5 branches),
# fed over lines 27-29, 27-30 and 29-30 (16 MVA each, MATPOWER rateA). At half the peak load (60 + 40 MW)
# utilisation fell to 0.41, since the corridor out of IEEE 27 (must-run coal) binds; 30 + 20 MW
# (0.26 of the 189 MW peak) gives 0.72 on day 196.
# (bus, p_mw) per plant. Sized so that windy days (e.g. Miami day 100 or 200) show curtailment: the wind
# farms sit behind corridors that bind (case14: lines 9-14 / 13-14 into IEEE bus 14; case39: lines 26-29 /
# 28-29 out of IEEE bus 29, shared with the 865 MW nuclear unit at bus 38).
DEFAULT_WIND: dict[str, tuple[tuple[int, float], ...]] = {
    "case14": ((13, 200.0),),
    "case30": ((29, 30.0),),
    "case39": ((28, 1200.0), (15, 600.0)),
}
DEFAULT_PV: dict[str, tuple[tuple[int, float], ...]] = {
    "case14": ((12, 100.0),),
    "case30": ((28, 20.0),),
    "case39": ((3, 700.0), (20, 700.0)),
}
# Park buses in assignment order: the renewable buses and their neighbours first (where flexible demand
# can absorb congested output), then the remaining load buses by size.
DEFAULT_PARK_BUSES: dict[str, tuple[int, ...]] = {
    "case14": (13, 12, 8, 3, 2, 1, 4, 5, 9, 10, 11),
    "case30": (29, 28, 25, 23, 7, 6, 1, 20, 11, 18, 16, 14, 3, 13, 9, 15, 17, 22, 2, 19),
    "case39": (28, 25, 15, 3, 20, 38, 19, 7, 2, 23, 14, 26, 22, 24, 27, 6, 17, 0, 11, 8, 30),
}

# --- load shape ---------------------------------------------------------------------------------------
# IEEE RTS Task Force (1979), "IEEE Reliability Test System", IEEE Trans. PAS-98(6), Table 4: hourly
# load in percent of daily peak, weekdays. Column order: hour 0 = 00:00-01:00.
RTS_WEEKDAY_PROFILE: dict[str, np.ndarray] = {
    "winter": np.array(
        [67, 63, 60, 59, 59, 60, 74, 86, 95, 96, 96, 95, 95, 95, 93, 94, 99, 100, 100, 96, 91, 83, 73, 63],
        dtype=float,
    )
    / 100.0,
    "summer": np.array(
        [64, 60, 58, 56, 56, 58, 64, 76, 87, 95, 99, 100, 99, 100, 100, 97, 96, 96, 93, 92, 92, 93, 87, 72],
        dtype=float,
    )
    / 100.0,
    "spring_fall": np.array(
        [63, 62, 60, 58, 59, 65, 72, 85, 95, 99, 100, 99, 93, 92, 90, 88, 90, 92, 96, 98, 96, 90, 80, 70],
        dtype=float,
    )
    / 100.0,
}


def rts_season(day_of_year: int) -> str:
    """RTS season of a day: winter weeks 1-8 and 44-52, summer 18-30, spring/fall otherwise."""
    week = (int(day_of_year) - 1) // 7 + 1
    if week <= 8 or week >= 44:
        return "winter"
    if 18 <= week <= 30:
        return "summer"
    return "spring_fall"


def load_profile(day_of_year: int, n_periods: int, step_h: float) -> np.ndarray:
    """Load as a fraction of the case's peak for each period (period-average of the hourly shape).

    The season is that of the first day; longer horizons repeat the same daily shape.
    """
    hourly = RTS_WEEKDAY_PROFILE[rts_season(day_of_year)]
    sub = max(1, int(round(step_h * 4)))
    t_h = (np.arange(n_periods)[:, None] + (np.arange(sub)[None, :] + 0.5) / sub) * step_h
    return hourly[np.floor(t_h).astype(int) % 24].mean(axis=1)


# --- renewable technology parameters -----------------------------------------------------------------
WIND_TURBINE_TYPE = "V126/3450"  # windpowerlib oedb library, Vestas V126-3.45 MW
WIND_HUB_HEIGHT_M = 117.0  # lowest hub height listed for V126/3450 in windpowerlib's turbine_data.csv
WIND_MEASUREMENT_HEIGHT_M = 10.0  # TMY2/TMY3 wind speed is measured at 10 m
# WMO-No. 8 (Guide to Instruments and Methods of Observation), Davenport-Wieringa class "open":
# level country, low vegetation, airport surroundings.
WIND_ROUGHNESS_LENGTH_M = 0.03
WIND_EFFICIENCY_CURVE = "dena_mean"  # windpowerlib bundled wind-farm efficiency curve (wake losses)

# NREL PVWatts v5 defaults (Dobos 2014, NREL/TP-6A20-62641): tilt 20 deg, azimuth 180 deg, DC/AC 1.2,
# system losses 14 %, nominal inverter efficiency 96 %, standard module -0.47 %/degC.
PV_TILT_DEG = 20.0
PV_AZIMUTH_DEG = 180.0
PV_DC_AC_RATIO = 1.2
PV_SYSTEM_LOSSES_PCT = 14.0
PV_INVERTER_EFFICIENCY = 0.96
PV_GAMMA_PDC_PER_C = -0.0047
PV_TEMPERATURE_MODEL = "open_rack_glass_polymer"  # pvlib SAPM parameters
