"""Air conditioners: a discrete device kind with a first-order ETP thermal model.

Seed 003 §4.4 gives the modes (off, cooling set-points 18/22/26/30 °C) and their
power at 22 °C ambient for a 1.5 kW unit; ``docs/devices.md`` gives the thermal
model, the calibration and the parameter sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from ..distributions import ClippedNormal, Strict, Uniform, quantise
from .base import DeviceKind, SoA, common_features, register_kind

# Mode order is the action order of the AC agents.
AC_MODES: tuple[str, ...] = ("off", "cool18", "cool22", "cool26", "cool30")
AC_MODE_NAMES = AC_MODES
AC_SETPOINT_C = np.array([np.nan, 18.0, 22.0, 26.0, 30.0])
# Seed 003 §4.4: power of each mode at 22 °C ambient for a 1.5 kW unit.
AC_TABLE_KW = np.array([0.0, 1.5, 1.33, 1.1, 0.76])
# Power per kW of nominal rating; "off" is a large negative number so that the
# clip to [0, p_max] zeroes it without a mask on the hot path.
_AC_TABLE_PER_NOMINAL = np.concatenate([[-1e9], AC_TABLE_KW[1:] / 1.5]).astype(np.float32)
AC_TABLE_NOMINAL_KW = 1.5
AC_REFERENCE_T_OUT_C = 22.0
AC_MAX_SETPOINT_STEP_C = 8.0
N_AC_ACTIONS = len(AC_MODES)
# Share of the internal heat gain left when the user is away (solar and envelope
# gains remain; people and appliances leave). See docs/devices.md.
AWAY_GAIN_SHARE = 0.35
_GAIN_SHARE = np.array([AWAY_GAIN_SHARE, 1.0], dtype=np.float32)

AC_FEATURES: tuple[str, ...] = (
    "t_in_dev",  # (T_in - 24) / 5
    "t_out_dev",  # (T_out - 28) / 5
    "hour_sin",
    "hour_cos",
    "eta_gi",
    "gamma",
    "g_x5",
    "prev_p_frac",  # previous power / p_max
    "usual_off", "usual_18", "usual_22", "usual_26", "usual_30",
)
# Percentiles of indoor temperature are taken on a fixed sample above this many units.
_SAMPLE_FOR_PERCENTILES = 100_000


def _ac_transition_mask() -> np.ndarray:
    """Allowed (current mode -> target mode) transitions under control.

    Control moves the setpoint by at most 8 °C per decision (the reading of
    seed 003 Table 1: 18 -> 26 and 22 -> 30 are the largest moves). Switching a
    unit on or off belongs to its user, so control never crosses off <-> on.
    """
    m = np.zeros((N_AC_ACTIONS, N_AC_ACTIONS), dtype=bool)
    m[0, 0] = True
    sp = AC_SETPOINT_C[1:]
    m[1:, 1:] = np.abs(sp[:, None] - sp[None, :]) <= AC_MAX_SETPOINT_STEP_C
    return m


AC_TRANSITIONS = _ac_transition_mask()


# Physical range of each distribution-valued field of ACSpec.
_DIST_RANGES: dict[str, dict[str, float]] = {
    "r_c_per_kw": {"gt": 0.0, "le": 1e3},  # °C/kW
    "c_kwh_per_c": {"gt": 0.0, "le": 1e4},  # kWh/°C
    "cop": {"gt": 0.0, "le": 20.0},
    "t_in_init_c": {"ge": -50.0, "le": 70.0},  # °C
    "on_hour": {"ge": 0.0, "le": 24.0},  # hour of day
    "off_hour": {"ge": 0.0, "le": 24.0},
}


class ACSpec(Strict):
    """Air conditioners of a park (first-order ETP model, see docs/devices.md)."""

    count: Annotated[int, Field(ge=0, le=10_000_000, description="number of units before scaling")]
    activated_share: Annotated[float, Field(ge=0.0, le=1.0, description="share of units that accept control")] = 0.8
    r_c_per_kw: Uniform = Uniform(low=2.0, high=3.3)
    c_kwh_per_c: Uniform = Uniform(low=1.0, high=2.0)
    cop: Uniform = Uniform(low=2.5, high=3.5)
    p_nominal_kw: Annotated[float, Field(gt=0.0, le=50.0, description="power in mode cool18 at 22 °C ambient")] = 1.5
    p_max_kw: Annotated[float, Field(gt=0.0, le=100.0, description="compressor electrical limit")] = 3.0
    on_hour: ClippedNormal = ClippedNormal(mean=8.0, std=1.0, min=0.0, max=23.0)
    off_hour: ClippedNormal = ClippedNormal(mean=19.0, std=1.0, min=1.0, max=24.0)
    mode_shares: dict[Literal["cool18", "cool22", "cool26", "cool30"], Annotated[float, Field(ge=0.0, le=1.0)]] = {
        "cool18": 0.25,
        "cool22": 0.5,
        "cool26": 0.25,
    }
    comfort_low_c: Annotated[float, Field(ge=10.0, le=30.0)] = 19.0
    comfort_high_c: Annotated[float, Field(ge=15.0, le=35.0)] = 27.0
    t_in_init_c: Uniform = Uniform(low=24.0, high=27.0)
    parameter_levels: Annotated[
        int | None,
        Field(ge=2, le=1_000_000, description="quantise R, C, COP draws to this many levels"),
    ] = None

    @model_validator(mode="after")
    def _consistent(self) -> ACSpec:
        # Physical ranges of the distributions (docs/scenarios.md): R, C and COP
        # divide the thermal step, so a zero or negative draw would give inf/NaN.
        for name, bounds in _DIST_RANGES.items():
            try:
                getattr(self, name).check(**bounds)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        total = sum(self.mode_shares.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"mode_shares must sum to 1, got {total:g}")
        if self.p_max_kw < self.p_nominal_kw:
            raise ValueError(f"p_max_kw ({self.p_max_kw}) must be >= p_nominal_kw ({self.p_nominal_kw})")
        if self.comfort_high_c <= self.comfort_low_c:
            raise ValueError("comfort_high_c must be > comfort_low_c")
        return self


@dataclass
class ACFleet(SoA):
    """Air conditioners: first-order equivalent thermal parameter model.

    Thermal balance per unit (``docs/devices.md``)::

        C dT/dt = (T_out - T)/R + q_gain - COP * P

    Electric power in mode m at outdoor temperature T_out::

        P_m = clip(s * P_table[m] + (T_out - 22) / (R * COP), 0, p_max)

    with s = p_nominal / 1.5. At 22 °C ambient this is seed 003's table; the
    slope 1/(R·COP) is the ETP steady-state sensitivity of cooling power to the
    outdoor temperature. ``q_gain`` is calibrated so that mode cool22 holds 22 °C
    in steady state.
    """

    park: np.ndarray  # int32
    r_c_per_kw: np.ndarray  # float32
    c_kwh_per_c: np.ndarray
    cop: np.ndarray
    p_nominal_kw: np.ndarray
    p_max_kw: np.ndarray
    q_gain_kw: np.ndarray
    on_hour: np.ndarray  # user schedule, hours of day
    off_hour: np.ndarray
    preferred_mode: np.ndarray  # int8, the user's usual mode when on
    activated: np.ndarray  # bool
    comfort_low_c: np.ndarray
    comfort_high_c: np.ndarray
    t_in_c: np.ndarray  # state
    mode: np.ndarray  # int8 state: mode of the last period
    p_kw: np.ndarray  # state: power of the last period

    def user_on(self, hour_of_day: float) -> np.ndarray:
        """Whether each user wants the unit running at this hour (schedule may wrap midnight)."""
        h = hour_of_day % 24.0
        on, off = self.on_hour, self.off_hour
        inside = (h >= on) & (h < off)
        wrapped = (h >= on) | (h < off)
        return np.where(on <= off, inside, wrapped)

    def __post_init__(self) -> None:
        self._derive()

    def _derive(self) -> None:
        # Per-unit constants of the hot path, derived once (not state: rebuilt on load).
        self._inv_rcop = (1.0 / (self.r_c_per_kw * self.cop)).astype(np.float32)
        self._decay: dict[float, np.ndarray] = {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        super().load_state_dict(state)
        self._derive()

    def _decay_for(self, dt_h: float) -> np.ndarray:
        a = self._decay.get(dt_h)
        if a is None:
            a = np.exp(-dt_h / (self.r_c_per_kw * self.c_kwh_per_c)).astype(np.float32)
            self._decay = {dt_h: a}
        return a

    def mode_power_kw(self, t_out_c: float) -> np.ndarray:
        """Power of every mode for every unit, shape (n, 5), at this outdoor temperature."""
        p = self.p_nominal_kw[:, None] * _AC_TABLE_PER_NOMINAL[None, :]
        p += ((t_out_c - AC_REFERENCE_T_OUT_C) * self._inv_rcop)[:, None]
        return np.clip(p, 0.0, self.p_max_kw[:, None], out=p)

    def power_of(self, mode: np.ndarray, t_out_c: float) -> np.ndarray:
        """Power of the given mode per unit (no (n, 5) temporary)."""
        p = np.take(_AC_TABLE_PER_NOMINAL, mode) * self.p_nominal_kw
        p += np.float32(t_out_c - AC_REFERENCE_T_OUT_C) * self._inv_rcop
        return np.clip(p, 0.0, self.p_max_kw, out=p)

    def usual_mode(self, hour_of_day: float) -> np.ndarray:
        """Mode the user would choose: preferred mode when scheduled on, else off."""
        return np.where(self.user_on(hour_of_day), self.preferred_mode, 0).astype(np.int8)

    def available_actions(self, hour_of_day: float, usual: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask (n, 5) of modes control may choose this period.

        Non-activated units have exactly one available action: the usual one.
        Activated units that the user runs may move their setpoint by at most
        8 °C from the usual mode; units the user switched off stay off.

        Args:
            hour_of_day: the period's hour.
            usual: :meth:`usual_mode` at that hour, if the caller already has it.
        """
        usual = self.usual_mode(hour_of_day) if usual is None else usual
        avail = AC_TRANSITIONS[usual]
        fixed = ~self.activated
        if fixed.any():
            avail[fixed] = False
            avail[fixed, usual[fixed]] = True
        return avail

    def step(self, mode: np.ndarray, t_out_c: float, dt_h: float, occupied: np.ndarray | None = None) -> np.ndarray:
        """Apply modes for one period; returns the average power per unit (kW).

        Args:
            mode: mode index per unit.
            t_out_c: outdoor temperature.
            dt_h: period length.
            occupied: whether the user is present (full internal gain); absent
                users leave ``AWAY_GAIN_SHARE`` of it (envelope and solar gains).
                Default: present exactly when the unit runs.
        """
        p = self.power_of(mode, t_out_c)
        present = (mode != 0) if occupied is None else occupied
        gain = np.take(_GAIN_SHARE, present.view(np.int8)) * self.q_gain_kw
        # Exact solution over the period: T -> T_eq + (T - T_eq) exp(-dt / RC).
        t_eq = gain
        t_eq -= self.cop * p
        t_eq *= self.r_c_per_kw
        t_eq += np.float32(t_out_c)
        t = self.t_in_c - t_eq
        t *= self._decay_for(dt_h)
        t += t_eq
        self.t_in_c = t
        self.mode = mode.astype(np.int8, copy=False)
        self.p_kw = p
        return p

    def comfort_violation_c(self) -> np.ndarray:
        """Degrees outside the comfort band (0 inside)."""
        return np.maximum(self.t_in_c - self.comfort_high_c, 0.0) + np.maximum(
            self.comfort_low_c - self.t_in_c, 0.0
        )


class ACHandle:
    """An air conditioner."""

    @property
    def t_in_c(self) -> float:
        return float(self._soa.t_in_c[self.idx])

    @property
    def mode(self) -> str:
        return AC_MODES[int(self._soa.mode[self.idx])]

    @property
    def activated(self) -> bool:
        return bool(self._soa.activated[self.idx])

    @property
    def p_max_kw(self) -> float:
        return float(self._soa.p_max_kw[self.idx])


def draw_ac(spec: ACSpec, park: int, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Columns of ``n`` air conditioners of one park drawn from ``spec`` with ``rng``."""
    lv = spec.parameter_levels
    r = quantise(spec.r_c_per_kw.sample(rng, n), spec.r_c_per_kw, lv)
    c = quantise(spec.c_kwh_per_c.sample(rng, n), spec.c_kwh_per_c, lv)
    cop = quantise(spec.cop.sample(rng, n), spec.cop, lv)
    p_nom = np.full(n, spec.p_nominal_kw)
    # Calibrated so that cool22 (1.33 kW at nominal 1.5 kW) holds 22 °C in steady state.
    q_gain = cop * p_nom * (1.33 / 1.5)
    names = list(spec.mode_shares)
    probs = np.array([spec.mode_shares[m] for m in names])
    preferred = np.array([AC_MODES.index(m) for m in names])[rng.choice(len(names), size=n, p=probs / probs.sum())]
    on = spec.on_hour.sample(rng, n)
    off = spec.off_hour.sample(rng, n)
    return {
        "park": np.full(n, park),
        "r_c_per_kw": r,
        "c_kwh_per_c": c,
        "cop": cop,
        "p_nominal_kw": p_nom,
        "p_max_kw": np.full(n, spec.p_max_kw),
        "q_gain_kw": q_gain,
        "on_hour": on,
        "off_hour": off,
        "preferred_mode": preferred,
        "activated": rng.random(n) < spec.activated_share,
        "comfort_low_c": np.full(n, spec.comfort_low_c),
        "comfort_high_c": np.full(n, spec.comfort_high_c),
        "t_in_c": spec.t_in_init_c.sample(rng, n),
        "mode": np.zeros(n),
        "p_kw": np.zeros(n),
    }


@register_kind
class AirConditioner(DeviceKind):
    """Air conditioners: five modes, comfort band, user schedule (seed 003 §4.4)."""

    name = "ac"
    label = "air conditioners"
    spec_cls = ACSpec
    soa_cls = ACFleet
    handle = ACHandle
    actions = "discrete"
    n_actions = N_AC_ACTIONS
    order = 0
    always = True
    features = AC_FEATURES
    # Schedule hours and comfort limits need no more than float16's 0.01-0.02 resolution.
    dtypes = {"preferred_mode": np.int8, "mode": np.int8, "activated": bool, "on_hour": np.float16,
              "off_hour": np.float16, "comfort_low_c": np.float16, "comfort_high_c": np.float16}

    @classmethod
    def draw(cls, spec: ACSpec, park: int, n: int, rng: np.random.Generator, env) -> dict[str, np.ndarray]:
        return draw_ac(spec, park, n, rng)

    # ---- one period's view (see aggregation.policy.KindView)
    @classmethod
    def usual(cls, view) -> np.ndarray:
        return view.fleet.usual_mode(view.ctx.hour_of_day)

    @classmethod
    def device_avail(cls, view) -> np.ndarray:
        return view.fleet.available_actions(view.ctx.hour_of_day, view.usual)

    @classmethod
    def avail(cls, view) -> np.ndarray:
        return view.device_avail  # available_actions applies the activation rule itself

    @classmethod
    def candidate_p_kw(cls, view) -> np.ndarray:
        return view.fleet.mode_power_kw(view.ctx.t_out_c)

    @classmethod
    def no_shed(cls, view, guard_c: float) -> np.ndarray:
        """Units within ``guard_c`` degrees of the top of their comfort band."""
        f = view.fleet
        if guard_c <= 0 or view.n == 0:
            return np.zeros(view.n, bool)
        return f.t_in_c >= f.comfort_high_c - guard_c

    @classmethod
    def comfort_avail(cls, view, guard_c: float) -> np.ndarray:
        """``avail`` where guarded units may not draw less than their usual action."""
        if guard_c <= 0 or view.n == 0:
            return view.avail
        guarded = cls.no_shed(view, guard_c)
        cand = view.candidate_p_kw
        floor = cand[np.arange(view.n), view.usual]
        avail = view.avail.copy()
        avail[guarded] &= cand[guarded] >= floor[guarded, None] - 1e-6
        return avail

    @classmethod
    def observe(cls, view) -> np.ndarray:
        f, c, n = view.fleet, view.ctx, view.n
        prev = (f.p_kw / np.maximum(f.p_max_kw, 1e-9)).astype(np.float32)[:, None]
        usual = np.zeros((n, 5), np.float32)
        usual[np.arange(n), view.usual] = 1.0
        own = np.stack([(f.t_in_c - 24.0) / 5.0, np.full(n, (c.t_out_c - 28.0) / 5.0, np.float32)], axis=1)
        return np.concatenate([own.astype(np.float32), common_features(view, n), prev, usual], axis=1)

    # ---- the model's period
    @classmethod
    def init_record(cls, model, soa: ACFleet) -> dict:
        n = len(soa)
        rows = (np.sort(model.rng.choice(n, _SAMPLE_FOR_PERCENTILES, replace=False))
                if n > _SAMPLE_FOR_PERCENTILES else None)
        return {"pct_rows": rows}

    @classmethod
    def step(cls, model, soa: ACFleet, actions: np.ndarray, ctx, state: dict) -> np.ndarray:
        state["occupied"] = occupied = soa.user_on(ctx.hour_of_day)
        return soa.step(actions, ctx.t_out_c, ctx.dt_h, occupied)

    @classmethod
    def record(cls, model, soa: ACFleet, ctx, state: dict) -> dict[str, float]:
        occupied = state["occupied"]
        rows = state["pct_rows"]
        viol = soa.comfort_violation_c()[occupied]
        t_in = soa.t_in_c if rows is None else soa.t_in_c[rows]
        occ_s = occupied if rows is None else occupied[rows]
        pct = np.percentile(t_in[occ_s], [5, 50, 95]) if occ_s.any() else np.full(3, np.nan)
        return {
            "ac_occupied": int(occupied.sum()),
            "comfort_violation_mean_c": float(viol.mean()) if viol.size else 0.0,
            "comfort_violation_share": float((viol > 0).mean()) if viol.size else 0.0,
            "t_in_p05_c": float(pct[0]),
            "t_in_p50_c": float(pct[1]),
            "t_in_p95_c": float(pct[2]),
        }


def __getattr__(name: str):
    # ``ACAgent`` (the Mesa agent class) is built on first use: reading a scenario imports no Mesa.
    if name == "ACAgent":
        return AirConditioner.agent_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
