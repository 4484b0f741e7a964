"""Vectorised device models: air conditioners, EV charging piles, PV.

Every device kind is a structure of arrays: one numpy array per parameter or
state variable, one entry per unit. Updates are whole-array operations; no
Python loop runs over units. Equations and parameter sources are in
``docs/devices.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

# Mode order is the action order of the AC agents.
AC_MODES: tuple[str, ...] = ("off", "cool18", "cool22", "cool26", "cool30")
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

# EV charging levels as fractions of the pile rating.
EV_LEVELS = np.array([0.0, 0.5, 1.0])
N_EV_ACTIONS = len(EV_LEVELS)


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


@dataclass
class _SoA:
    """Helpers shared by the structure-of-arrays fleets."""

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    def state_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name).copy() for f in fields(self)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for f in fields(self):
            setattr(self, f.name, np.array(state[f.name], copy=True))

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))


class EVPeriod(NamedTuple):
    """Each pile's active session in one period (see :meth:`EVFleet.session`)."""

    rows: np.ndarray
    j: np.ndarray  # active session column per pile
    plugged_h: np.ndarray  # hours plugged in during the period
    after_h: np.ndarray  # hours plugged in after the period
    e_rem_kwh: np.ndarray  # need still to deliver
    need_kw: np.ndarray  # forced minimum average power while plugged


@dataclass
class ACFleet(_SoA):
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


@dataclass
class EVFleet(_SoA):
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
        e_rem = sp.e_rem_kwh - e
        dep = self.departure_h[sp.rows, sp.j]
        ends = (dep > t_h) & (dep <= t_h + dt_h)
        unmet = np.where(ends, e_rem, 0.0).astype(np.float32)
        # A departed car's remainder moves to the unmet account, so it is counted once.
        self.e_rem_kwh[sp.rows, sp.j] = np.where(ends, 0.0, e_rem)
        self.p_kw = p
        return p, unmet


def pv_profile_kw_per_kwp(weather, spec) -> np.ndarray:
    """AC output per kWp for each period from a weather frame (pvlib PVWatts chain).

    Args:
        weather: frame from :func:`aggregation.weather.load_weather`.
        spec: a :class:`aggregation.specs.PVSpec`.

    Returns:
        float array (n_steps,) of kW per kWp (period averages at period centres).
    """
    import pandas as pd
    import pvlib

    site = weather.attrs["site"]
    step = weather.index[1] - weather.index[0] if len(weather) > 1 else pd.Timedelta(hours=1)
    times = weather.index + step / 2
    loc = pvlib.location.Location(site.latitude_deg, site.longitude_deg, altitude=site.altitude_m)
    sol = loc.get_solarposition(times)
    poa = pvlib.irradiance.get_total_irradiance(
        spec.tilt_deg,
        spec.azimuth_deg,
        sol["apparent_zenith"].to_numpy(),
        sol["azimuth"].to_numpy(),
        weather["dni_w_m2"].to_numpy(),
        weather["ghi_w_m2"].to_numpy(),
        weather["dhi_w_m2"].to_numpy(),
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float))
    t_cell = pvlib.temperature.faiman(poa_global, weather["t_air_c"].to_numpy(), weather["wind_speed_m_s"].to_numpy())
    pdc = pvlib.pvsystem.pvwatts_dc(poa_global, t_cell, 1.0, spec.gamma_pdc_per_c) * (1.0 - spec.system_losses)
    pac = np.clip(pdc * spec.inverter_efficiency, 0.0, 1.0)
    return pac.astype(np.float64)
