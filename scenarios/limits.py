"""Documented limits of scenario files and the physical checks the schema applies.

Three kinds of helper, all usable from pydantic models without importing
anything heavy (no torch, no pandas, no simbench import):

* **Annotated field types** (defined in :mod:`aggregation.distributions`, so that
  device specs can use them, and re-exported here) that carry a unit's physical
  range and reject NaN, ±inf, booleans and numeric strings (``strict``): :data:`FiniteFloat`,
  :data:`PositiveFloat`, :data:`NonNegativeFloat`, :data:`Fraction`,
  :data:`TemperatureC`, :data:`HourOfDay`, :data:`Hours`, :data:`EnergyKWh`,
  :data:`PowerKW`, :data:`Count`. Use them as field types
  (``count: Count``) or narrow them further
  (``Annotated[PositiveFloat, Field(le=50.0)]``: pydantic merges the bounds).
* **Consistency checks** raising ``ValueError`` (which pydantic validators turn
  into field errors): :func:`check_uniform`, :func:`check_clipped_normal`,
  :func:`check_known_keys`, :func:`check_finite_tree`.
* **Existence checks** for names a scenario holds as data — SimBench profiles
  (:func:`check_load_profile`, :func:`check_res_profile`), weather files
  (:func:`check_weather_file`), weights files (:func:`check_weights`), the
  custom aggregation rule (:func:`check_custom_rule`) — and the **size check**
  (:func:`estimate_run`, :func:`check_run_size`) that stops a population too big
  for this machine at ``validate`` with the estimate in the message.

Every limit is listed, with its reason, in ``docs/scenarios.md``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from aggregation.distributions import (
    Count,
    EnergyKWh,
    FiniteFloat,
    Fraction,
    HourOfDay,
    Hours,
    NonNegativeFloat,
    PositiveFloat,
    PowerKW,
    TemperatureC,
    check_range,
)

__all__ = [
    "BYTES_FIXED",
    "BYTES_PER_DER",
    "BYTES_PER_DER_STEP",
    "Count",
    "EnergyKWh",
    "FiniteFloat",
    "Fraction",
    "HourOfDay",
    "Hours",
    "MAX_TOTAL_DERS",
    "NonNegativeFloat",
    "PositiveFloat",
    "PowerKW",
    "TemperatureC",
    "check_clipped_normal",
    "check_custom_rule",
    "check_der_scenario",
    "check_finite_tree",
    "check_known_keys",
    "check_load_profile",
    "check_res_profile",
    "check_run_size",
    "check_uniform",
    "check_weather_file",
    "check_weights",
    "der_counts",
    "estimate_run",
    "format_bytes",
    "machine_memory_bytes",
]

# ---------------------------------------------------------------------------
# Field types: defined in aggregation.distributions (device specs use them and
# aggregation must not import scenarios), re-exported here for the schema.



# ---------------------------------------------------------------------------
# Distributions and free-form blocks.


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_uniform(low: float, high: float, *, ge: float | None = None, le: float | None = None,
                  gt: float | None = None) -> None:
    """Check a uniform distribution ``{low, high}``.

    Args:
        low: lower end.
        high: upper end.
        ge: both ends must be >= this (e.g. 0 for a duration).
        le: both ends must be <= this.
        gt: both ends must be > this (e.g. 0 for R, C and COP).

    Raises:
        ValueError: NaN/inf, ``low > high`` or an end outside the physical range.
    """
    lo, hi = _finite("low", low), _finite("high", high)
    if hi < lo:
        raise ValueError(f"high ({hi:g}) must be >= low ({lo:g})")
    check_range({"low": lo, "high": hi}, ge=ge, le=le, gt=gt)


def check_clipped_normal(mean: float, std: float, min: float, max: float, *,  # noqa: A002 - the YAML names
                         ge: float | None = None, le: float | None = None, gt: float | None = None) -> None:
    """Check a clipped normal ``{mean, std, min, max}``: finite, ``std >= 0``, ``min <= mean <= max``.

    Args:
        mean, std, min, max: the distribution's fields.
        ge, le, gt: physical range every one of ``mean``, ``min``, ``max`` must respect.

    Raises:
        ValueError: naming the field and the violated relation.
    """
    values = {"mean": _finite("mean", mean), "std": _finite("std", std), "min": _finite("min", min),
              "max": _finite("max", max)}
    if values["std"] < 0:
        raise ValueError(f"std must be >= 0, got {values['std']:g}")
    if values["max"] < values["min"]:
        raise ValueError(f"max ({values['max']:g}) must be >= min ({values['min']:g})")
    if not values["min"] <= values["mean"] <= values["max"]:
        raise ValueError(f"mean ({values['mean']:g}) must lie in [min, max] = [{values['min']:g}, {values['max']:g}]")
    check_range({k: values[k] for k in ("mean", "min", "max")}, ge=ge, le=le, gt=gt)


def check_known_keys(block: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Reject keys of a free-form dict (``grid.options``, learner configs) that nothing reads.

    Args:
        block: the dict from the scenario.
        allowed: the keys its reader understands (e.g. ``dataclasses.fields`` of a config).
        where: the field path for the message, e.g. ``"training.qmix"``.

    Raises:
        ValueError: ``"training.qmix: unknown key 'lr'; allowed: a, b, c"``.
    """
    allowed_set = sorted(set(allowed))
    unknown = [k for k in block if k not in allowed_set]
    if unknown:
        keys = ", ".join(repr(k) for k in unknown)
        raise ValueError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {keys}; "
                         f"allowed: {', '.join(allowed_set) or 'none (nothing reads this block yet)'}")


def check_finite_tree(value: Any, where: str, *, max_abs: float = 1e12) -> None:
    """Reject NaN, ±inf and absurd magnitudes anywhere inside a free-form value.

    Free-form dicts are passed on to code that does arithmetic with them (an
    ``rnn_hidden_dim: .inf`` reached ``int()`` and raised ``OverflowError``);
    call this before handing them over, then validate the keys and types with
    the reader's own config class.

    Args:
        value: a dict/list/scalar tree from the YAML reader.
        where: the field path for the message.
        max_abs: largest magnitude accepted for any number.

    Raises:
        ValueError: naming the path of the first bad leaf.
    """
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, Mapping):
            stack.extend((f"{path}.{k}", x) for k, x in v.items())
        elif isinstance(v, list | tuple):
            stack.extend((f"{path}[{i}]", x) for i, x in enumerate(v))
        elif isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{path}: got {v!r}; numbers must be finite")
        elif isinstance(v, int | float) and not isinstance(v, bool) and abs(v) > max_abs:
            raise ValueError(f"{path}: got {v!r}; allowed magnitude <= {max_abs:g}")


# ---------------------------------------------------------------------------
# Size of a run.

MAX_TOTAL_DERS = 10_000_000
"""Documented ceiling on DERs in one run (counts x scale), 10x the largest measured run."""

# From docs/benchmarks.md (2-core, 24 GiB reference machine): the fleet costs
# 570 B per DER (arrays + Mesa handle); `vppsim run three_parks_1m` (1,000,160
# DERs, QMIX + self-organisation, all outputs, 24 periods) peaks at 2.8 GB:
# fixed 0.42 GB (the interpreter with torch, pandas and pandapower loaded) +
# 2.0 kB per DER (fleet, Mesa handles, organiser's candidate tables, decision
# batches) + the per-period records below (0.38 GB).
BYTES_FIXED = 400 * 2**20
BYTES_PER_DER = 2_000
# Per DER and period the runner keeps a handful of float64 series (state
# snapshots for the figures): a conservative 16 B.
BYTES_PER_DER_STEP = 16
# Time: the same 1M-DER run takes 282 s for 24 periods with self-organisation
# (6.2-6.7 s a period), 4.7 s to build; without self-organisation a fleet step
# is 17.5 ms per 1M DERs plus the policy's decision pass (~0.7 us per DER).
SECONDS_BUILD_PER_DER = 4.7e-6
SECONDS_PER_DER_STEP = {True: 11.0e-6, False: 1.0e-6}


def estimate_run(n_ders_by_kind: Mapping[str, int], n_steps: int, *, aggregation: bool = True) -> tuple[int, float]:
    """Peak memory and wall time of ``vppsim run`` from the measured figures in ``docs/benchmarks.md``.

    The figures are per DER whatever its kind (an AC carries more state than a
    PV system, but Mesa handles and organiser tables dominate and are per DER).

    Args:
        n_ders_by_kind: DERs after scaling, e.g. ``{"ac": 515, "ev": 42, "pv": 3}``.
        n_steps: simulated periods.
        aggregation: whether self-organisation runs (it dominates the time).

    Returns:
        ``(bytes, seconds)``: estimated peak resident memory and wall time.
    """
    n = sum(max(0, int(v)) for v in n_ders_by_kind.values())
    steps = max(0, int(n_steps))
    nbytes = BYTES_FIXED + n * BYTES_PER_DER + n * steps * BYTES_PER_DER_STEP
    seconds = n * SECONDS_BUILD_PER_DER + n * steps * SECONDS_PER_DER_STEP[bool(aggregation)]
    return nbytes, seconds


def machine_memory_bytes() -> int | None:
    """Physical memory this process may use: RAM, capped by a cgroup limit if one is set; None if unknown."""
    total: int | None = None
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        try:
            with open("/proc/meminfo", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("MemTotal:"):
                        total = int(line.split()[1]) * 1024
                        break
        except OSError:
            total = None
    for cg in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(cg).read_text(encoding="ascii").strip()
        except OSError:
            continue
        if raw.isdigit() and (total is None or int(raw) < total):
            total = int(raw)
    return total


def format_bytes(n: float) -> str:
    """``7.3 TiB``-style size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit in ("B", "KiB") else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _format_seconds(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        return f"{s / 3600:.0f} h"
    if s < 2 * 31_557_600:
        return f"{s / 86_400:,.0f} days"
    return f"{s / 31_557_600:,.0f} years"


def check_run_size(n_ders_by_kind: Mapping[str, int], n_steps: int, *, aggregation: bool = True,
                   memory_bytes: int | None = None, memory_fraction: float = 0.8) -> tuple[int, float]:
    """Refuse a population that exceeds :data:`MAX_TOTAL_DERS` or this machine's memory.

    Call it from the scenario's model validator with the scaled counts
    (``round(count * scale)`` per park and kind, like the fleet).

    Args:
        n_ders_by_kind: DERs after scaling, by kind.
        n_steps: simulated periods.
        aggregation: whether self-organisation is enabled.
        memory_bytes: override of the machine's memory (tests).
        memory_fraction: share of the memory a run may take.

    Returns:
        The estimate ``(bytes, seconds)`` when the run fits.

    Raises:
        ValueError: e.g. ``"1,000,000,000,000 DERs (counts x scale) would need ~2.1 PiB of memory and
        ~332 days; this machine has 23.5 GiB; limit 10,000,000 DERs (docs/scenarios.md)"``.
    """
    n = sum(max(0, int(v)) for v in n_ders_by_kind.values())
    nbytes, seconds = estimate_run(n_ders_by_kind, n_steps, aggregation=aggregation)
    memory = machine_memory_bytes() if memory_bytes is None else memory_bytes
    has = f"this machine has {format_bytes(memory)}" if memory else "this machine's memory is unknown"
    need = f"{n:,d} DERs (counts x scale) would need ~{format_bytes(nbytes)} of memory and ~{_format_seconds(seconds)}"
    if n > MAX_TOTAL_DERS:
        raise ValueError(f"{need}; {has}; limit {MAX_TOTAL_DERS:,d} DERs (docs/scenarios.md)")
    if memory and nbytes > memory_fraction * memory:
        raise ValueError(f"{need}; {has}; limit {memory_fraction:.0%} of it (docs/scenarios.md)")
    return nbytes, seconds


# ---------------------------------------------------------------------------
# Names a scenario holds as data.


def _simbench_networks_dir() -> Path | None:
    # find_spec locates the package without importing it: `import simbench`
    # pulls in pandapower (seconds), and `vppsim validate` must stay fast.
    spec = importlib.util.find_spec("simbench")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "networks" / "1-complete_data-mixed-all-0-sw"


@functools.lru_cache(maxsize=2)
def _profile_names(kind: str) -> tuple[str, ...]:
    folder = _simbench_networks_dir()
    fname = "LoadProfile.csv" if kind == "load" else "RESProfile.csv"
    if folder is not None and (folder / fname).is_file():
        with open(folder / fname, encoding="utf-8") as fh:
            header = fh.readline().strip().split(";")
        if kind == "load":
            return tuple(c[: -len("_pload")] for c in header if c.endswith("_pload"))
        return tuple(c for c in header if c != "time")
    # The reader the simulation itself uses (moved from aggregation/ to grid/).
    for module in ("grid.profiles", "aggregation.profiles"):
        try:
            return tuple(importlib.import_module(module).available_profiles(kind))
        except ImportError:
            continue
    raise ValueError("SimBench is not installed; profile names cannot be checked")


def _check_profile(kind: str, name: Any, what: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"{what} must be a profile name, got {name!r}")
    names = _profile_names(kind)
    if name not in names:
        close = [n for n in names if n.lower().startswith(name[:2].lower())][:12]
        hint = f"; similar: {', '.join(close)}" if close else ""
        raise ValueError(f"unknown SimBench {what} {name!r} ({len(names)} available, e.g. "
                         f"{', '.join(names[:6])}{hint})")
    return name


def check_load_profile(name: Any) -> str:
    """A SimBench load profile name (a column ``<name>_pload`` of LoadProfile.csv), e.g. ``G0-A``.

    Raises:
        ValueError: unknown name, with examples of known ones.
    """
    return _check_profile("load", name, "load profile")


def check_res_profile(name: Any) -> str:
    """A SimBench renewable profile name (a column of RESProfile.csv), e.g. ``PV5`` or ``WP1``.

    Raises:
        ValueError: unknown name, with examples of known ones.
    """
    return _check_profile("res", name, "renewable profile")


def check_weather_file(name: Any) -> str:
    """A bundled pvlib TMY weather file name.

    Raises:
        ValueError: not one of the bundled files.
    """
    files: Iterable[str] | None = None
    for module in ("grid.weather", "aggregation.weather"):
        try:
            files = importlib.import_module(module).WEATHER_FILES
            break
        except (ImportError, AttributeError):
            continue
    if files is None:
        raise ValueError("no weather module found (grid.weather)")
    if not isinstance(name, str) or name not in files:
        raise ValueError(f"unknown weather file {name!r}; bundled files are {sorted(files)}")
    return name


# torch.save writes a zip archive (PyTorch >= 1.6). Older pickle-only files
# cannot be read by torch.load(weights_only=True) reliably and are refused.
_ZIP_MAGIC = b"PK\x03\x04"
MAX_WEIGHTS_BYTES = 512 * 2**20


def check_weights(name_or_path: Any, *, base_dir: str | Path | None = None) -> Path:
    """A weights file (path) or the name of weights shipped in ``learners/weights``, without loading it.

    Only existence, size and container format are checked here (importing torch
    would make ``validate`` slow); the file itself is read with
    ``torch.load(..., weights_only=True)``, which refuses pickled objects other
    than tensors and plain containers.

    Args:
        name_or_path: the scenario's ``policy.weights``.
        base_dir: folder relative paths are taken from (the scenario file's), besides the working directory.

    Returns:
        The resolved path.

    Raises:
        ValueError: no such file or shipped weights, not a regular file, too large, or not a torch zip archive.
    """
    if not isinstance(name_or_path, str) or not name_or_path:
        raise ValueError(f"weights must be a file path or a shipped name, got {name_or_path!r}")
    p = Path(name_or_path).expanduser()
    candidates = [p] + ([Path(base_dir) / p] if base_dir is not None and not p.is_absolute() else [])
    found = next((c for c in candidates if c.is_file()), None)
    shipped_dir = None
    spec = importlib.util.find_spec("learners")
    if spec is not None and spec.submodule_search_locations:
        shipped_dir = Path(next(iter(spec.submodule_search_locations))) / "weights"
    if found is None and shipped_dir is not None:
        stem = p.name[:-3] if p.name.endswith(".pt") else p.name
        # Same rule as learners.deploy.resolve_weights: a missing path falls back to its stem.
        if (shipped_dir / f"{stem}.pt").is_file():
            found = shipped_dir / f"{stem}.pt"
    if found is None:
        shipped = sorted(q.stem for q in shipped_dir.glob("*.pt")) if shipped_dir and shipped_dir.is_dir() else []
        raise ValueError(f"weights {name_or_path!r}: no such file, and not shipped weights (shipped: {shipped})")
    size = found.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise ValueError(f"weights {str(found)!r}: {format_bytes(size)} is larger than the "
                         f"{format_bytes(MAX_WEIGHTS_BYTES)} limit")
    with open(found, "rb") as fh:
        if fh.read(4) != _ZIP_MAGIC:
            raise ValueError(f"weights {str(found)!r}: not a torch.save zip archive (write it with vppsim train)")
    return found


def _resolve_callable(path: str) -> Callable[..., Any]:
    from aggregation.rules import resolve_custom  # the organiser's resolver, so validate and run agree

    return resolve_custom(path)


def check_custom_rule(path: Any) -> str:
    """The Rule 4 statistic ``module:function``: importable, callable, with the statistic's signature.

    The statistic is called as ``f(mu, group, n_groups, weight_kw)`` (see
    ``aggregation/rules.py``): it must accept four positional arguments. This is
    the one place where a scenario names code to run; importing the module here
    runs its top level, exactly as the run would.

    Raises:
        ValueError: malformed path, module not importable, no such attribute,
            not callable, or a signature that cannot take the four arguments.
    """
    if not isinstance(path, str):
        raise ValueError(f"custom_rule must be 'module:function', got {path!r}")
    try:
        fn = _resolve_callable(path)
    except ValueError:
        raise
    except Exception as exc:  # the module's own top level failed: say so, no traceback
        raise ValueError(f"custom_rule {path!r}: importing it raised {type(exc).__name__}: {exc}") from None
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return path  # builtins/C functions without a signature: cannot check, accept
    try:
        sig.bind(None, None, None, None)
    except TypeError as exc:
        raise ValueError(
            f"custom_rule {path!r}: must accept (mu, group, n_groups, weight_kw) positionally; "
            f"its signature is {fn.__name__}{sig} ({exc})"
        ) from None
    return path


# ---------------------------------------------------------------------------
# All of the above for a DER-aggregation scenario, in one call.


def _kind_blocks(park: Any) -> Iterator[tuple[str, Any]]:
    # Device kinds are the park's ``devices`` (kind registry) or, in the older
    # layout, fields whose value has a ``count`` (ac, ev, pv); duck-typed so that
    # it survives the move of the specs into aggregation/kinds/.
    devices = getattr(park, "devices", None)
    if isinstance(devices, Mapping):  # ParkSpec with a kind registry: {kind: block}
        items: Iterable[tuple[str, Any]] = devices.items()
    else:
        fields = getattr(type(park), "model_fields", None) or {}
        items = ((name, getattr(park, name, None)) for name in fields)
    for name, block in items:
        if block is not None and isinstance(getattr(block, "count", None), int):
            yield name, block


def der_counts(sc: Any, scale: float | None = None) -> dict[str, int]:
    """DERs by kind after scaling, rounded per park and kind like the fleet."""
    scale = float(getattr(sc, "scale", 1.0) if scale is None else scale)
    out: dict[str, int] = {}
    for park in getattr(sc, "parks", ()) or ():
        for kind, block in _kind_blocks(park):
            out[kind] = out.get(kind, 0) + round(block.count * scale)
    return out


def check_der_scenario(sc: Any, *, memory_bytes: int | None = None) -> None:
    """Every name and size check of a validated DER-aggregation scenario (call from its model validator).

    Checks SimBench profile names, the weather file, the weights file, the
    custom rule (when a level uses ``rule4`` or one is named) and the size of the
    run. Attributes are read duck-typed, so the schema's layout may change.

    Raises:
        ValueError: the first problem, prefixed with its field path.
    """

    def at(path: str, check: Callable[[], Any]) -> None:
        try:
            check()
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    for i, park in enumerate(getattr(sc, "parks", ()) or ()):
        base = getattr(park, "base_load", None)
        if base is not None and getattr(base, "profile", None) is not None:
            at(f"parks[{i}].base_load.profile", lambda b=base: check_load_profile(b.profile))
    si = getattr(sc, "system_index", None)
    sb = getattr(si, "simbench", None) if si is not None and getattr(si, "source", "simbench") == "simbench" else None
    if sb is not None:
        at("system_index.simbench.load_profile", lambda: check_load_profile(sb.load_profile))
        at("system_index.simbench.pv_profile", lambda: check_res_profile(sb.pv_profile))
        at("system_index.simbench.wind_profile", lambda: check_res_profile(sb.wind_profile))
    weather = getattr(sc, "weather", None)
    if weather is not None and getattr(weather, "file", None) is not None:
        at("weather.file", lambda: check_weather_file(weather.file))
    policy = getattr(sc, "policy", None)
    if policy is not None and getattr(policy, "weights", None) is not None:
        at("policy.weights", lambda: check_weights(policy.weights))
    agg = getattr(sc, "aggregation", None)
    if agg is not None and getattr(agg, "custom_rule", None) is not None:
        at("aggregation.custom_rule", lambda: check_custom_rule(agg.custom_rule))
    n_steps = int(getattr(sc, "n_steps", 24))
    aggregating = bool(getattr(agg, "enabled", False))
    at("parks", lambda: check_run_size(der_counts(sc), n_steps, aggregation=aggregating,
                                                         memory_bytes=memory_bytes))
