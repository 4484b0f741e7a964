"""Typed, torch-free configs of the registered learners.

Kept apart from the learner modules so that a scenario's ``training`` block is
validated at load (``import scenarios.schema``) without importing torch.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["BUDGET_KEYS", "LagrangianConfig", "MIPConfig", "NoConfig", "QMIXConfig", "check_file_values", "checked_hints",
           "coerce", "config_from_dict"]

# Keys that may differ between a checkpoint and the run resuming it: they only set how far to go.
BUDGET_KEYS = frozenset({"n_episodes", "t_max", "checkpoint_interval"})


@dataclass
class QMIXConfig:
    """QMIX/VDN hyperparameters; defaults are PyMARL's ``default.yaml`` + ``algs/qmix.yaml``.

    Attributes:
        mixer: ``"qmix"`` (monotonic hypernetwork mixer) or ``"vdn"`` (sum).
        rnn_hidden_dim: GRU width of each agent network.
        mixing_embed_dim: hidden width of the mixing network.
        hypernet_embed: hidden width of the two-layer hypernetworks for W1 and W2.
        obs_last_action: append the agent's previous action (one-hot) to its input.
        obs_agent_id: append the agent's slot id (one-hot); turn off for fleets whose size
            changes at deployment, since an id over training slots does not generalise.
        optimizer: ``"rmsprop"`` (PyMARL) or ``"adam"``.
        lr: learning rate.
        optim_alpha: RMSprop smoothing constant (ignored by Adam).
        optim_eps: optimiser epsilon.
        gamma: discount factor.
        batch_size: episodes per gradient step.
        buffer_size: replay capacity in episodes.
        target_update_interval: episodes between hard target-network copies.
        grad_norm_clip: max global L2 norm of the gradient.
        double_q: choose target actions with the online network, value them with the target.
        epsilon_start: initial exploration rate.
        epsilon_finish: final exploration rate.
        epsilon_anneal_time: environment steps over which epsilon decays linearly.
        seed: seeds every generator the learner owns.
        n_episodes: episode budget (None: only ``t_max`` limits training).
        t_max: environment-step budget (None: only ``n_episodes`` limits training).
        checkpoint_interval: episodes between checkpoints when a directory is given (0: only at the end).
        torch_threads: intra-op threads while training and evaluating (None: leave torch's setting).
            The default 1 is a vppsim choice: update batches are tiny, so extra threads only add
            synchronisation, and on a busy 2-core machine OpenMP spin-waits made updates 20x slower.
            Results are bit-reproducible only for the same thread count.
    """

    mixer: Literal["qmix", "vdn"] = "qmix"
    rnn_hidden_dim: int = 64
    mixing_embed_dim: int = 32
    hypernet_embed: int = 64
    obs_last_action: bool = True
    obs_agent_id: bool = True
    optimizer: Literal["rmsprop", "adam"] = "rmsprop"
    lr: float = 5e-4
    optim_alpha: float = 0.99
    optim_eps: float = 1e-5
    gamma: float = 0.99
    batch_size: int = 32
    buffer_size: int = 5000
    target_update_interval: int = 200
    grad_norm_clip: float = 10.0
    double_q: bool = True
    epsilon_start: float = 1.0
    epsilon_finish: float = 0.05
    epsilon_anneal_time: int = 50_000
    seed: int = 0
    n_episodes: int | None = None
    t_max: int | None = 2_050_000
    checkpoint_interval: int = 0
    torch_threads: int | None = 1

    def __post_init__(self) -> None:
        if self.mixer not in ("qmix", "vdn"):
            raise ValueError(f"mixer must be 'qmix' or 'vdn', got {self.mixer!r}")
        if self.optimizer not in ("rmsprop", "adam"):
            raise ValueError(f"optimizer must be 'rmsprop' or 'adam', got {self.optimizer!r}")
        for name in ("rnn_hidden_dim", "mixing_embed_dim", "hypernet_embed", "batch_size", "buffer_size",
                     "target_update_interval", "epsilon_anneal_time"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size {self.batch_size} exceeds buffer_size {self.buffer_size}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not 0.0 <= self.epsilon_finish <= 1.0 or not 0.0 <= self.epsilon_start <= 1.0:
            raise ValueError("epsilon_start and epsilon_finish must be in [0, 1]")
        if self.torch_threads is not None and self.torch_threads < 1:
            raise ValueError(f"torch_threads must be >= 1 or None, got {self.torch_threads}")
        _check_ranges(self, _QMIX_RANGES)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QMIXConfig:
        """Build a config from a (scenario-file) mapping, overriding defaults key by key.

        Raises:
            ValueError: on unknown keys (with close-match suggestions) or values of the wrong type.
        """
        return config_from_dict(cls, d, "QMIX")


# Physical/computational range of every numeric QMIX option (inclusive; None: unbounded
# on that side). Upper bounds keep a scenario from asking for tensors that cannot
# be allocated (rnn_hidden_dim: 10**30) or steps that overflow (issue 10).
_QMIX_RANGES: dict[str, tuple[float | None, float | None]] = {
    "rnn_hidden_dim": (1, 4096), "mixing_embed_dim": (1, 4096), "hypernet_embed": (1, 4096),
    "lr": (0.0, 1.0), "optim_alpha": (0.0, 1.0), "optim_eps": (0.0, 1.0), "gamma": (0.0, 1.0),
    "batch_size": (1, 100_000), "buffer_size": (1, 10_000_000), "target_update_interval": (1, 10**9),
    "grad_norm_clip": (0.0, 1e9), "epsilon_anneal_time": (1, 10**12), "seed": (0, 2**63 - 1),
    "n_episodes": (1, 10**9), "t_max": (1, 10**13), "checkpoint_interval": (0, 10**9), "torch_threads": (1, 1024),
}


def _check_ranges(cfg: Any, ranges: dict[str, tuple[float | None, float | None]],
                  open_low: tuple[str, ...] = ()) -> None:
    """Raise ``ValueError`` for a non-finite value or one outside ``ranges`` (None values are skipped).

    Bounds are inclusive, except the lower bound of the names in ``open_low`` (``v > lo``).
    """
    for name, (lo, hi) in ranges.items():
        v = getattr(cfg, name)
        if v is None or isinstance(v, bool):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v!r}")
        strict = name in open_low
        if (lo is not None and (v <= lo if strict else v < lo)) or (hi is not None and v > hi):
            if lo is not None and hi is not None:
                raise ValueError(f"{name} must be in {'(' if strict else '['}{lo:g}, {hi:g}], got {v!r}")
            if lo is not None:
                raise ValueError(f"{name} must be {'>' if strict else '>='} {lo:g}, got {v!r}")
            raise ValueError(f"{name} must be <= {hi:g}, got {v!r}")


def check_file_values(cls: type, d: dict[str, Any], label: str) -> None:
    """The stricter rules for a config read from a scenario file (issue 10, ``docs/scenarios.md``).

    :func:`coerce` stays lenient for programmatic callers (numeric strings, ``8.0``
    for an int); a file gets what every other numeric field of a scenario gets: a
    boolean or a quoted number is not a number, an integer option refuses ``3.0``,
    and NaN/inf are refused. Keys that ``cls`` does not declare are left to
    :func:`config_from_dict`, which names the allowed ones.

    Raises:
        ValueError: naming the key and the value.
    """
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - a config without resolvable hints: nothing to check here
        return
    for key, value in d.items():
        hint = hints.get(key)
        if hint is None or value is None:
            continue
        args = typing.get_args(hint)
        if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
            rest = [a for a in args if a is not type(None)]
            hint = rest[0] if len(rest) == 1 else hint
        if hint not in (int, float):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{label} config key {key!r} must be a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{label} config key {key!r} must be finite, got {value!r}")
        if hint is int and not isinstance(value, int):
            raise ValueError(f"{label} config key {key!r} must be an integer, got {value!r}")


def coerce(key: str, value: Any, hint: Any) -> Any:
    """Check a config value against its annotation, accepting int for float and numeric strings.

    Numeric strings are accepted because YAML 1.1 loaders read ``5e-4`` as a string.
    """
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"config key {key!r} must be one of {list(args)}, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"config key {key!r} must be a bool, got {value!r}")
        return value
    if hint in (int, float):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"config key {key!r} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"config key {key!r} must be a number, got {value!r}")
        if not math.isfinite(value):  # before int(): int(inf) raises OverflowError
            raise ValueError(f"config key {key!r} must be finite, got {value!r}")
        if hint is int:
            if value != int(value):
                raise ValueError(f"config key {key!r} must be an integer, got {value!r}")
            return int(value)
        return float(value)
    return value


def config_from_dict(cls: type, d: dict[str, Any], label: str) -> Any:
    """Build the dataclass ``cls`` from a mapping, checking keys and value types.

    Args:
        cls: a dataclass whose annotations say each key's type.
        d: the mapping (e.g. a scenario file's ``training.config``).
        label: the learner's name for messages.

    Raises:
        ValueError: on unknown keys (with close-match suggestions) or values of the wrong type.
    """
    hints = checked_hints(cls, d, f"{label} config")
    return cls(**{k: coerce(k, v, hints[k]) for k, v in d.items()})


def checked_hints(cls: type, d: dict[str, Any], what: str) -> dict[str, Any]:
    """The type hints of the dataclass ``cls``, after checking that ``d`` names only its fields.

    Raises:
        ValueError: ``unknown <what> key(s): ...`` with close-match suggestions and the valid keys.
    """
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(d) - set(hints))
    if unknown:
        tips = [f"{k!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, hints, n=1))
                else repr(k) for k in unknown]
        raise ValueError(f"unknown {what} key(s): {', '.join(tips)}; valid keys: {sorted(hints)}")
    return hints


@dataclass
class MIPConfig:
    """Options of the centralised MIP baseline (``learners.baselines.mip.MIPDecider``).

    ``None`` leaves the decider's own default, so a scenario that sets nothing
    runs exactly the decider's defaults (docs/baselines.md gives them and their units).

    Attributes:
        formulation: ``auto``, ``naive`` or ``aggregated``.
        naive_max_units: unit count up to which ``auto`` picks the naive formulation.
        time_limit_s: HiGHS time limit per period, seconds.
        mip_rel_gap: relative optimality gap at which HiGHS stops.
        mip_abs_gap_kw: absolute optimality gap, kW.
        node_limit: branch-and-bound node cap.
        comfort_guard_c: comfort rule margin, degC.
    """

    formulation: Literal["auto", "naive", "aggregated"] | None = None
    naive_max_units: int | None = None
    time_limit_s: float | None = None
    mip_rel_gap: float | None = None
    mip_abs_gap_kw: float | None = None
    node_limit: int | None = None
    comfort_guard_c: float | None = None

    def __post_init__(self) -> None:
        _check_ranges(self, {"naive_max_units": (1, 10**9), "time_limit_s": (0.0, 1e6), "mip_rel_gap": (0.0, 1.0),
                             "mip_abs_gap_kw": (0.0, 1e9), "node_limit": (1, 10**12), "comfort_guard_c": (0.0, 20.0)})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MIPConfig:
        """Raises ValueError on unknown keys or badly typed values."""
        return config_from_dict(cls, d, "mip")


@dataclass
class LagrangianConfig:
    """Options of the distributed Lagrangian baseline (``learners.baselines.lagrangian``).

    ``None`` leaves the decider's own default.

    Attributes:
        epsilon_kw: Eq. 13 threshold on the summed park-load change between iterations, kW.
        h_m: consecutive stable iterations for convergence.
        max_iterations: hard cap on iterations per period.
        step0: initial subgradient step (> 0).
        comfort_guard_c: comfort rule margin, degC.
    """

    epsilon_kw: float | None = None
    h_m: int | None = None
    max_iterations: int | None = None
    step0: float | None = None
    comfort_guard_c: float | None = None

    def __post_init__(self) -> None:
        _check_ranges(self, {"epsilon_kw": (0.0, 1e9), "h_m": (1, 100), "max_iterations": (1, 10**6),
                             "step0": (0.0, 1e9), "comfort_guard_c": (0.0, 20.0)})
        if self.step0 is not None and self.step0 <= 0:
            raise ValueError(f"step0 must be > 0, got {self.step0}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LagrangianConfig:
        """Raises ValueError on unknown keys or badly typed values."""
        return config_from_dict(cls, d, "lagrangian")


@dataclass
class NoConfig:
    """Config of a method without options (``rule``, ``greedy``)."""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NoConfig:
        """Raises ValueError on any key."""
        return config_from_dict(cls, d, "this method")
