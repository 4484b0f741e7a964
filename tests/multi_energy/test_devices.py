"""Device physics: conservation, ramp bands, SOC-dependent efficiency, wind and PV curves."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from aggregation.kinds.battery import BatteryKind, BatterySpec, efficiency_factor
from aggregation.kinds.gas_turbine import GasTurbineKind, GasTurbineSpec
from aggregation.kinds.heat_pump import HeatPumpKind, HeatPumpSpec
from aggregation.kinds.me_pv import MultiEnergyPVSpec, pv_available_kw, pv_power_kw
from aggregation.kinds.thermal_storage import ThermalStorageKind, ThermalStorageSpec
from aggregation.kinds.wind import power_curve, turbulence_factor
from aggregation.multi_energy import MultiEnergySim

from ._sites import day_site


@pytest.mark.parametrize("kind,spec", [(BatteryKind, BatterySpec()), (ThermalStorageKind, ThermalStorageSpec())])
def test_storage_conserves_energy_over_a_day(kind, spec):
    rng = np.random.default_rng(1)
    soa = kind.build(spec, 3)
    e0 = soa.e_kwh.copy()
    net_in = np.zeros(3)
    loss = np.zeros(3)
    for _ in range(24):
        o = kind.step(soa, rng.uniform(-2500, 2500, 3), 1.0)
        net_in += (o["charge_kw"] - o["discharge_kw"]) * 1.0
        loss += o["loss_kwh"]
        assert np.all(o["loss_kwh"] >= 0)
    np.testing.assert_allclose(soa.e_kwh - e0, net_in - loss, atol=1e-9)


def test_gas_turbine_conserves_fuel_energy():
    spec = GasTurbineSpec()
    soa = GasTurbineKind.build(spec, 2)
    rng = np.random.default_rng(2)
    for _ in range(24):
        o = GasTurbineKind.step(soa, rng.uniform(0, 6000, 2), 1.0)
        np.testing.assert_allclose(o["gas_kwh"], (o["p_kw"] + o["q_heat_kw"]) * 1.0 + o["loss_kwh"], atol=1e-9)
        np.testing.assert_allclose(o["q_heat_kw"], 0.6 * o["p_kw"], atol=1e-9)


def test_heat_pump_conserves_energy():
    soa = HeatPumpKind.build(HeatPumpSpec(), 1)
    o = HeatPumpKind.step(soa, np.array([120.0]), 1.0)
    assert o["q_heat_kw"][0] == pytest.approx(4.5 * 120)
    assert o["p_kw"][0] + o["ambient_kwh"][0] == pytest.approx(o["q_heat_kw"][0], abs=1e-9)


@pytest.mark.parametrize("p_prev,up,down", [(1000, 500, 400), (1999, 500, 400), (2000, 1000, 800),
                                            (3500, 1000, 800), (4000, 700, 600), (5000, 700, 600)])
def test_ramp_bands(p_prev, up, down):
    spec = GasTurbineSpec(p_init_kw=p_prev)
    soa = GasTurbineKind.build(spec, 1)
    lo, hi = GasTurbineKind.bounds(soa, 1.0)
    assert hi[0] == pytest.approx(min(5000, p_prev + up))
    assert lo[0] == pytest.approx(max(1000, p_prev - down))
    o = GasTurbineKind.step(soa, np.array([10_000.0]), 1.0)
    assert o["p_kw"][0] == pytest.approx(min(5000, p_prev + up))


def test_soc_dependent_efficiency_curve():
    f = efficiency_factor(np.array([0.2, 0.5, 0.9]), 0.5, 0.2, 0.9, 0.15)
    np.testing.assert_allclose(f, [1 - 0.15 * (0.3 / 0.7) ** 2, 1.0, 1 - 0.15 * (0.4 / 0.7) ** 2])
    # eta = 0.85 * f: the seed's eta_nom at SOC_opt, lowest at the far end
    assert 0.85 * f[2] == pytest.approx(0.85 * (1 - 0.15 * 0.32653061224489793))
    soa = BatteryKind.build(BatterySpec(soc_init=0.9), 1)
    o = BatteryKind.step(soa, np.array([100.0]), 1.0)
    assert o["loss_kwh"][0] == pytest.approx(100 / (0.85 * f[2]) - 100)


def test_wind_curve_and_turbulence():
    v = np.array([2.999, 3.0, 7.5, 11.999, 12.0, 24.999, 25.0, 30.0])
    p = power_curve(v, np.zeros_like(v), 1500.0)
    assert p[0] == 0 and p[1] == 0 and p[-2] == 0 and p[-1] == 0
    assert p[2] == pytest.approx(1500 * 0.125)
    assert p[4] == pytest.approx(1500) and p[5] == pytest.approx(1500)
    assert p[3] < 1500
    np.testing.assert_allclose(turbulence_factor(np.array([0.0, 2.5, 5.0, 10.0]), 0.2, 5.0), [1.0, 0.95, 0.8, 0.8])
    assert power_curve(np.array([12.0]), np.array([5.0]), 1500.0)[0] == pytest.approx(1200)


def test_pv_temperature_coupling_sign():
    spec = MultiEnergyPVSpec()
    assert spec.area_m2 == pytest.approx(11111.1111)
    # at T_c = T_ref the efficiency is eta_ref: 2 MW at 1 kW/m2 (T_a = 25 - 20)
    assert pv_available_kw(spec, np.array([1000.0]), np.array([5.0]))[0] == pytest.approx(2000.0)
    hot, cold = pv_power_kw(np.array([800.0, 800.0]), np.array([35.0, 0.0]), spec.area_m2)
    assert hot < cold  # efficiency falls with cell temperature (physical sign)


def test_specs_reject_nan_and_extra():
    with pytest.raises(ValidationError):
        BatterySpec(capacity_kwh=float("nan"))
    with pytest.raises(ValidationError):
        GasTurbineSpec(p_max_kw=float("inf"))
    with pytest.raises(ValidationError):
        ThermalStorageSpec(volume_m3=3)
    with pytest.raises(ValidationError):
        GasTurbineSpec(ramp_up_kw_per_h=(1.0, 2.0))


@pytest.mark.parametrize("shutdown", [False, True])
def test_simulator_matches_device_kinds(shutdown):
    """The simulator's scalar group path equals the kinds' vectorised steps (same set-points)."""
    import dataclasses

    cfg, data = day_site()
    if shutdown:
        cfg = dataclasses.replace(cfg, gt=cfg.gt.model_copy(update={"allow_shutdown": True, "start_cost": 3.0}))
    sim = MultiEnergySim(cfg, data)
    gt = GasTurbineKind.build(cfg.gt, 1)
    bat = BatteryKind.build(cfg.battery, 1)
    tes = ThermalStorageKind.build(cfg.tes, 1)
    hp = HeatPumpKind.build(cfg.hp, 1)
    rng = np.random.default_rng(3)
    for _ in range(24):
        sp = rng.uniform(sim.range_lo * 1.2, sim.range_hi * 1.2)
        if shutdown and rng.random() < 0.3:
            sp[0] = 0.0
        r = sim.step(sp)
        og = GasTurbineKind.step(gt, sp[:1], 1.0)
        ob = BatteryKind.step(bat, sp[1:2], 1.0)
        ot = ThermalStorageKind.step(tes, sp[2:3], 1.0)
        oh = HeatPumpKind.step(hp, sp[3:4], 1.0)
        assert r["gt_p_kw"] == pytest.approx(og["p_kw"][0], abs=1e-9)
        assert r["cost_gt_om"] == pytest.approx(og["cost"][0], abs=1e-9)
        assert r["bat_p_kw"] == pytest.approx(ob["p_kw"][0], abs=1e-9)
        assert r["bat_e_kwh"] == pytest.approx(ob["e_kwh"][0], abs=1e-9)
        assert r["tes_e_kwh"] == pytest.approx(ot["e_kwh"][0], abs=1e-9)
        assert r["hp_q_kw"] == pytest.approx(oh["q_heat_kw"][0], abs=1e-9)


def test_simulator_balances_and_reports_imbalance():
    cfg, data = day_site()
    sim = MultiEnergySim(cfg, data)
    rng = np.random.default_rng(4)
    for _ in range(24):
        r = sim.step(rng.uniform(sim.range_lo, sim.range_hi))
        e = (r["gt_p_kw"] + r["bat_p_kw"] + r["wind_kw"] + r["pv_kw"] + r["buy_kw"] - r["sell_kw"] + r["unserved_e_kw"]
             - r["excess_e_kw"] - r["load_e_kw"] - r["hp_p_kw"])
        h = r["gt_q_kw"] + r["hp_q_kw"] + r["tes_q_kw"] + r["unserved_h_kw"] - r["vented_h_kw"] - r["load_h_kw"]
        assert abs(e) < 1e-9 and abs(h) < 1e-9
        assert min(r["unserved_e_kw"], r["excess_e_kw"], r["unserved_h_kw"], r["vented_h_kw"]) >= 0
    with pytest.raises(IndexError):
        sim.step(np.zeros(4))
