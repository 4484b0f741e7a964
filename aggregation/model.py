"""The Mesa model of a DER population: one period per ``step()``, vectorised.

Data flow of a period: system signal (eta_GI, renewable gradient) -> one
:class:`~aggregation.policy.KindView` per controllable kind -> the decider
(plain policy, or the self-organising hierarchy) -> device rules enforced ->
devices advance -> park loads, indices and fitness are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mesa
import numpy as np
import pandas as pd

from .agents import AGENT_CLASSES, create_handles
from .fleet import Fleet, build_fleet
from .indices import load_index, period_fitness, renewable_gradient, shape_distance, system_index
from .policy import KindView, PeriodContext, Policy, RulePolicy
from .specs import ParkSpec

CONTROLLABLE: tuple[str, ...] = ("ac", "ev")
_SAMPLE_FOR_PERCENTILES = 100_000


@dataclass(frozen=True)
class SystemSignal:
    """The system-level series that define the zero-carbon index.

    Attributes:
        e_res_mwh: renewable generation per period.
        e_tot_mwh: total generation per period.
    """

    e_res_mwh: np.ndarray
    e_tot_mwh: np.ndarray

    @property
    def eta_gi(self) -> np.ndarray:
        return system_index(self.e_res_mwh, self.e_tot_mwh)

    @property
    def g(self) -> np.ndarray:
        return renewable_gradient(self.e_res_mwh)


Decider = Callable[[dict[str, KindView], Policy], dict[str, np.ndarray]]


def policy_decider(views: dict[str, KindView], policy: Policy) -> dict[str, np.ndarray]:
    """Default decider: one batched policy call per kind, no aggregation."""
    return {kind: np.asarray(policy.act(view)) for kind, view in views.items()}


class VppModel(mesa.Model):
    """DER parks under a policy, advanced one period per step.

    Args:
        parks: park specifications.
        signal: system generation series (length >= number of periods).
        weather: per-period weather frame; its length is the horizon.
        day_of_year: first simulated day (SimBench base-load shapes).
        step_h: period length in hours.
        scale: multiplies every DER count.
        lam: similarity coefficient lambda of the indices.
        policy: the DER policy; default the uncontrolled :class:`RulePolicy`.
        decider: how actions are chosen from the policy (default one call per kind).
        handles: create Mesa agent handles (turn off for pure array benchmarks).
        seed: the only seed; every draw uses ``self.rng``.
    """

    def __init__(
        self,
        parks: list[ParkSpec],
        signal: SystemSignal,
        weather: pd.DataFrame,
        *,
        day_of_year: int,
        step_h: float = 1.0,
        scale: float = 1.0,
        lam: float = 1.0,
        policy: Policy | None = None,
        decider: Decider | None = None,
        handles: bool = True,
        seed: int = 0,
    ):
        super().__init__(seed=seed)
        # Kept so that sibling runs (e.g. the previous week of an assessment baseline) can be rebuilt.
        self.parks, self.day_of_year, self.scale, self.seed_value = tuple(parks), int(day_of_year), float(scale), seed
        n = len(weather)
        if len(signal.e_res_mwh) < n:
            raise ValueError(f"system signal has {len(signal.e_res_mwh)} periods, the horizon needs {n}")
        self.signal = signal
        self.eta_gi = signal.eta_gi[:n]
        self.g = signal.g[:n]
        self.lam = float(lam)
        self.step_h = float(step_h)
        self.weather = weather
        self.policy: Policy = policy if policy is not None else RulePolicy()
        self.decider: Decider = decider if decider is not None else policy_decider
        self.fleet: Fleet = build_fleet(parks, scale, weather, day_of_year, step_h, self.rng)
        self.ev_unmet_by_pile_kwh = np.zeros(self.fleet.count("ev"), np.float32)
        self.handle_offsets: dict[str, int] = {}
        if handles:
            for kind, cls in AGENT_CLASSES.items():
                create_handles(self, cls, self.fleet.count(kind))
        n_ac = self.fleet.count("ac")
        self._pct_rows = (
            np.sort(self.rng.choice(n_ac, _SAMPLE_FOR_PERCENTILES, replace=False))
            if n_ac > _SAMPLE_FOR_PERCENTILES
            else None
        )
        self._park_p_max_kw = self.fleet.park_p_max_kw()
        self._prev_park_out_kw = np.zeros(self.fleet.n_parks)
        self.park_rows: list[dict] = []
        self.system_rows: list[dict] = []
        self.last: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "eta_gi": lambda m: m.last.get("eta_gi"),
                "net_load_kw": lambda m: m.last.get("net_kw"),
                "fitness_mean": lambda m: m.last.get("fitness_mean"),
                "comfort_violation_c": lambda m: m.last.get("comfort_violation_mean_c"),
                "ev_unmet_kwh": lambda m: m.last.get("ev_unmet_kwh"),
            }
        )

    # ------------------------------------------------------------------ period
    @property
    def n_steps(self) -> int:
        return len(self.weather)

    def context(self, k: int) -> PeriodContext:
        """The signal every unit sees in period ``k``."""
        return PeriodContext(
            step=k,
            t_h=k * self.step_h,
            dt_h=self.step_h,
            t_out_c=float(self.fleet.t_out_c[k]),
            eta_gi=float(self.eta_gi[k]),
            gamma=float(self.eta_gi[k - 1]),  # k = 0 wraps to the last period: the day repeats
            g=float(self.g[k]),
            lam=self.lam,
        )

    def views(self, ctx: PeriodContext) -> dict[str, KindView]:
        return {kind: KindView(kind, getattr(self.fleet, kind), ctx) for kind in CONTROLLABLE}

    def step(self) -> None:
        """Advance every DER by one period."""
        k = self.steps - 1
        if k >= self.n_steps:
            self.running = False
            return
        ctx = self.context(k)
        views = self.views(ctx)
        actions = self.decider(views, self.policy)
        overridden = 0
        for kind, view in views.items():
            a = np.asarray(actions[kind], dtype=np.int64)
            if a.shape != (view.n,):
                raise ValueError(f"policy returned shape {a.shape} for {view.n} {kind} units")
            ok = view.avail[np.arange(view.n), np.clip(a, 0, view.n_actions - 1)] & (a >= 0) & (a < view.n_actions)
            if not ok.all():
                overridden += int((~ok).sum())
                a = np.where(ok, a, view.usual)
            actions[kind] = a
        f = self.fleet
        prev = {kind: getattr(f, kind).p_kw.copy() for kind in CONTROLLABLE}
        occupied = f.ac.user_on(ctx.hour_of_day)
        p_ac = f.ac.step(actions["ac"], ctx.t_out_c, ctx.dt_h, occupied)
        p_ev, unmet = f.ev.step(actions["ev"], ctx.t_h, ctx.dt_h)
        self.ev_unmet_by_pile_kwh += unmet
        self._record(k, ctx, p_ac, p_ev, unmet, prev, overridden, occupied)
        self.datacollector.collect(self)

    def run(self, n_steps: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Run ``n_steps`` periods (default: to the end of the horizon)."""
        todo = self.n_steps - self.steps if n_steps is None else n_steps
        for _ in range(todo):
            self.step()
            if progress is not None:
                progress(1)

    # ------------------------------------------------------------- recording
    def _record(self, k, ctx, p_ac, p_ev, unmet, prev, overridden, occupied) -> None:
        f = self.fleet
        n_parks = f.n_parks
        ac_kw = f.park_sum("ac", p_ac)
        ev_kw = f.park_sum("ev", p_ev)
        base_kw = f.base_load_kw[:, k]
        pv_kw = f.pv_park_kw(k)
        all_kw = ac_kw + ev_kw + base_kw
        out_kw = all_kw - pv_kw
        rho = np.clip(np.maximum(out_kw, 0.0) / np.where(all_kw > 0, all_kw, 1.0), 0.0, 1.0)
        park_fit = period_fitness(out_kw, self._prev_park_out_kw, self._park_p_max_kw, ctx.g, ctx.gamma, ctx.lam, rho)
        self._prev_park_out_kw = out_kw
        fit_ac = period_fitness(p_ac, prev["ac"], f.ac.p_max_kw, ctx.g, ctx.gamma, ctx.lam)
        fit_ev = period_fitness(p_ev, prev["ev"], f.ev.p_max_kw, ctx.g, ctx.gamma, ctx.lam)
        fit = np.concatenate([fit_ac, fit_ev])
        viol = f.ac.comfort_violation_c()[occupied]
        t_in = f.ac.t_in_c if self._pct_rows is None else f.ac.t_in_c[self._pct_rows]
        occ_s = occupied if self._pct_rows is None else occupied[self._pct_rows]
        pct = np.percentile(t_in[occ_s], [5, 50, 95]) if occ_s.any() else np.full(3, np.nan)
        for p in range(n_parks):
            self.park_rows.append(
                {
                    "step": k,
                    "park": f.park_names[p],
                    "ac_kw": float(ac_kw[p]),
                    "ev_kw": float(ev_kw[p]),
                    "base_kw": float(base_kw[p]),
                    "pv_kw": float(pv_kw[p]),
                    "net_kw": float(out_kw[p]),
                    "park_index": float(park_fit[p] / ctx.gamma) if ctx.gamma > 0 else 0.0,
                    "park_fitness": float(park_fit[p]),
                }
            )
        row = {
            "step": k,
            "time": self.weather.index[k],
            "t_out_c": ctx.t_out_c,
            "eta_gi": ctx.eta_gi,
            "gamma": ctx.gamma,
            "g": ctx.g,
            "ac_kw": float(ac_kw.sum()),
            "ev_kw": float(ev_kw.sum()),
            "base_kw": float(base_kw.sum()),
            "pv_kw": float(pv_kw.sum()),
            "net_kw": float(out_kw.sum()),
            "fitness_mean": float(fit.mean()) if fit.size else float("nan"),
            "fitness_min": float(fit.min()) if fit.size else float("nan"),
            "fitness_max": float(fit.max()) if fit.size else float("nan"),
            "ac_occupied": int(occupied.sum()),
            "comfort_violation_mean_c": float(viol.mean()) if viol.size else 0.0,
            "comfort_violation_share": float((viol > 0).mean()) if viol.size else 0.0,
            "t_in_p05_c": float(pct[0]),
            "t_in_p50_c": float(pct[1]),
            "t_in_p95_c": float(pct[2]),
            "ev_unmet_kwh": float(unmet.sum()),
            "actions_overridden": overridden,
        }
        self.system_rows.append(row)
        self.last = row

    # --------------------------------------------------------------- results
    def park_series(self) -> pd.DataFrame:
        """Per-period, per-park loads and indices (long format)."""
        return pd.DataFrame(self.park_rows)

    def system_series(self) -> pd.DataFrame:
        """Per-period system-level series."""
        return pd.DataFrame(self.system_rows)

    def summary(self) -> dict[str, float]:
        """Horizon indicators: park zero-carbon indices, tracking distance, comfort, unmet energy."""
        sysdf = self.system_series()
        parks = self.park_series()
        out: dict[str, float] = {
            "n_ders": float(self.fleet.n_ders),
            "periods": float(len(sysdf)),
            "energy_mwh": float(sysdf["net_kw"].sum() * self.step_h / 1000.0) if len(sysdf) else 0.0,
            "peak_kw": float(sysdf["net_kw"].max()) if len(sysdf) else 0.0,
            "tracking_distance": shape_distance(sysdf["net_kw"], sysdf["eta_gi"]) if len(sysdf) > 1 else 0.0,
            # The controllable part alone (air conditioners + EV piles): what control can actually shape.
            "tracking_distance_flexible": shape_distance(sysdf["ac_kw"] + sysdf["ev_kw"], sysdf["eta_gi"])
            if len(sysdf) > 1
            else 0.0,
            "fitness_mean": float(sysdf["fitness_mean"].mean()) if len(sysdf) else 0.0,
            "comfort_violation_mean_c": float(sysdf["comfort_violation_mean_c"].mean()) if len(sysdf) else 0.0,
            "ev_unmet_kwh": float(sysdf["ev_unmet_kwh"].sum()) if len(sysdf) else 0.0,
        }
        g = self.g[: len(sysdf)]
        for name, grp in parks.groupby("park", sort=False):
            e_all = (grp["ac_kw"] + grp["ev_kw"] + grp["base_kw"]).to_numpy() * self.step_h
            e_out = grp["net_kw"].to_numpy() * self.step_h
            p_max = float(self._park_p_max_kw[self.fleet.park_names.index(name)])
            eta, _, _ = load_index(e_out, e_all, g, p_max * self.step_h, self.lam)
            out[f"eta_ri[{name}]"] = eta
        return out

    # ------------------------------------------------------------ checkpoint
    def checkpoint_state(self) -> dict:
        """Everything needed to continue this run bit-for-bit."""
        return {
            "steps": self.steps,
            "fleet": self.fleet.state_dict(),
            "rng": self.rng.bit_generator.state,
            "random": self.random.getstate(),
            "ev_unmet_by_pile_kwh": self.ev_unmet_by_pile_kwh.copy(),
            "prev_park_out_kw": self._prev_park_out_kw.copy(),
            "park_rows": list(self.park_rows),
            "system_rows": list(self.system_rows),
            "policy": self.policy.state_dict() if hasattr(self.policy, "state_dict") else None,
            "decider": self.decider.state_dict() if hasattr(self.decider, "state_dict") else None,
        }

    def restore_state(self, state: dict) -> None:
        """Inverse of :meth:`checkpoint_state` on a model built from the same scenario."""
        self.steps = state["steps"]
        self.fleet.load_state_dict(state["fleet"])
        self.rng.bit_generator.state = state["rng"]
        self.random.setstate(state["random"])
        self.ev_unmet_by_pile_kwh = state["ev_unmet_by_pile_kwh"].copy()
        self._prev_park_out_kw = state["prev_park_out_kw"].copy()
        self.park_rows = list(state["park_rows"])
        self.system_rows = list(state["system_rows"])
        self.last = self.system_rows[-1] if self.system_rows else {}
        if state.get("policy") is not None and hasattr(self.policy, "load_state_dict"):
            self.policy.load_state_dict(state["policy"])
        if state.get("decider") is not None and hasattr(self.decider, "load_state_dict"):
            self.decider.load_state_dict(state["decider"])
