"""Scenario kind ``multi_energy``: a multi-energy VPP site, solved by the oracle and the MPC.

A scenario file names the site's device groups (seed 001 Table 1 / seed 002 Table 3), the day,
the weather file, the load profiles and their peaks, the tariff and the carbon rules. ``run``
builds the day from offline data, solves the perfect-foresight optimum (oracle), runs the
rolling-horizon MPC at each forecast-error level, and writes the results folder.

Data, all offline and real (docs/multi_energy.md):

* electric load: SimBench 2016 standard load profile (``LoadProfile.csv``, e.g. ``G0-A``
  commercial, ``G1-A`` weekday industrial), scaled so the day's maximum is ``electric_peak_kw``;
* heat load: demandlib's BDEW gas standard load profile (SigLinDe, e.g. ``GHD`` commerce/services,
  ``GMK`` metal/automotive) driven by the TMY air temperature of the whole year, mapped affinely
  onto [``heat_trough_kw``, ``heat_peak_kw``] for the day;
* wind speed, irradiance and air temperature: pvlib's bundled TMY files.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from aggregation.distributions import STRICT_CONFIG, Fraction
from aggregation.kinds.battery import BatterySpec
from aggregation.kinds.gas_turbine import GasTurbineSpec
from aggregation.kinds.grid_exchange import GridExchangeSpec
from aggregation.kinds.heat_pump import HeatPumpSpec
from aggregation.kinds.me_pv import MultiEnergyPVSpec
from aggregation.kinds.thermal_storage import ThermalStorageSpec
from aggregation.kinds.wind import WindSpec
from aggregation.multi_energy import CarbonSpec, SiteConfig, SiteData, renewable_available
from scenarios.base import ScenarioBase
from scenarios.limits import check_load_profile

_F = {"allow_inf_nan": False}
# A price per kWh: finite, 0…10 (the block's own check says the same, with its message).
_Price = Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]


class LoadsBlock(BaseModel):
    """Load profiles and their scaling."""

    model_config = STRICT_CONFIG  # strict and finite (issue 10)

    electric_profile: str = "G1-A"
    electric_peak_kw: float = Field(2800.0, gt=0, le=1e7, **_F)
    heat_profile: Literal["GHD", "GMK", "GKO", "GBD", "GBA", "GBH", "GGA", "GHA", "GMF", "GPD", "GWA", "GGB"] = "GMK"
    heat_peak_kw: float = Field(1500.0, ge=0, le=1e7, **_F)
    heat_trough_kw: float = Field(800.0, ge=0, le=1e7, **_F)

    @field_validator("electric_profile")
    @classmethod
    def _known_profile(cls, v: str) -> str:
        # Checked at validate, not when the run reads the profile (issue 10).
        return check_load_profile(v)

    @model_validator(mode="after")
    def _check(self) -> LoadsBlock:
        if self.heat_trough_kw > self.heat_peak_kw:
            raise ValueError("heat_trough_kw must be <= heat_peak_kw")
        return self


class TariffBlock(BaseModel):
    """Hourly time-of-use prices (24 values, hour 0 first) and the gas price, with their source."""

    model_config = STRICT_CONFIG  # strict and finite (issue 10)

    currency: str = "USD"
    buy_price_per_kwh: list[_Price] = Field(min_length=24, max_length=24)
    sell_price_per_kwh: list[_Price] = Field(min_length=24, max_length=24)
    gas_price_per_kwh: float = Field(0.025, ge=0, le=10, **_F)
    source: str = ""

    @model_validator(mode="after")
    def _check(self) -> TariffBlock:
        v = np.array(self.buy_price_per_kwh + self.sell_price_per_kwh)
        if not np.all(np.isfinite(v)) or v.min() < 0 or v.max() > 10:
            raise ValueError("prices must be finite and within [0, 10] per kWh")
        return self


class MpcBlock(BaseModel):
    """Rolling-horizon MPC settings (seed 002 §5.1: H = 4 h, hourly)."""

    model_config = STRICT_CONFIG  # strict and finite (issue 10)

    horizon_h: float = Field(4.0, gt=0, le=48, **_F)
    forecast_errors: list[Fraction] = Field(default_factory=lambda: [0.0, 0.1, 0.2], max_length=100)

    @model_validator(mode="after")
    def _check(self) -> MpcBlock:
        if any(not 0 <= e <= 1 for e in self.forecast_errors):
            raise ValueError("forecast_errors must lie in [0, 1]")
        return self


def _registered_method(v: str) -> str:
    """A ``methods:`` item: a multi_energy method of :mod:`learners.registry` (:func:`scenarios.schema.multi_energy_method`)."""
    from scenarios.schema import multi_energy_method  # schema -> kinds -> this module: import when used

    return multi_energy_method(v)


class MultiEnergyScenario(ScenarioBase):
    """A multi-energy VPP day (scenario kind ``multi_energy``).

    Inherits ``name``, ``description``, ``seed``, ``horizon_h`` (default 24), ``step_h`` (default 1),
    ``start_day_of_year`` and ``output`` from :class:`scenarios.base.ScenarioBase`.
    """

    kind: Literal["multi_energy"] = "multi_energy"
    weather_file: Literal["12839.tm2", "723170TYA.CSV"] = "723170TYA.CSV"
    loads: LoadsBlock = Field(default_factory=LoadsBlock)
    tariff: TariffBlock
    grid: GridExchangeSpec = Field(default_factory=GridExchangeSpec)
    gas_turbine: GasTurbineSpec | None = None
    battery: BatterySpec | None = None
    thermal_storage: ThermalStorageSpec | None = None
    heat_pump: HeatPumpSpec | None = None
    wind: WindSpec | None = None
    pv: MultiEnergyPVSpec | None = None
    carbon: CarbonSpec = Field(default_factory=CarbonSpec)
    imbalance_penalty_per_kwh: float = Field(1.0, ge=0, le=1e3, **_F)
    methods: list[Annotated[str, AfterValidator(_registered_method),
                            Field(description="a multi_energy method of learners.registry that runs without "
                                              "training (oracle, mpc, maddpg_mpc, sac_lax)")]] = Field(
        default_factory=lambda: ["oracle", "mpc"])
    ramp_model: Literal["milp", "inner", "outer"] = "milp"
    mpc: MpcBlock = Field(default_factory=MpcBlock)
    plots: bool = True

    @property
    def n_periods(self) -> int:
        """Periods of the horizon (= ``n_steps``)."""
        return self.n_steps


#: the methods :func:`run` implements (each must also be a registered multi_energy method to pass the schema)
_PIPELINE_METHODS: tuple[str, ...] = ("oracle", "mpc", "maddpg_mpc", "sac_lax")


def site_config(sc: MultiEnergyScenario) -> SiteConfig:
    """The simulator's site description of a scenario."""
    return SiteConfig(grid=sc.grid, gt=sc.gas_turbine, battery=sc.battery, tes=sc.thermal_storage, hp=sc.heat_pump,
                      wind=sc.wind, pv=sc.pv, carbon=sc.carbon, imbalance_penalty_per_kwh=sc.imbalance_penalty_per_kwh,
                      gas_price_per_kwh=sc.tariff.gas_price_per_kwh)


def _load_weather(name: str, day_of_year: int, n_steps: int, step_h: float) -> pd.DataFrame:
    try:  # the loader is moving from aggregation/ to grid/ (lead's refactor)
        from grid.weather import load_weather
    except ImportError:  # pragma: no cover
        from aggregation.weather import load_weather  # type: ignore[no-redef]
    return load_weather(name, day_of_year, n_steps, step_h)


def _simbench_load(name: str, day_of_year: int, n_steps: int, step_h: float) -> np.ndarray:
    try:
        from grid.profiles import simbench_profile
    except ImportError:  # pragma: no cover
        from aggregation.profiles import simbench_profile  # type: ignore[no-redef]
    return simbench_profile("load", name, day_of_year, n_steps, step_h)


@functools.lru_cache(maxsize=8)
def _bdew_heat_year(weather_file: str, shlp_type: str) -> np.ndarray:
    """Hourly BDEW heat profile (8760,) for the TMY year's air temperature (relative units)."""
    from demandlib import bdew

    temp = _load_weather(weather_file, 1, 8760, 1.0)["t_air_c"].to_numpy()
    idx = pd.date_range("2019-01-01", periods=8760, freq="h")
    # demandlib may change the process-wide warnings filters; keep them local
    with warnings.catch_warnings():
        hb = bdew.HeatBuilding(idx, temperature=pd.Series(temp, index=idx), shlp_type=shlp_type, building_class=0,
                               wind_class=0, annual_heat_demand=1.0, name=shlp_type)
        prof = hb.get_bdew_profile()
    return np.asarray(prof, dtype=float)


def build_day(sc: MultiEnergyScenario, n_periods: int | None = None) -> tuple[SiteConfig, SiteData, pd.DataFrame]:
    """Site, realised day data and the weather table of a scenario.

    Returns:
        (cfg, data, weather) with data series of length ``n_periods`` (default ``sc.n_periods``).
    """
    n = sc.n_periods if n_periods is None else min(n_periods, sc.n_periods)
    dt = sc.step_h
    cfg = site_config(sc)
    w = _load_weather(sc.weather_file, sc.start_day_of_year, n, dt)
    wind, pv = renewable_available(cfg, w["wind_speed_m_s"].to_numpy(), w["ghi_w_m2"].to_numpy(),
                                   w["t_air_c"].to_numpy(), dt)
    full = _simbench_load(sc.loads.electric_profile, sc.start_day_of_year, sc.n_periods, dt)
    load_e = np.clip(full[:n], 0.0, None) / max(full.max(), 1e-12) * sc.loads.electric_peak_kw
    year = _bdew_heat_year(sc.weather_file, sc.loads.heat_profile)
    start = (sc.start_day_of_year - 1) * 24
    # BDEW profiles are hourly: a period takes the value of the hour it starts in
    hd = year[(start + np.floor(np.arange(sc.n_periods) * dt).astype(int)) % len(year)]
    span = hd.max() - hd.min()
    rel = (hd - hd.min()) / span if span > 0 else np.zeros_like(hd)
    load_h = (sc.loads.heat_trough_kw + rel * (sc.loads.heat_peak_kw - sc.loads.heat_trough_kw))[:n]
    hours = np.floor(np.arange(n) * dt).astype(int) % 24
    buy = np.asarray(sc.tariff.buy_price_per_kwh)[hours]
    sell = np.asarray(sc.tariff.sell_price_per_kwh)[hours]
    return cfg, SiteData(dt, load_e, load_h, wind, pv, buy, sell), w


def build_year(sc: MultiEnergyScenario) -> SiteData:
    """365 days of the scenario's own day construction, concatenated (hourly): the forecasters' and the
    SB3 learners' data (``docs/sac_lax.md``)."""
    days = [build_day(sc.model_copy(update={"start_day_of_year": d}))[1] for d in range(1, 366)]
    return SiteData(1.0, *(np.concatenate([getattr(x, k) for x in days]) for k in
                           ("load_e_kw", "load_h_kw", "wind_kw", "pv_kw", "buy_price", "sell_price")))


def _say(progress: Any, msg: str) -> None:
    if callable(progress):
        progress(msg)


def run(sc: MultiEnergyScenario, folder: str | Path, *, progress: Callable[[str], None] | bool | None = None,
        max_steps: int | None = None) -> pd.DataFrame:
    """Solve a scenario's day with its methods and write the results folder.

    Writes ``<method>_periods.csv`` (one row per period, every simulator quantity), ``summary.csv`` and
    ``summary.json`` (one row per method: costs — energy, gas, O&M, grid sales, carbon with and without
    trading — emissions, renewable absorption rate, imbalance, oracle gap), ``weather.csv`` and, with
    ``sc.plots``, ``power_balance_<method>.png`` / ``heat_balance_<method>.png`` (seed 001 Figs. 14–15),
    ``storage.png`` and ``costs.png``.

    Args:
        sc: the scenario.
        folder: output folder (created).
        progress: callable receiving one-line messages, or None/False.
        max_steps: simulate only the first ``max_steps`` periods (smoke runs).

    Returns:
        The summary table (index = method).
    """
    from learners.mpc import RollingMPC
    from learners.oracle import oracle

    missing = [m for m in sc.methods if m not in _PIPELINE_METHODS]
    if missing:
        raise ValueError(f"methods {missing} are registered for multi_energy but this pipeline runs only "
                         f"{list(_PIPELINE_METHODS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg, data, weather = build_day(sc, max_steps)
    weather.to_csv(folder / "weather.csv")
    tables: dict[str, pd.DataFrame] = {}
    rows: dict[str, dict[str, float]] = {}
    oracle_cost = None
    if "oracle" in sc.methods:
        _say(progress, "oracle: solving the perfect-foresight day")
        res = oracle(cfg, data, ramp_model=sc.ramp_model)
        tables["oracle"] = res.table
        rows["oracle"] = {**res.summary, "solve_s": res.plan.solve_s, "replay_gap": res.replay_gap}
        oracle_cost = res.summary["total_cost"]
    if "mpc" in sc.methods:
        for i, err in enumerate(sc.mpc.forecast_errors):
            key = f"mpc_H{sc.mpc.horizon_h:g}h_err{int(round(err * 100))}pct"
            _say(progress, f"{key}: rolling horizon")
            rng = np.random.default_rng([sc.seed, i])
            m = RollingMPC(cfg, sc.mpc.horizon_h, err, rng, ramp_model=sc.ramp_model).run(data)
            tables[key] = m.table
            rows[key] = {**m.summary, "solve_s": float(m.solve_s.sum()), "solve_s_max_step": float(m.solve_s.max())}
    if "maddpg_mpc" in sc.methods:
        # Seed 002's two stages: the shipped MADDPG actors plan the day, the IPOPT MPC executes it.
        from learners.maddpg_mpc import TwoStage, load_policy
        from learners.mpc import noisy_forecast

        policy = load_policy(cfg, data)
        for i, err in enumerate(sc.mpc.forecast_errors):
            key = f"maddpg_mpc_H{sc.mpc.horizon_h:g}h_err{int(round(err * 100))}pct"
            _say(progress, f"{key}: MADDPG plan + real-time MPC")
            rng = np.random.default_rng([sc.seed, 100 + i])
            out = TwoStage(policy, cfg, horizon_h=sc.mpc.horizon_h, forecast_error=err, rng=rng).run(
                data, noisy_forecast(data, 0, data.n_periods, err, rng))
            tables[key] = out["table"]
            rows[key] = {**out["summary"], "solve_s": float(out["mpc_s"].sum()),
                         "solve_s_max_step": float(out["mpc_s"].max())}
    if "sac_lax" in sc.methods:
        # Seed 001's SAC-LAx with the shipped policy and Attention-xLSTM forecaster (24 h of 1 h steps).
        from learners.sac_lax import play_day

        _say(progress, "sac_lax: shipped policy with the in-loop projection")
        prev = build_day(sc.model_copy(update={"start_day_of_year": sc.start_day_of_year - 1 or 365}))[1]
        hist = np.stack([prev.load_e_kw, prev.load_h_kw, prev.wind_kw, prev.pv_kw], axis=1)
        day = data if data.n_periods == sc.n_periods else build_day(sc)[1]  # the whole day even on smoke runs
        res = play_day(cfg, day, hist, day_of_year=sc.start_day_of_year)
        tables["sac_lax"] = res["table"]
        rows["sac_lax"] = {**res["summary"], "violation_kwh": res["violation_kwh"], "latency_ms": res["latency_ms"][0]}
    summary = pd.DataFrame(rows).T
    summary.index.name = "method"
    if oracle_cost is not None:
        summary["gap_to_oracle"] = summary["total_cost"] - oracle_cost
        summary["gap_to_oracle_rel"] = summary["gap_to_oracle"] / abs(oracle_cost) if oracle_cost else np.nan
    summary["currency"] = sc.tariff.currency
    for k, t in tables.items():
        t.to_csv(folder / f"{k}_periods.csv", index=False)
    summary.to_csv(folder / "summary.csv")
    from aggregation.io import write_json

    write_json(folder / "summary.json", summary.reset_index().to_dict(orient="records"))  # strict JSON: NaN -> null
    if sc.plots:
        from scenarios.multi_energy_plots import write_plots

        write_plots(tables, summary, cfg, folder)
    return summary


def load_scenario(path: str | Path) -> MultiEnergyScenario:
    """Read and validate a multi-energy scenario YAML file."""
    from scenarios.yamlsafe import read_scenario_yaml

    # The bounded reader of every scenario file (one-line errors, no object tags).
    return MultiEnergyScenario.model_validate(read_scenario_yaml(path))
