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
from mesa.agent import AgentSet

from .agents import KindGroup, create_handles
from .fleet import Fleet, build_fleet
from .indices import load_index, period_fitness, renewable_gradient, shape_distance, system_index
from .kinds import registered_kinds
from .policy import KindView, PeriodContext, Policy, RulePolicy
from .specs import ParkSpec


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


# A decider may also accept ``targets=`` (VPP-level per-park targets of the period, kW); the
# model passes it only when targets are set (``VppModel.vpp_targets_kw``).
Decider = Callable[..., dict[str, np.ndarray]]


def policy_decider(views: dict[str, KindView], policy: Policy, *, targets=None) -> dict[str, np.ndarray]:
    """Default decider: one batched policy call per kind, no aggregation.

    Raises:
        ValueError: VPP targets were given; a plain policy cannot aim at them (use the
            self-organiser or an optimisation baseline).
    """
    if targets is not None:
        raise ValueError("VPP targets need a decider that aims at them (self-organisation, mip, lagrangian); "
                         "the plain policy decider cannot")
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
        kinds = registered_kinds()
        self.kinds = {name: kind for name, kind in kinds.items() if name in self.fleet.units}
        self.handle_offsets: dict[str, int] = {}
        if handles:
            for name, kind in self.kinds.items():
                agent_class = kind.agent_class()
                if agent_class is not None:
                    create_handles(self, agent_class, self.fleet.count(name))
        # One group per controllable kind; Mesa's AgentSet steps them in registry order. The
        # groups are kept here too: an AgentSet holds its members weakly.
        self._kind_groups = [KindGroup(self, k) for k in self.kinds.values() if k.controllable()]
        self.kind_groups = AgentSet(self._kind_groups, random=self.random)
        self.controllable = tuple(g.kind.name for g in self._kind_groups)
        self.period_ctx: PeriodContext | None = None
        self.period_actions: dict[str, np.ndarray] = {}
        self.vpp_targets_kw: np.ndarray | None = None
        self._park_p_max_kw = self.fleet.park_p_max_kw()
        self._prev_park_out_kw = np.zeros(self.fleet.n_parks)
        self.last: dict[str, float] = {}
        # The result tables: one row per period (system) and per period and park (parks).
        self.datacollector = mesa.DataCollector(tables={"system": [], "parks": []})

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
        """One view per controllable discrete kind, in the kind registry's order."""
        return {
            name: KindView(name, self.fleet.units[name], ctx)
            for name in self.controllable
            if self.kinds[name].actions == "discrete"
        }

    def set_vpp_targets(self, targets_kw: np.ndarray | None) -> None:
        """VPP-level load targets per park and period, handed to the decider (the target seam).

        Args:
            targets_kw: (n_parks, n_steps) flexible-load target of each park in kW, or None for
                the deciders' own default (``prev + g·P_max``, seed 003 Eq. 5).

        Raises:
            ValueError: wrong shape.
        """
        if targets_kw is not None:
            targets_kw = np.asarray(targets_kw, float)
            if targets_kw.shape != (self.fleet.n_parks, self.n_steps):
                raise ValueError(f"targets_kw must have shape {(self.fleet.n_parks, self.n_steps)}, "
                                 f"got {targets_kw.shape}")
        self.vpp_targets_kw = targets_kw

    def step(self) -> None:
        """Advance every DER by one period."""
        k = self.steps - 1
        if k >= self.n_steps:
            self.running = False
            return
        ctx = self.context(k)
        views = self.views(ctx)
        if self.vpp_targets_kw is None:
            actions = self.decider(views, self.policy)
        else:
            actions = self.decider(views, self.policy, targets=self.vpp_targets_kw[:, k])
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
        prev = {name: self.fleet.units[name].p_kw.copy() for name in self.controllable}
        self.period_ctx, self.period_actions = ctx, actions
        self.kind_groups.do("step")
        self._record(k, ctx, prev, overridden)

    def run(self, n_steps: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Run ``n_steps`` periods (default: to the end of the horizon)."""
        todo = self.n_steps - self.steps if n_steps is None else n_steps
        for _ in range(todo):
            self.step()
            if progress is not None:
                progress(1)

    # ------------------------------------------------------------- recording
    def _record(self, k: int, ctx: PeriodContext, prev: dict[str, np.ndarray], overridden: int) -> None:
        f = self.fleet
        groups = {g.kind.name: g for g in self._kind_groups}
        consumers: dict[str, np.ndarray] = {}
        generators: dict[str, np.ndarray] = {}
        for name, kind in self.kinds.items():
            if name in groups:
                kw = f.park_sum(name, groups[name].p_kw)
            elif hasattr(kind, "park_output_kw"):
                kw = kind.park_output_kw(f, k)
            else:
                continue
            (consumers if kind.load_sign > 0 else generators)[f"{name}_kw"] = kw
        base_kw = f.base_load_kw[:, k]
        all_kw = None
        for kw in consumers.values():
            all_kw = kw if all_kw is None else all_kw + kw
        all_kw = base_kw.copy() if all_kw is None else all_kw + base_kw
        out_kw = all_kw
        for kw in generators.values():
            out_kw = out_kw - kw
        rho = np.clip(np.maximum(out_kw, 0.0) / np.where(all_kw > 0, all_kw, 1.0), 0.0, 1.0)
        park_fit = period_fitness(out_kw, self._prev_park_out_kw, self._park_p_max_kw, ctx.g, ctx.gamma, ctx.lam, rho)
        self._prev_park_out_kw = out_kw
        fits = [period_fitness(groups[n].p_kw, prev[n], f.units[n].p_max_kw, ctx.g, ctx.gamma, ctx.lam)
                for n in self.controllable]
        fit = np.concatenate(fits) if fits else np.zeros(0)
        columns = {**consumers, "base_kw": base_kw, **generators}
        for p in range(f.n_parks):
            row = {"step": k, "park": f.park_names[p]}
            row.update({c: float(v[p]) for c, v in columns.items()})
            row["net_kw"] = float(out_kw[p])
            row["park_index"] = float(park_fit[p] / ctx.gamma) if ctx.gamma > 0 else 0.0
            row["park_fitness"] = float(park_fit[p])
            self._add_row("parks", row)
        row = {
            "step": k,
            "time": self.weather.index[k],
            "t_out_c": ctx.t_out_c,
            "eta_gi": ctx.eta_gi,
            "gamma": ctx.gamma,
            "g": ctx.g,
            **{c: float(v.sum()) for c, v in columns.items()},
            "net_kw": float(out_kw.sum()),
            "fitness_mean": float(fit.mean()) if fit.size else float("nan"),
            "fitness_min": float(fit.min()) if fit.size else float("nan"),
            "fitness_max": float(fit.max()) if fit.size else float("nan"),
        }
        for g in self._kind_groups:
            row.update(g.record())
        row["actions_overridden"] = overridden
        self._add_row("system", row)
        self.last = row

    def _add_row(self, table: str, row: dict) -> None:
        """Append ``row`` to a DataCollector table; its first row declares the columns (kinds add
        their own), in Mesa's table layout (column -> list of values)."""
        tables = self.datacollector.tables
        if not tables[table]:
            tables[table] = {c: [] for c in row}
        self.datacollector.add_table_row(table, row)

    # --------------------------------------------------------------- results
    def park_series(self) -> pd.DataFrame:
        """Per-period, per-park loads and indices (long format; the DataCollector's ``parks`` table)."""
        return self.datacollector.get_table_dataframe("parks")

    def system_series(self) -> pd.DataFrame:
        """Per-period system-level series (the DataCollector's ``system`` table)."""
        return self.datacollector.get_table_dataframe("system")

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
            "tracking_distance_flexible": shape_distance(self.flexible_kw(sysdf), sysdf["eta_gi"])
            if len(sysdf) > 1
            else 0.0,
            "fitness_mean": float(sysdf["fitness_mean"].mean()) if len(sysdf) else 0.0,
            "comfort_violation_mean_c": float(sysdf["comfort_violation_mean_c"].mean()) if len(sysdf) else 0.0,
            "ev_unmet_kwh": float(sysdf["ev_unmet_kwh"].sum()) if len(sysdf) else 0.0,
        }
        g = self.g[: len(sysdf)]
        for name, grp in parks.groupby("park", sort=False):
            e_all = (self.flexible_kw(grp) + grp["base_kw"]).to_numpy() * self.step_h
            e_out = grp["net_kw"].to_numpy() * self.step_h
            p_max = float(self._park_p_max_kw[self.fleet.park_names.index(name)])
            eta, _, _ = load_index(e_out, e_all, g, p_max * self.step_h, self.lam)
            out[f"eta_ri[{name}]"] = eta
        return out

    def flexible_kw(self, table: pd.DataFrame) -> pd.Series:
        """The controllable consumers' load columns of a system or park table, summed in kind order."""
        cols = [f"{n}_kw" for n in self.controllable if self.kinds[n].load_sign > 0]
        out = table[cols[0]] if cols else pd.Series(0.0, index=table.index)
        for c in cols[1:]:
            out = out + table[c]
        return out

    # ------------------------------------------------------------ checkpoint
    def checkpoint_state(self) -> dict:
        """Everything needed to continue this run bit-for-bit."""
        return {
            "steps": self.steps,
            "fleet": self.fleet.state_dict(),
            "rng": self.rng.bit_generator.state,
            "random": self.random.getstate(),
            "kinds": {name: kind.checkpoint(self) for name, kind in self.kinds.items()},
            "prev_park_out_kw": self._prev_park_out_kw.copy(),
            "tables": {name: {c: list(v) for c, v in cols.items()} for name, cols in self.datacollector.tables.items()},
            "policy": self.policy.state_dict() if hasattr(self.policy, "state_dict") else None,
            "decider": self.decider.state_dict() if hasattr(self.decider, "state_dict") else None,
        }

    def restore_state(self, state: dict) -> None:
        """Inverse of :meth:`checkpoint_state` on a model built from the same scenario."""
        self.steps = state["steps"]
        self.fleet.load_state_dict(state["fleet"])
        self.rng.bit_generator.state = state["rng"]
        self.random.setstate(state["random"])
        for name, kind in self.kinds.items():
            kind.restore(self, state["kinds"].get(name, {}))
        self._prev_park_out_kw = state["prev_park_out_kw"].copy()
        tables = self.datacollector.tables
        for name, cols in state["tables"].items():
            tables[name] = {c: list(v) for c, v in cols.items()}
        rows = tables["system"]
        self.last = {c: v[-1] for c, v in rows.items()} if rows and next(iter(rows.values()), []) else {}
        if state.get("policy") is not None and hasattr(self.policy, "load_state_dict"):
            self.policy.load_state_dict(state["policy"])
        if state.get("decider") is not None and hasattr(self.decider, "load_state_dict"):
            self.decider.load_state_dict(state["decider"])
