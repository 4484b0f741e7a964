"""The policy interface: observation arrays in, action arrays out, batched per DER kind.

A policy never sees Mesa agents. Each period the model hands it one
:class:`KindView` per controllable DER kind (air conditioners, EV piles); the
view exposes arrays lazily so a policy only pays for what it reads. The policy
returns one integer action per unit. The model then enforces the device rules:
an action outside ``avail`` is replaced by the unit's usual action and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np

from .devices import N_AC_ACTIONS, N_EV_ACTIONS, ACFleet, EVFleet, EVPeriod
from .indices import period_fitness

N_ACTIONS: dict[str, int] = {"ac": N_AC_ACTIONS, "ev": N_EV_ACTIONS}


@dataclass(frozen=True)
class PeriodContext:
    """What every unit can know about the period being decided."""

    step: int
    t_h: float  # hours since the start of the run
    dt_h: float
    t_out_c: float
    eta_gi: float  # system zero-carbon index of this period (day-ahead signal)
    gamma: float  # fitness weight: system index of the preceding period
    g: float  # normalised renewable gradient of this period
    lam: float  # similarity coefficient

    @property
    def hour_of_day(self) -> float:
        return self.t_h % 24.0


class KindView:
    """Lazy, read-only arrays describing one DER kind for one period."""

    def __init__(self, kind: str, fleet: ACFleet | EVFleet, ctx: PeriodContext):
        if kind not in N_ACTIONS:
            raise ValueError(f"kind must be one of {sorted(N_ACTIONS)}, got {kind!r}")
        self.kind = kind
        self.fleet = fleet
        self.ctx = ctx

    @property
    def n(self) -> int:
        return len(self.fleet)

    @property
    def n_actions(self) -> int:
        return N_ACTIONS[self.kind]

    @cached_property
    def ev_period(self) -> EVPeriod:
        """EV piles only: each pile's session in this period, computed once per view."""
        return self.fleet.session(self.ctx.t_h, self.ctx.dt_h)

    @cached_property
    def device_avail(self) -> np.ndarray:
        """(n, n_actions) bool: what the device rules allow, before the activation rule."""
        if self.kind == "ac":
            return self.fleet.available_actions(self.ctx.hour_of_day, self.usual)
        return self.fleet.available_actions(self.ctx.t_h, self.ctx.dt_h, self.ev_period)

    @cached_property
    def avail(self) -> np.ndarray:
        """(n, n_actions) bool: actions control may choose (non-activated units: only the usual one)."""
        if self.kind == "ac":
            return self.device_avail  # the AC fleet applies its activation rule itself
        avail = self.device_avail.copy()
        fixed = ~self.fleet.activated
        if fixed.any():
            usual = self.usual
            avail[fixed] = False
            avail[fixed, usual[fixed]] = True
        return avail

    def comfort_avail(self, guard_c: float) -> np.ndarray:
        """``avail`` with the comfort rule of the self-organisation applied.

        An air conditioner whose indoor temperature is within ``guard_c`` degrees of
        the top of its comfort band may not draw less than its usual action this
        period. The self-organiser and the baselines call this one function, so they
        solve the same problem. Other kinds, and ``guard_c <= 0``, return ``avail``.
        """
        if self.kind != "ac" or guard_c <= 0 or self.n == 0:
            return self.avail
        f = self.fleet
        guarded = f.t_in_c >= f.comfort_high_c - guard_c
        cand = self.candidate_p_kw
        floor = cand[np.arange(self.n), self.usual]
        avail = self.avail.copy()
        avail[guarded] &= cand[guarded] >= floor[guarded, None] - 1e-6
        return avail

    @cached_property
    def usual(self) -> np.ndarray:
        """(n,) the action the unit takes without control ("as usual")."""
        if self.kind == "ac":
            return self.fleet.usual_mode(self.ctx.hour_of_day)
        return self.fleet.usual_action(self.device_avail)

    @cached_property
    def candidate_p_kw(self) -> np.ndarray:
        """(n, n_actions) average power each action would draw this period."""
        if self.kind == "ac":
            return self.fleet.mode_power_kw(self.ctx.t_out_c)
        _, p = self.fleet.level_power_kw(self.ev_period, np.arange(N_EV_ACTIONS)[None, :], self.ctx.dt_h)
        return p

    @property
    def prev_p_kw(self) -> np.ndarray:
        return self.fleet.p_kw

    @property
    def p_max_kw(self) -> np.ndarray:
        return self.fleet.p_max_kw

    @property
    def park(self) -> np.ndarray:
        return self.fleet.park

    @cached_property
    def candidate_fitness(self) -> np.ndarray:
        """(n, n_actions) one-period fitness of each action (Eq. 5); -inf where unavailable."""
        c = self.ctx
        fit = period_fitness(self.candidate_p_kw, self.prev_p_kw[:, None], self.p_max_kw[:, None], c.g, c.gamma, c.lam)
        return np.where(self.avail, fit, -np.inf)

    @cached_property
    def features(self) -> np.ndarray:
        """(n, obs_dim) float32 observation features (see ``docs/policies.md``)."""
        from .observations import observe

        return observe(self)


@runtime_checkable
class Policy(Protocol):
    """Anything that maps a :class:`KindView` to one action per unit."""

    name: str

    def act(self, view: KindView) -> np.ndarray:
        """Return (n,) integer actions for ``view.kind``."""
        ...


class RulePolicy:
    """Uncontrolled baseline: every unit does what its user would do.

    Air conditioners follow the user's schedule and preferred setpoint;
    EV piles charge at full power from plug-in until the need is met
    ("plug and charge"), forced charging included.
    """

    name = "rule"

    def act(self, view: KindView) -> np.ndarray:
        return view.usual


class GreedyFitnessPolicy:
    """Each unit picks the available action with the best one-period fitness.

    This is the myopic, non-cooperative reading of Eq. 5: no aggregation, no
    learning. Ties go to the usual action, then to the lowest action index.
    """

    name = "greedy"

    def act(self, view: KindView) -> np.ndarray:
        fit = view.candidate_fitness
        best = fit.max(axis=1, keepdims=True)
        # Prefer the usual action among ties so that indifferent units do not move.
        usual = view.usual
        rows = np.arange(view.n)
        usual_is_best = fit[rows, usual] >= best[:, 0] - 1e-12
        return np.where(usual_is_best, usual, np.argmax(fit >= best - 1e-12, axis=1)).astype(np.int64)


POLICIES: dict[str, type] = {"rule": RulePolicy, "greedy": GreedyFitnessPolicy}


def make_policy(name: str, **kwargs) -> Policy:
    """Build a registered policy by name."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; registered: {sorted(POLICIES)}")
    return POLICIES[name](**kwargs)


def register_policy(name: str, cls: type) -> None:
    """Make a policy class available by name (used by ``learners`` and plugins)."""
    POLICIES[name] = cls
