"""Seeded mutations of the bundled scenarios, one family per kind of fault of issue 10.

Every case knows what the answer must be: ``must_reject=True`` (invalid by
construction: ``validate`` must exit 2), ``False`` (valid: must exit 0, and
``run`` must complete), or ``None`` (random damage that may or may not leave a
valid file: only "exit 0 or 2, no traceback, no hang" applies).

``layer`` says which code has to catch the fault: ``"yaml"`` faults are caught
by the bounded reader (:mod:`scenarios.yamlsafe`) alone; ``"schema"`` faults need
the schema's physical validation and name checks (:mod:`scenarios.limits`).

A seeded generator rather than Hypothesis: a case is a pure function of
``(seed, index)``, so counts printed for a closing note are reproducible, and
shrinking buys nothing when each family builds its fault deliberately.
"""

from __future__ import annotations

import copy
import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


@dataclass(frozen=True)
class Case:
    """One mutated scenario file."""

    kind: str
    base: str
    data: bytes
    must_reject: bool | None
    layer: str  # "yaml" or "schema"
    note: str


def bundled() -> dict[str, tuple[str, dict]]:
    """Bundled scenario name -> (text, parsed data)."""
    out = {}
    for p in sorted(SCENARIO_DIR.glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        out[p.stem] = (text, yaml.safe_load(text))
    return out


# ------------------------------------------------------------------ helpers

# Explicit values for fields the bundled files leave at their defaults, so that
# every numeric leaf of the schema (distributions and free-form dicts included)
# gets mutated. Written into a copy before mutating; the values are the defaults.
_AC_FULL = {
    "activated_share": 0.8, "r_c_per_kw": {"low": 2.0, "high": 3.3}, "c_kwh_per_c": {"low": 1.0, "high": 2.0},
    "cop": {"low": 2.5, "high": 3.5}, "p_nominal_kw": 1.5, "p_max_kw": 3.0, "comfort_low_c": 19.0,
    "comfort_high_c": 27.0, "t_in_init_c": {"low": 24.0, "high": 27.0},
}
_EV_FULL = {"p_max_kw": 7.0, "activated_share": 1.0}
_PV_FULL = {"tilt_deg": 20.0, "azimuth_deg": 180.0, "inverter_efficiency": 0.96, "system_losses": 0.14}
_AGG_FULL = {"max_levels": 5, "group_size": 4, "epsilon_cvg_kw": 0.5, "h_m": 3, "max_iterations": 50,
             "proposal_jitter": 0.5, "comfort_guard_c": 0.5, "snapshot_hour": 10.0}
_QMIX_FULL = {"rnn_hidden_dim": 64, "lr": 0.0005, "gamma": 0.99, "batch_size": 32}


def is_der(data: dict) -> bool:
    """A DER-aggregation scenario (parks of AC/EV/PV), the kind the DER-specific families mutate."""
    return isinstance(data, dict) and data.get("kind", "der_aggregation") == "der_aggregation" and "parks" in data


def enrich(data: dict) -> dict:
    """A copy of a scenario with default-valued fields written out (still valid)."""
    d = copy.deepcopy(data)
    if not is_der(d):
        return d
    for park in d.get("parks", []):
        for key, full in (("ac", _AC_FULL), ("ev", _EV_FULL), ("pv", _PV_FULL)):
            if isinstance(park.get(key), dict):
                # deepcopy: shared sub-dicts would be mutated through every case, and
                # safe_dump would write them as anchors and aliases.
                park[key] = {**copy.deepcopy(full), **park[key]}
    if isinstance(d.get("aggregation"), dict):
        d["aggregation"] = {**copy.deepcopy(_AGG_FULL), **d["aggregation"]}
    training = d.setdefault("training", {})
    training["qmix"] = {**copy.deepcopy(_QMIX_FULL), **(training.get("qmix") or {})}
    return d


def leaves(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of every scalar leaf."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, (*path, i))
    else:
        yield path, obj


def numeric_leaves(obj: Any) -> list[tuple[tuple, Any]]:
    return [(p, v) for p, v in leaves(obj) if isinstance(v, int | float) and not isinstance(v, bool)]


def mappings(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """(path, dict) of every mapping, the top level included."""
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from mappings(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from mappings(v, (*path, i))


def set_at(obj: Any, path: tuple, value: Any) -> None:
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def dump(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=200).encode("utf-8")


def fmt(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


# Numbers that are legitimately signed; a negated value there may still be valid.
# (temperatures below 0 °C, price elasticities, downward flexibility, distribution shifts.)
# A name anywhere on the path counts (t_in_init_c.low is a temperature, −50…70 °C).
_SIGNED = {"gamma_pdc_per_c", "elasticity", "flex_lo_frac", "mean_shift_frac", "cooling_base_c", "heating_base_c",
           "t_ref_c", "t_in_init_c"}


# ------------------------------------------------------------------ YAML-level families
Mutator = Callable[[random.Random, str, dict], Case]


def garbage_bytes(rng: random.Random, base: str, data: dict) -> Case:
    text = dump(enrich(data))
    bad = rng.choice([b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
    at = rng.randrange(len(text) + 1)
    return Case("garbage_bytes", base, text[:at] + bad + text[at:], True, "yaml", f"{bad!r} at byte {at}")


def control_chars(rng: random.Random, base: str, data: dict) -> Case:
    text = dump(enrich(data))
    bad = bytes([rng.choice([0, 1, 7, 8, 0x0B, 0x0C, 0x1B, 0x7F])])
    at = rng.randrange(len(text) + 1)
    return Case("control_chars", base, text[:at] + bad + text[at:], True, "yaml", f"{bad!r} at byte {at}")


def byte_flips(rng: random.Random, base: str, data: dict) -> Case:
    text = bytearray(dump(data))
    n = rng.randint(1, 8)
    for _ in range(n):
        op = rng.random()
        at = rng.randrange(len(text))
        if op < 0.4:
            text[at] = rng.randrange(32, 127)  # printable: stays UTF-8, may stay YAML
        elif op < 0.7:
            del text[at]
        else:
            text.insert(at, rng.choice(b"{}[]:,-&*!|>'\"#%@` \n"))
    return Case("byte_flips", base, bytes(text), None, "yaml", f"{n} random edits")


def truncated(rng: random.Random, base: str, data: dict) -> Case:
    text = dump(data)
    at = rng.randrange(len(text))
    return Case("truncated", base, text[:at], None, "yaml", f"cut at byte {at}")


def deep_nesting(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    path, _ = rng.choice(list(leaves(d)))
    depth = rng.choice([40, 200, 5_000, 100_000])
    flow = rng.random() < 0.5
    marker = "__DEEP__"
    set_at(d, path, marker)
    text = dump(d).decode()
    nested = "[" * depth + "1" + "]" * depth if flow else "{a: " * depth + "1" + "}" * depth
    return Case("deep_nesting", base, text.replace(marker, nested, 1).encode(), True, "yaml",
                f"{fmt(path)} nested {depth} deep")


def alias_bomb(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    path, _ = rng.choice(list(leaves(d)))
    marker = "__BOMB__"
    set_at(d, path, marker)
    text = dump(d).decode()
    width, levels = rng.choice([(9, 9), (10, 6), (2, 40), (100, 3)])
    lines = ["x0: &x0 [" + ",".join(["lol"] * width) + "]"]
    lines += [f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * width) + "]" for i in range(1, levels)]
    bomb = "{" + ", ".join(lines).replace(": &", ": &") + "}"
    # Put the anchors at the top so every alias is defined before it is used.
    text = "bomb_anchor: " + bomb + "\n" + text.replace(marker, f"*x{levels - 1}", 1)
    return Case("alias_bomb", base, text.encode(), True, "yaml", f"{width}^{levels} expansion at {fmt(path)}")


def recursive_alias(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    path, _ = rng.choice(list(leaves(d)))
    marker = "__REC__"
    set_at(d, path, marker)
    text = dump(d).decode().replace(marker, rng.choice(["&r [*r]", "&r {a: *r}", "&r [1, [2, *r]]"]), 1)
    return Case("recursive_alias", base, text.encode(), True, "yaml", f"cycle at {fmt(path)}")


_KEY_LINE = re.compile(r"^(\s*(?:- )?)([A-Za-z_][\w]*): (.+)$")


def duplicate_key(rng: random.Random, base: str, data: dict) -> Case:
    lines = dump(enrich(data)).decode().splitlines()
    candidates = [i for i, line in enumerate(lines) if _KEY_LINE.match(line)]
    i = rng.choice(candidates)
    m = _KEY_LINE.match(lines[i])
    indent = " " * len(m.group(1))  # a "- key:" line's sibling is indented past the dash
    lines.insert(i + 1, f"{indent}{m.group(2)}: {m.group(3)}")
    return Case("duplicate_key", base, ("\n".join(lines) + "\n").encode(), True, "yaml",
                f"key {m.group(2)!r} twice (line {i + 1})")


_TAGS = [
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/name:os.system",
    "!!python/object/new:builtins.dict []",
    "!!binary aGVsbG8=",
    "!!timestamp 2026-01-01",
    "!!set {a: null}",
    "!custom 1",
    "!<tag:example.com,2026:x> 1",
    # Core tags on text they cannot construct.
    "!!bool maybe",
    "!!int 1.5",
    "!!float abc",
]


def custom_tag(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    path, _ = rng.choice(list(leaves(d)))
    marker = "__TAG__"
    set_at(d, path, marker)
    tag = rng.choice(_TAGS)
    text = dump(d).decode().replace(marker, tag, 1)
    return Case("custom_tag", base, text.encode(), True, "yaml", f"{tag.split()[0]} at {fmt(path)}")


def oversize(rng: random.Random, base: str, data: dict) -> Case:
    text = dump(data)
    pad = b"# " + b"x" * 120 + b"\n"
    return Case("oversize", base, text + pad * ((1 << 20) // len(pad) + 1), True, "yaml", "> 1 MiB of comments")


# ------------------------------------------------------------------ schema-level families


def booleans(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    path, v = rng.choice(numeric_leaves(d))
    # true/false are YAML booleans; yes/no/on/off are strings under YAML 1.2 and
    # under the reader: either way not a number.
    value = rng.choice(["true", "false", "True", "FALSE", "yes", "no", "on", "off"])
    marker = "__BOOL__"
    set_at(d, path, marker)
    text = dump(d).decode().replace(f"'{marker}'", value).replace(marker, value)
    return Case("booleans", base, text.encode(), True, "schema", f"{fmt(path)}: {v!r} -> {value}")


def nonfinite(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    path, v = rng.choice(numeric_leaves(d))
    new = rng.choice([math.nan, math.inf, -math.inf])
    set_at(d, path, new)
    return Case("nonfinite", base, dump(d), True, "schema", f"{fmt(path)}: {v!r} -> {new!r}")


def huge_numbers(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    path, v = rng.choice(numeric_leaves(d))
    new = rng.choice([1e300, 10**30, 2**64, 1.7e308, 10**19])
    set_at(d, path, new)
    return Case("huge_numbers", base, dump(d), True, "schema", f"{fmt(path)}: {v!r} -> {new!r}")


def negative_numbers(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    path, v = rng.choice(numeric_leaves(d))
    new = -abs(v) - rng.choice([1, 0.5, 1e6])
    if isinstance(v, int) and not isinstance(new, int):
        new = -abs(v) - 1
    set_at(d, path, new)
    signed = any(p in _SIGNED for p in path if isinstance(p, str))
    return Case("negative_numbers", base, dump(d), None if signed else True, "schema", f"{fmt(path)}: {v!r} -> {new!r}")


def unknown_keys(rng: random.Random, base: str, data: dict) -> Case:
    d = enrich(data)
    if is_der(d) and rng.random() < 0.3:  # free-form blocks: something must read every key
        target = rng.choice(["grid.options", "training.qmix"])
        if target == "grid.options":
            d.setdefault("grid", {"case": "case39"}).setdefault("options", {})["bogus_option"] = 1
        else:
            d["training"]["qmix"]["bogus_option"] = 1
        return Case("unknown_keys", base, dump(d), True, "schema", f"{target}.bogus_option")
    path, m = rng.choice(list(mappings(d)))
    m[rng.choice(["bogus_field", "countt", "Count", "ac_count", "dwell"])] = 1
    return Case("unknown_keys", base, dump(d), True, "schema", f"unknown key in {fmt(path) or '(top level)'}")


def huge_product(rng: random.Random, base: str, data: dict) -> Case:
    d = copy.deepcopy(data)
    park = rng.choice(d["parks"])
    kind = rng.choice(["ac", "ev"])
    park[kind] = {**(park.get(kind) or {}), "count": rng.choice([10_000_000, 5_000_000])}
    d["scale"] = rng.choice([100_000, 10_000, 1_000])
    return Case("huge_product", base, dump(d), True, "schema",
                f"{kind}.count {park[kind]['count']:,d} x scale {d['scale']:,d}")


def unknown_names(rng: random.Random, base: str, data: dict) -> Case:
    d = copy.deepcopy(data)
    if not is_der(d):  # other scenario kinds: their weather file and profile names
        if "weather_file" in d and rng.random() < 0.5:
            d["weather_file"] = rng.choice(["nope.tm2", "../../etc/passwd"])
            return Case("unknown_names", base, dump(d), True, "schema", "weather_file")
        for path, v in leaves(d):
            if isinstance(path[-1], str) and path[-1].endswith("profile") and isinstance(v, str):
                set_at(d, path, "NOPE-Z")
                return Case("unknown_names", base, dump(d), True, "schema", fmt(path))
        d["weather_file"] = "nope.tm2"
        return Case("unknown_names", base, dump(d), True, "schema", "weather_file")
    which = rng.choice(["profile", "weather", "weights", "custom_rule", "system_profile"])
    if which == "profile":
        park = rng.choice(d["parks"])
        park["base_load"] = {**(park.get("base_load") or {}), "peak_kw": 100, "profile": "NOPE-Z"}
    elif which == "weather":
        d["weather"] = {"file": rng.choice(["nope.tm2", "../../etc/passwd", "/dev/zero"])}
    elif which == "weights":
        d["policy"] = {"kind": "qmix", "weights": rng.choice(["no_such_weights", "/nonexistent/w.pt"])}
    elif which == "custom_rule":
        agg = d.setdefault("aggregation", {})
        agg.update({"enabled": True, "max_levels": 1, "rules": ["rule4"],
                    "custom_rule": rng.choice(["no_such_module_xyz:f", "os:no_such_attr", "math:pi"])})
    else:
        d["system_index"] = {"source": "simbench", "simbench": {"load_profile": "hv_nope"}}
    return Case("unknown_names", base, dump(d), True, "schema", which)


def ev_dwell(rng: random.Random, base: str, data: dict) -> Case:
    d = copy.deepcopy(data)
    park = rng.choice(d["parks"])
    ev = dict(park.get("ev") or {"count": 3})
    ev["count"] = max(1, ev.get("count", 1))
    if rng.random() < 0.5:
        ev["dwell_h"] = rng.choice([{"mean": 0, "std": 0, "min": 0, "max": 0},
                                    {"mean": 0.1, "std": 0.05, "min": 0.0, "max": 0.2}])
        ev["energy_kwh"] = {"mean": 10, "std": 0, "min": 10, "max": 10}
        park["ev"] = ev
        return Case("ev_dwell", base, dump(d), False, "schema", f"dwell {ev['dwell_h']}: valid, energy unmet")
    ev["dwell_h"] = rng.choice([{"mean": -1, "std": 0, "min": -1, "max": -1},
                                {"mean": 2, "std": 1, "min": -3, "max": 4}])
    park["ev"] = ev
    return Case("ev_dwell", base, dump(d), True, "schema", f"negative dwell {ev['dwell_h']}")


def degenerate(rng: random.Random, base: str, data: dict) -> Case:
    d = copy.deepcopy(data)
    which = rng.choice(["zero_counts", "tiny_scale", "base_load_only"])
    if which == "zero_counts":
        for park in d["parks"]:
            for k in ("ac", "ev"):
                if isinstance(park.get(k), dict):
                    park[k]["count"] = 0
    elif which == "tiny_scale":
        d["scale"] = rng.choice([1e-6, 0.001])
    else:
        d["parks"] = [{"name": "p", "base_load": {"peak_kw": 100, "profile": "G0-A"},
                       "ac": {"count": 0}, "ev": {"count": 0}}]
        d["aggregation"] = {"enabled": True}
        d["policy"] = {"kind": "greedy"}
        d.pop("grid", None)
        # Without its grid block, a grid-driven index is invalid (checked at validate).
        if d.get("system_index", {}).get("source") in ("grid", "grid_nodal"):
            d["system_index"] = {"source": "simbench"}
        d.pop("training", None)
    return Case("degenerate", base, dump(d), False, "schema", which)


def unchanged(rng: random.Random, base: str, data: dict) -> Case:
    return Case("unchanged", base, dump(enrich(data)), False, "schema", "bundled file with defaults written out")


YAML_FAMILIES: dict[str, Mutator] = {
    "garbage_bytes": garbage_bytes, "control_chars": control_chars, "deep_nesting": deep_nesting,
    "alias_bomb": alias_bomb, "recursive_alias": recursive_alias, "duplicate_key": duplicate_key,
    "custom_tag": custom_tag, "oversize": oversize,
}
RANDOM_FAMILIES: dict[str, Mutator] = {"byte_flips": byte_flips, "truncated": truncated}
SCHEMA_FAMILIES: dict[str, Mutator] = {
    "booleans": booleans, "nonfinite": nonfinite, "huge_numbers": huge_numbers, "negative_numbers": negative_numbers,
    "unknown_keys": unknown_keys, "huge_product": huge_product, "unknown_names": unknown_names,
    "ev_dwell": ev_dwell, "degenerate": degenerate, "unchanged": unchanged,
}
FAMILIES: dict[str, Mutator] = {**YAML_FAMILIES, **RANDOM_FAMILIES, **SCHEMA_FAMILIES}


# Families that only make sense for a population of parks (other scenario kinds
# get their DER-independent faults from the generic families).
DER_ONLY = frozenset({"huge_product", "ev_dwell", "degenerate"})


def generate(n: int, seed: int = 0, families: dict[str, Mutator] | None = None,
             only: list[str] | None = None) -> Iterator[Case]:
    """``n`` cases, cycling over families and bundled scenarios, deterministic in ``seed``.

    Args:
        n: number of cases.
        seed: the generator's seed; case ``i`` depends only on ``(seed, i)``.
        families: which families (default all).
        only: restrict to these bundled scenarios.
    """
    fams = families or FAMILIES
    bases = {k: v for k, v in bundled().items() if only is None or k in only}
    names = sorted(fams)
    all_bases = sorted(bases)
    der_bases = [b for b in all_bases if is_der(bases[b][1])]
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        fam = names[i % len(names)]
        pool = der_bases if fam in DER_ONLY else all_bases
        base = pool[(i // len(names)) % len(pool)]
        yield fams[fam](rng, base, bases[base][1])
