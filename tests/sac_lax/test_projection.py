"""Seed 001 Eq. 13 projection: hand cases, an independent solve (scipy SLSQP), feasibility of every result."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from aggregation.kinds.gas_turbine import GasTurbineSpec
from aggregation.kinds.heat_pump import HeatPumpSpec
from aggregation.kinds.thermal_storage import ThermalStorageSpec
from aggregation.multi_energy import CarbonSpec, MultiEnergySim, SiteConfig, SiteData
from learners.multi_energy_env import MultiEnergyEnv
from learners.projection import ActionProjector, ProjectedEnv
from tests.multi_energy._sites import day_site


def _one(load_e: float, load_h: float, ren: float = 0.0) -> SiteData:
    a = np.array
    return SiteData(1.0, a([load_e]), a([load_h]), a([ren]), a([0.0]), a([0.5]), a([0.1]))


def _heat_site() -> SiteConfig:
    # tank 0..100 kWh, +-100 kW; heat pump 0..200 kW, COP 4.5; no turbine
    return SiteConfig(tes=ThermalStorageSpec(capacity_kwh=100, q_charge_max_kw=100, q_discharge_max_kw=100,
                                             eta_charge=0.9, eta_discharge=0.9, level_min_kwh=0, level_init_kwh=50),
                      hp=HeatPumpSpec(p_max_kw=200, cop=4.5), carbon=CarbonSpec(price_per_kg=0.0))


def test_feasible_action_unchanged() -> None:
    cfg = _heat_site()
    sim = MultiEnergySim(cfg, _one(100.0, 450.0))
    proj = ActionProjector(cfg)
    raw = np.array([0.2, 0.5])  # tank 20 kW out, heat pump 150 kW -> 695 kW of heat >= 450
    res = proj.project(sim, raw)
    assert not res.infeasible
    np.testing.assert_allclose(res.action, raw, atol=1e-7)
    assert res.distance < 1e-6


def test_infeasible_moved_to_nearest_point_of_half_space() -> None:
    """Heat row w.x >= b with both variables interior: the projection is r + (b - w.r)/|w|^2 * w."""
    cfg = _heat_site()
    sim = MultiEnergySim(cfg, _one(100.0, 450.0))
    proj = ActionProjector(cfg)
    raw = np.array([-0.5, -0.5])  # tank charging 50 kW, heat pump 50 kW -> 175 kW of heat < 450
    res = proj.project(sim, raw)
    w = np.array([100.0, 4.5 * 100.0])  # d(heat)/dx: half of the tank range, COP * half of the heat pump range
    b = 450.0 + 1e-2 - (0.0 + 4.5 * 100.0)  # load minus heat at x = 0 (mid points)
    expect = raw + (b - w @ raw) / (w @ w) * w
    assert np.all(np.abs(expect) < 1)  # the bounds are not active: the half-space formula is the answer
    np.testing.assert_allclose(res.action, expect, atol=1e-6)
    # KKT: a_feas - r = mu * w with mu >= 0 and the row active
    mu = (res.action - raw) / w
    assert mu[0] > 0 and mu[0] == pytest.approx(mu[1], rel=1e-5)
    assert w @ res.action == pytest.approx(b, abs=1e-5)


def test_infeasible_problem_reported() -> None:
    cfg = _heat_site()
    sim = MultiEnergySim(cfg, _one(100.0, 5000.0))  # far above 900 + 45 kW of heat
    proj = ActionProjector(cfg)
    res = proj.project(sim, np.zeros(2))
    assert res.infeasible and proj.n_infeasible == 1
    assert res.slack_kw > 4000
    np.testing.assert_allclose(res.action, [0.45, 1.0], atol=1e-6)  # all on (the tank holds 50 kWh: 45 kW for an hour)


def _slsqp(sim: MultiEnergySim, proj: ActionProjector, raw: np.ndarray) -> np.ndarray:
    """Independent solve of Eq. 13 from the physical description (SLSQP over x, buy, sell, ren, q_gt)."""
    cfg, d, t = sim.cfg, sim.data, sim.t
    lo, hi = sim.bounds()
    mid, half = (sim.range_hi + sim.range_lo) / 2, (sim.range_hi - sim.range_lo) / 2
    k = len(raw)
    g = {n: i for i, n in enumerate(sim.controls)}

    def kw(z: np.ndarray) -> np.ndarray:
        return mid + z[:k] * half

    def elec(z: np.ndarray) -> float:
        p = kw(z)
        return p[g["gt"]] + p[g["battery"]] + z[k + 2] + z[k] - z[k + 1] - d.load_e_kw[t] - p[g["hp"]]

    def heat(z: np.ndarray) -> float:
        p = kw(z)
        return z[k + 3] + cfg.hp.cop * p[g["hp"]] + p[g["tes"]] - d.load_h_kw[t] - 1e-2

    bnds = [((lo[i] - mid[i]) / half[i], (hi[i] - mid[i]) / half[i]) for i in range(k)]
    bnds += [(0, cfg.grid.buy_max_kw), (0, cfg.grid.sell_max_kw), (0, d.wind_kw[t] + d.pv_kw[t]),
             (0, cfg.gt.heat_max_kw)]
    cons = [{"type": "eq", "fun": elec}, {"type": "ineq", "fun": heat},
            {"type": "ineq", "fun": lambda z: cfg.gt.heat_to_power_ratio * kw(z)[g["gt"]] - z[k + 3]}]
    z0 = np.concatenate([np.clip(raw, [b[0] for b in bnds[:k]], [b[1] for b in bnds[:k]]), np.zeros(4)])
    out = minimize(lambda z: float(np.sum((z[:k] - raw) ** 2)), z0, bounds=bnds, constraints=cons, method="SLSQP",
                   options={"ftol": 1e-12, "maxiter": 500})
    assert out.success, out.message
    return out.x[:k]


def test_matches_independent_solve_and_every_projection_is_feasible() -> None:
    cfg, data = day_site(soc_dependent=False)
    # a heat-short site: a small turbine heat cap makes the heat row bind often
    cfg = SiteConfig(gt=GasTurbineSpec(heat_max_kw=600.0), battery=cfg.battery, tes=cfg.tes, hp=HeatPumpSpec(p_max_kw=300),
                     carbon=cfg.carbon)
    env = ProjectedEnv(MultiEnergyEnv(cfg, data))
    sim = env.unwrapped.core.sim
    rng = np.random.default_rng(7)
    env.reset(seed=0)
    n_moved = 0
    for _ in range(data.n_periods):
        raw = rng.uniform(-1, 1, 4)
        res = env.projector.project(sim, raw)
        ref = _slsqp(sim, env.projector, raw)
        assert np.sum((res.action - raw) ** 2) <= np.sum((ref - raw) ** 2) + 1e-6
        np.testing.assert_allclose(res.action, ref, atol=2e-3)
        n_moved += res.distance > 1e-6
        _, _, _, _, info = env.step(raw)
        assert info["unserved_e_kw"] + info["excess_e_kw"] + info["unserved_h_kw"] < 1e-6
        assert info["clip_kw"] < 1e-6  # within every device limit, ramp and storage room
        assert not info["proj_infeasible"]
    assert n_moved > 0


def test_carbon_quota_row() -> None:
    cfg = SiteConfig(gt=GasTurbineSpec(p_min_kw=0, p_init_kw=0, heat_to_power_ratio=0.6, ramp_band_edges_kw=(),
                                       ramp_up_kw_per_h=(5000.0,), ramp_down_kw_per_h=(5000.0,)),
                     hp=HeatPumpSpec(p_max_kw=300, emission_kg_per_kwh_e=0.5),
                     carbon=CarbonSpec(price_per_kg=0.03, quota_kg_per_day=100.0, hard_cap=True))
    sim = MultiEnergySim(cfg, _one(0.0, 450.0))
    proj = ActionProjector(cfg)  # auto: hard_cap -> quota row on
    res = proj.project(sim, np.array([1.0, 1.0]))
    p = proj.to_kw(res.action)
    co2 = p[0] * (0.202 / cfg.gt.eta_electric) + 0.5 * p[1]
    assert co2 <= 100.0 + 1e-5 and not res.infeasible
    assert 4.5 * p[1] + min(0.6 * p[0], cfg.gt.heat_max_kw) >= 450.0 - 1e-6


def test_degenerate_corners_on_the_campus_day() -> None:
    """Vertex raw actions with full/empty stores made HiGHS's QP report "Solve error": all recovered exactly."""
    from pathlib import Path

    from scenarios.multi_energy import build_day, load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "campus_vpp.yaml")
    cfg, data, _ = build_day(sc)
    env = ProjectedEnv(MultiEnergyEnv(cfg, data))
    rng = np.random.default_rng(3)
    viol = 0.0
    for ep in range(6):
        env.reset(seed=ep)
        done = False
        while not done:
            _, _, done, _, info = env.step(np.sign(rng.uniform(-1, 1, 4)))
            viol += info["unserved_e_kw"] + info["excess_e_kw"] + info["unserved_h_kw"] + info["clip_kw"]
    assert viol < 1e-6
    assert env.projector.n_infeasible == 0 and env.projector.n_failed == 0
