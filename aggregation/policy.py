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
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .indices import period_fitness
from .kinds import registered_kinds


def n_actions_by_kind() -> dict[str, int]:
    """Action-ladder width of every registered discrete kind, in registry order."""
    return {name: k.n_actions for name, k in registered_kinds().items() if k.actions == "discrete"}


N_ACTIONS: dict[str, int] = n_actions_by_kind()


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
    """Lazy, read-only arrays describing one controllable DER kind for one period.

    What each array means for a kind comes from the kind's hooks
    (:class:`aggregation.kinds.DeviceKind`); the view computes each at most once.

    Raises:
        ValueError: ``kind`` is not a registered discrete kind.
    """

    def __init__(self, kind: str, fleet: Any, ctx: PeriodContext):
        kinds = registered_kinds()
        if kind not in kinds or kinds[kind].actions != "discrete":
            raise ValueError(f"kind must be one of {sorted(n_actions_by_kind())}, got {kind!r}")
        self.kind = kind
        self.kind_cls = kinds[kind]
        self.fleet = fleet
        self.ctx = ctx

    @property
    def n(self) -> int:
        return len(self.fleet)

    @property
    def n_actions(self) -> int:
        return self.kind_cls.n_actions

    @cached_property
    def period(self) -> Any:
        """The kind's per-period quantities (EV piles: each pile's session), computed once."""
        return self.kind_cls.period(self)

    @property
    def ev_period(self) -> Any:
        """EV piles: each pile's session in this period (alias of :attr:`period`)."""
        return self.period

    @cached_property
    def device_avail(self) -> np.ndarray:
        """(n, n_actions) bool: what the device rules allow, before the activation rule."""
        return self.kind_cls.device_avail(self)

    @cached_property
    def avail(self) -> np.ndarray:
        """(n, n_actions) bool: actions control may choose (non-activated units: only the usual one)."""
        return self.kind_cls.avail(self)

    def comfort_avail(self, guard_c: float) -> np.ndarray:
        """``avail`` with the kind's comfort rule applied.

        Air conditioners: a unit whose indoor temperature is within ``guard_c`` degrees of
        the top of its comfort band may not draw less than its usual action this period.
        The self-organiser and the baselines call this one function, so they solve the
        same problem. Kinds without a comfort rule, and ``guard_c <= 0``, return ``avail``.
        """
        return self.kind_cls.comfort_avail(self, guard_c)

    def no_shed(self, guard_c: float) -> np.ndarray:
        """(n,) bool: units that must not reduce their load for a coalition (comfort guard)."""
        return self.kind_cls.no_shed(self, guard_c)

    @cached_property
    def usual(self) -> np.ndarray:
        """(n,) the action the unit takes without control ("as usual")."""
        return self.kind_cls.usual(self)

    @cached_property
    def candidate_p_kw(self) -> np.ndarray:
        """(n, n_actions) average power each action would draw this period."""
        return self.kind_cls.candidate_p_kw(self)

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
        return self.kind_cls.observe(self)


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

