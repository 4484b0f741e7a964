"""EV charging piles: a discrete device kind with one charging session per pile per day.

Charging levels are fractions {0, 0.5, 1} of the pile rating; a session is
forced to charge when its slack runs out, and what cannot be delivered by
departure is counted as unmet energy (``docs/devices.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from ..distributions import ClippedNormal, Strict, quantise
from .base import DeviceKind, SoA, common_features, register_kind

# EV charging levels as fractions of the pile rating.
EV_LEVELS = np.array([0.0, 0.5, 1.0])
N_EV_ACTIONS = len(EV_LEVELS)

EV_FEATURES: tuple[str, ...] = (
    "plugged_frac",
    "e_rem_frac",  # remaining need / (p_max * dt)
    "slack_h_frac",  # hours after this period / 12
    "hour_sin",
    "hour_cos",
    "eta_gi",
    "gamma",
    "g_x5",
    "prev_p_frac",
    "forced",
)


class EVSpec(Strict):
    """EV charging piles of a park; one charging session per pile per day.

    Arrivals are hours of the day (0–24), stays and energies non-negative; a stay
    shorter than a period is allowed and its energy shows as unmet.
    """

    count: Annotated[int, Field(ge=0, le=10_000_000, description="number of piles before scaling")]
    p_max_kw: Annotated[float, Field(gt=0.0, le=350.0, description="pile rating")] = 7.0
    arrival_h: ClippedNormal = ClippedNormal(mean=8.5, std=1.0, min=0.0, max=23.5)
    dwell_h: ClippedNormal = ClippedNormal(mean=8.0, std=1.5, min=0.5, max=23.0)
    energy_kwh: ClippedNormal = ClippedNormal(mean=20.0, std=8.0, min=2.0, max=80.0)
    activated_share: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    parameter_levels: Annotated[
        int | None,
        Field(ge=2, le=1_000_000, description="quantise arrival, dwell, energy draws to this many levels"),
    ] = None

    @model_validator(mode="after")
    def _physical(self) -> EVSpec:
        if self.arrival_h.min < 0.0 or self.arrival_h.max > 24.0:
            raise ValueError(f"arrival_h must lie within the day [0, 24] h, got [{self.arrival_h.min}, "
                             f"{self.arrival_h.max}]")
        if self.dwell_h.min < 0.0 or self.dwell_h.max > 24.0 * 7:
            raise ValueError(f"dwell_h must lie in [0, 168] h (a stay cannot be negative), got "
                             f"[{self.dwell_h.min}, {self.dwell_h.max}]")
        if self.energy_kwh.min < 0.0:
            raise ValueError(f"energy_kwh cannot be negative, got min {self.energy_kwh.min}")
        # Every parameter of the distributions, not only the clipping bounds
        # (docs/scenarios.md): a mean outside the range would be clipped silently.
        for name, bounds in (("arrival_h", {"ge": 0.0, "le": 24.0}), ("dwell_h", {"ge": 0.0, "le": 168.0}),
                             ("energy_kwh", {"ge": 0.0, "le": 1e4})):
            try:
                getattr(self, name).check(**bounds)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self


class EVPeriod(NamedTuple):
    """Each pile's active session in one period (see :meth:`EVFleet.session`)."""

    rows: np.ndarray
    j: np.ndarray  # active session column per pile
    plugged_h: np.ndarray  # hours plugged in during the period
    after_h: np.ndarray  # hours plugged in after the period
    e_rem_kwh: np.ndarray  # need still to deliver
    need_kw: np.ndarray  # forced minimum average power while plugged


@dataclass
class EVFleet(SoA):
    """EV charging piles with one session per pile per day.

    Session j of pile i is present on [arrival_h[i, j], departure_h[i, j]) in
    hours since the start of the run and needs ``e_need_kwh[i, j]``. Charging
    levels are fractions {0, 0.5, 1} of the rating; when the slack runs out the
    pile is forced to the smallest level that can still meet the need by
    departure. What cannot be delivered is counted as unmet energy.
    """

    park: np.ndarray
    p_max_kw: np.ndarray
    activated: np.ndarray
    arrival_h: np.ndarray  # (n, n_days) float32
    departure_h: np.ndarray  # (n, n_days)
    e_need_kwh: np.ndarray  # (n, n_days)
    e_rem_kwh: np.ndarray  # (n, n_days) state
    p_kw: np.ndarray  # state: power of the last period

    def session(self, t_h: float, dt_h: float) -> EVPeriod:
        """Where every pile stands in the period: one pass shared by masks, candidates and the step."""
        overlap = np.minimum(self.departure_h, t_h + dt_h) - np.maximum(self.arrival_h, t_h)
        overlap = np.clip(overlap, 0.0, dt_h)
        # Sessions of one pile never overlap, so at most one column is non-zero.
        j = np.argmax(overlap, axis=1)
        rows = np.arange(len(j))
        plugged_h = overlap[rows, j]
        after_h = np.maximum(self.departure_h[rows, j] - (t_h + dt_h), 0.0)
        e_rem = self.e_rem_kwh[rows, j]
        need_kw = np.maximum(e_rem - self.p_max_kw * after_h, 0.0) / np.maximum(plugged_h, 1e-9)
        return EVPeriod(rows, j, plugged_h, after_h, e_rem, need_kw)

    def available_actions(self, t_h: float, dt_h: float, sp: EVPeriod | None = None) -> np.ndarray:
        """Mask (n, 3): off when absent; levels at or above the forced minimum when present."""
        sp = self.session(t_h, dt_h) if sp is None else sp
        present = (sp.plugged_h > 0) & (sp.e_rem_kwh > 1e-9)
        level_kw = EV_LEVELS[None, :] * self.p_max_kw[:, None]
        # A level is allowed when it meets the forced minimum, or it is the top level.
        ok = (level_kw >= sp.need_kw[:, None] - 1e-6) | (EV_LEVELS[None, :] == 1.0)
        return np.where(present[:, None], ok, EV_LEVELS[None, :] == 0.0)

    @staticmethod
    def usual_action(avail: np.ndarray) -> np.ndarray:
        """Plug-and-charge: full power whenever a car with unmet need is plugged in, else off.

        Args:
            avail: the mask of :meth:`available_actions` (full power is available exactly then).
        """
        return np.where(avail[:, 2], 2, 0).astype(np.int8)

    def level_power_kw(self, sp: EVPeriod, levels: np.ndarray, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        """Energy delivered (kWh) and average power (kW) for the given levels, forced charging included.

        ``levels`` broadcasts against the piles: (n,) for one action per pile, (n, 3) for every action.
        """
        extra = (slice(None),) + (None,) * (np.ndim(levels) - 1)
        p_req = EV_LEVELS[levels] * self.p_max_kw[extra]
        p_req = np.maximum(p_req, np.minimum(sp.need_kw, self.p_max_kw)[extra])
        e = np.minimum(p_req * sp.plugged_h[extra], sp.e_rem_kwh[extra])
        return e, (e / dt_h).astype(np.float32)

    def step(self, action: np.ndarray, t_h: float, dt_h: float) -> tuple[np.ndarray, np.ndarray]:
        """Charge for one period.

        Returns:
            (average power per pile in kW, unmet energy of sessions that ended in this period in kWh).
        """
        sp = self.session(t_h, dt_h)
        e, p = self.level_power_kw(sp, action, dt_h)
        self.e_rem_kwh[sp.rows, sp.j] = sp.e_rem_kwh - e
        # Every session that leaves in this period moves its remainder to the unmet account (so it
        # is counted once) — including sessions too short to have been plugged in during any
        # period, which are not the pile's active column.
        ends = (self.departure_h > t_h) & (self.departure_h <= t_h + dt_h)
        if ends.shape[1] == 1:
            unmet = np.where(ends[:, 0], self.e_rem_kwh[:, 0], 0.0).astype(np.float32)
        else:
            unmet = np.where(ends, self.e_rem_kwh, 0.0).sum(axis=1).astype(np.float32)
        self.e_rem_kwh[ends] = 0.0
        self.p_kw = p
        return p, unmet


class EVHandle:
    """An EV charging pile."""

    @property
    def p_max_kw(self) -> float:
        return float(self._soa.p_max_kw[self.idx])

    @property
    def unmet_kwh(self) -> float:
        """Unmet energy of this pile's sessions that have ended so far."""
        return float(self.model.ev_unmet_by_pile_kwh[self.idx])


def draw_ev(spec: EVSpec, park: int, n: int, n_days: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Columns of ``n`` piles of one park with ``n_days`` daily sessions each, drawn with ``rng``."""
    # Day -1 is included so that sessions plugged in overnight are present at t = 0.
    day0 = 24.0 * (np.arange(n_days) - 1)[None, :]
    lv = spec.parameter_levels
    arrival = quantise(spec.arrival_h.sample(rng, n * n_days), spec.arrival_h, lv).reshape(n, n_days) + day0
    dwell = quantise(spec.dwell_h.sample(rng, n * n_days), spec.dwell_h, lv).reshape(n, n_days)
    departure = arrival + dwell
    # One session per pile per day: a session ends before the next one starts.
    nxt = np.concatenate([arrival[:, 1:], np.full((n, 1), np.inf)], axis=1)
    departure = np.minimum(departure, nxt)
    need = quantise(spec.energy_kwh.sample(rng, n * n_days), spec.energy_kwh, lv).reshape(n, n_days)
    # Energy a plug-and-charge pile already delivered before the run started.
    before_kwh = spec.p_max_kw * np.clip(np.minimum(departure, 0.0) - arrival, 0.0, None)
    return {
        "park": np.full(n, park),
        "p_max_kw": np.full(n, spec.p_max_kw),
        "activated": rng.random(n) < spec.activated_share,
        "arrival_h": arrival,
        "departure_h": departure,
        "e_need_kwh": need,
        "e_rem_kwh": np.maximum(need - before_kwh, 0.0),
        "p_kw": np.zeros(n),
    }


@register_kind
class EVCharger(DeviceKind):
    """EV charging piles: three charging levels, forced charging, unmet energy (seed 003 §5.1)."""

    name = "ev"
    label = "EV charging piles"
    spec_cls = EVSpec
    soa_cls = EVFleet
    handle = EVHandle
    actions = "discrete"
    n_actions = N_EV_ACTIONS
    order = 1
    always = True
    features = EV_FEATURES
    dtypes = {"activated": bool}
    empty_shapes = {"arrival_h": (0, 1), "departure_h": (0, 1), "e_need_kwh": (0, 1), "e_rem_kwh": (0, 1)}

    @classmethod
    def draw(cls, spec: EVSpec, park: int, n: int, rng: np.random.Generator, env) -> dict[str, np.ndarray]:
        return draw_ev(spec, park, n, env.n_days, rng)

    # ---- one period's view
    @classmethod
    def period(cls, view) -> EVPeriod:
        return view.fleet.session(view.ctx.t_h, view.ctx.dt_h)

    @classmethod
    def usual(cls, view) -> np.ndarray:
        return view.fleet.usual_action(view.device_avail)

    @classmethod
    def device_avail(cls, view) -> np.ndarray:
        return view.fleet.available_actions(view.ctx.t_h, view.ctx.dt_h, view.period)

    @classmethod
    def candidate_p_kw(cls, view) -> np.ndarray:
        _, p = view.fleet.level_power_kw(view.period, np.arange(N_EV_ACTIONS)[None, :], view.ctx.dt_h)
        return p

    @classmethod
    def observe(cls, view) -> np.ndarray:
        f, c, n = view.fleet, view.ctx, view.n
        prev = (f.p_kw / np.maximum(f.p_max_kw, 1e-9)).astype(np.float32)[:, None]
        sp = view.period
        plugged_h, after_h = sp.plugged_h, sp.after_h
        e_rem = np.where(plugged_h > 0, sp.e_rem_kwh, 0.0)
        cap = f.p_max_kw * c.dt_h
        forced = ~view.avail[:, 0] & (plugged_h > 0)
        own = np.stack([plugged_h / c.dt_h, e_rem / np.maximum(cap, 1e-9), after_h / 12.0], axis=1).astype(np.float32)
        return np.concatenate([own, common_features(view, n), prev, forced[:, None].astype(np.float32)], axis=1)

    # ---- the model's period
    @classmethod
    def init_record(cls, model, soa: EVFleet) -> dict:
        model.ev_unmet_by_pile_kwh = np.zeros(len(soa), np.float32)
        return {}

    @classmethod
    def step(cls, model, soa: EVFleet, actions: np.ndarray, ctx, state: dict) -> np.ndarray:
        p, unmet = soa.step(actions, ctx.t_h, ctx.dt_h)
        model.ev_unmet_by_pile_kwh += unmet
        state["unmet"] = unmet
        return p

    @classmethod
    def record(cls, model, soa: EVFleet, ctx, state: dict) -> dict[str, float]:
        return {"ev_unmet_kwh": float(state["unmet"].sum())}

    @classmethod
    def checkpoint(cls, model) -> dict:
        return {"ev_unmet_by_pile_kwh": model.ev_unmet_by_pile_kwh.copy()}

    @classmethod
    def restore(cls, model, state: dict) -> None:
        model.ev_unmet_by_pile_kwh = state["ev_unmet_by_pile_kwh"].copy()


def __getattr__(name: str):
    # ``EVAgent`` (the Mesa agent class) is built on first use: reading a scenario imports no Mesa.
    if name == "EVAgent":
        return EVCharger.agent_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
