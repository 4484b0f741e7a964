"""The period decision problem shared by every baseline, and the result type they all return.

One period, every controllable unit picks one available action. Park ``p``'s
flexible load and zero-carbon target are::

    L_p = sum_{i in p} candidate_p_kw[i, a_i]
    T_p = sum_{i in p} (prev_p_kw[i] + g * p_max_kw[i])

``T_p`` is the self-organiser's coalition target ``L_prev + dL*`` with
``dL* = g * P_max,C`` (:meth:`aggregation.coalitions.PeriodTable.target_kw`)
applied to the coalition of all controllable units of the park. Every method
minimises the same objective, the L1 distance ``sum_p |L_p - T_p|`` (kW), and
is scored by :func:`evaluate` on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aggregation.coalitions import N_SLOTS, build_table
from aggregation.policy import KindView

# The self-organiser's default comfort rule (AggregationSpec.comfort_guard_c): the baselines apply
# the same rule so that every method solves the same problem.
COMFORT_GUARD_C: float = 0.5


__all__ = ["COMFORT_GUARD_C", "N_SLOTS", "PeriodDecision", "PeriodProblem", "decision_from_actions", "evaluate"]


@dataclass(frozen=True)
class PeriodProblem:
    """One period's decision problem as flat arrays (AC rows first, then EV rows).

    Attributes:
        kinds: kind names in row order.
        bounds: ``kind -> (start, stop)`` rows of each kind.
        park: (n,) int64 park index per unit.
        cand_kw: (n, N_SLOTS) float64 power of each action (0 where padded).
        avail: (n, N_SLOTS) bool actions the device rules allow.
        usual: (n,) int64 action without control.
        prev_kw: (n,) load of the previous period.
        p_max_kw: (n,) rating.
        g: renewable gradient of the period.
        n_parks: number of parks.
        step: period index.
    """

    kinds: tuple[str, ...]
    bounds: dict[str, tuple[int, int]]
    park: np.ndarray
    cand_kw: np.ndarray
    avail: np.ndarray
    usual: np.ndarray
    prev_kw: np.ndarray
    p_max_kw: np.ndarray
    g: float
    n_parks: int
    step: int = 0

    @property
    def n(self) -> int:
        return len(self.park)

    @property
    def target_kw(self) -> np.ndarray:
        """(n_parks,) zero-carbon target ``T_p = L_p,prev + g * P_max,p``."""
        per_unit = self.prev_kw + self.g * self.p_max_kw
        return np.bincount(self.park, weights=per_unit, minlength=self.n_parks)

    def sanitize(self, act: np.ndarray) -> np.ndarray:
        """Replace out-of-range or unavailable actions by the usual one (as the model does)."""
        act = np.asarray(act, dtype=np.int64)
        ok = (act >= 0) & (act < N_SLOTS)
        safe = np.where(ok, act, 0)
        ok &= self.avail[np.arange(self.n), safe]
        return np.where(ok, act, self.usual)

    def power_kw(self, act: np.ndarray) -> np.ndarray:
        """(n,) power of the given (flat) actions."""
        return self.cand_kw[np.arange(self.n), np.asarray(act, np.int64)]

    def park_load_kw(self, act: np.ndarray) -> np.ndarray:
        """(n_parks,) flexible load ``L_p`` under the given (flat) actions."""
        return np.bincount(self.park, weights=self.power_kw(act), minlength=self.n_parks)

    def residual_kw(self, act: np.ndarray) -> float:
        """Objective ``sum_p |L_p - T_p|`` (kW) of valid flat actions."""
        return float(np.abs(self.park_load_kw(act) - self.target_kw).sum())

    def split(self, act: np.ndarray) -> dict[str, np.ndarray]:
        """Per-kind int64 action arrays from the flat array."""
        act = np.asarray(act, np.int64)
        return {k: act[a:b].copy() for k, (a, b) in self.bounds.items()}

    def join(self, actions: dict[str, np.ndarray]) -> np.ndarray:
        """Flat int64 actions from per-kind arrays."""
        parts = [np.asarray(actions[k], np.int64).reshape(-1) for k in self.kinds]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    @classmethod
    def from_views(
        cls, views: dict[str, KindView], n_parks: int | None = None, comfort_guard_c: float = 0.0
    ) -> PeriodProblem:
        """Flatten the period's kind views (rows ``ac``, ``ev``, then other kinds alphabetically).

        Args:
            views: ``{kind: KindView}`` of one period.
            n_parks: number of parks (default: largest park index + 1).
            comfort_guard_c: the self-organiser's comfort rule, applied here so that every method
                solves the same problem: an air conditioner within this many degrees of the top of
                its comfort band may not draw less than its usual action (0 disables it).
        """
        # The self-organiser's flattening, so both sides see identical rows, powers and rules.
        t = build_table(views, comfort_guard_c)
        if n_parks is None:
            n_parks = t.n_parks
        return cls(
            kinds=t.kinds,
            bounds=t.bounds,
            park=t.park,
            cand_kw=t.cand_kw.astype(np.float64),
            avail=t.avail,
            usual=t.usual.astype(np.int64),
            prev_kw=t.prev_kw,
            p_max_kw=t.p_max_kw,
            g=t.g,
            n_parks=int(n_parks),
            step=t.step,
        )

    @classmethod
    def from_arrays(
        cls,
        cand_kw: np.ndarray,
        avail: np.ndarray,
        prev_kw: np.ndarray,
        p_max_kw: np.ndarray,
        *,
        g: float,
        park: np.ndarray | None = None,
        usual: np.ndarray | None = None,
        n_parks: int | None = None,
    ) -> PeriodProblem:
        """A problem from plain arrays (tests, toy problems); every row is kind ``"ac"``.

        Args:
            cand_kw: (n, <= N_SLOTS) power of each action.
            avail: same shape, allowed actions (each row needs one).
            prev_kw: (n,) previous load.
            p_max_kw: (n,) ratings.
            g: renewable gradient.
            park: (n,) park index (default all 0).
            usual: (n,) usual action (default the first available one).
            n_parks: number of parks (default largest index + 1).
        """
        cand_kw = np.atleast_2d(np.asarray(cand_kw, np.float64))
        avail = np.atleast_2d(np.asarray(avail, bool))
        n, a = cand_kw.shape
        if a > N_SLOTS or avail.shape != (n, a):
            raise ValueError(f"cand_kw {cand_kw.shape} and avail {avail.shape} must match, <= {N_SLOTS} actions")
        if not avail.any(axis=1).all():
            raise ValueError("every unit needs at least one available action")
        c = np.zeros((n, N_SLOTS))
        c[:, :a] = cand_kw
        av = np.zeros((n, N_SLOTS), bool)
        av[:, :a] = avail
        park = np.zeros(n, np.int64) if park is None else np.asarray(park, np.int64)
        return cls(
            kinds=("ac",),
            bounds={"ac": (0, n)},
            park=park,
            cand_kw=c,
            avail=av,
            usual=np.argmax(av, axis=1).astype(np.int64) if usual is None else np.asarray(usual, np.int64),
            prev_kw=np.asarray(prev_kw, np.float64),
            p_max_kw=np.asarray(p_max_kw, np.float64),
            g=float(g),
            n_parks=int(park.max()) + 1 if n_parks is None and n else int(n_parks or 0),
        )


@dataclass
class PeriodDecision:
    """What a method decided for one period, scored on the shared objective.

    Attributes:
        method: method name.
        actions: ``kind -> (n_kind,) int64`` actions (all available).
        park_load_kw: (n_parks,) flexible load ``L_p``.
        target_kw: (n_parks,) target ``T_p``.
        residual_kw: objective ``sum_p |L_p - T_p|``.
        time_s: the method's own computation (solve / iterations, disaggregation),
            excluding the flattening of the views.
        wall_s: the whole decider call, views included (0 when not measured).
        iterations: iterations (Lagrangian, self-organisation) or branch-and-bound nodes (MIP).
        converged: stopping criterion met (MIP: proven optimal within the gap).
        info: method-specific details (formulation, MIP gap, final prices, ...).
    """

    method: str
    actions: dict[str, np.ndarray]
    park_load_kw: np.ndarray
    target_kw: np.ndarray
    residual_kw: float
    time_s: float
    wall_s: float
    iterations: int
    converged: bool
    info: dict = field(default_factory=dict)


def decision_from_actions(
    problem: PeriodProblem,
    act: np.ndarray,
    method: str,
    *,
    time_s: float = 0.0,
    wall_s: float = 0.0,
    iterations: int = 0,
    converged: bool = True,
    info: dict | None = None,
) -> PeriodDecision:
    """Score flat actions (unavailable ones replaced by the usual action) into a :class:`PeriodDecision`."""
    act = problem.sanitize(act)
    load = problem.park_load_kw(act)
    target = problem.target_kw
    return PeriodDecision(
        method=method,
        actions=problem.split(act),
        park_load_kw=load,
        target_kw=target,
        residual_kw=float(np.abs(load - target).sum()),
        time_s=float(time_s),
        wall_s=float(wall_s),
        iterations=int(iterations),
        converged=bool(converged),
        info=dict(info or {}),
    )


def evaluate(views: dict[str, KindView], actions: dict[str, np.ndarray]) -> float:
    """Residual ``sum_p |L_p - T_p|`` (kW) of per-kind actions, scored as the model would execute them.

    Unavailable or out-of-range actions are replaced by the usual action, as
    :meth:`aggregation.model.VppModel.step` does.
    """
    problem = PeriodProblem.from_views(views)
    return problem.residual_kw(problem.sanitize(problem.join(actions)))
