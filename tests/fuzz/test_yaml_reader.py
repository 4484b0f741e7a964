"""The bounded, strict YAML reader (scenarios/yamlsafe.py): every hostile input gets one line, fast.

Times are CPU times (``time.process_time``) so that other jobs on the machine
do not make the 1 s rule flaky.
"""

from __future__ import annotations

import math
import time

import pytest

from scenarios.errors import ScenarioError
from scenarios.yamlsafe import (
    MAX_ALIASES,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    parse_scenario_yaml,
    read_scenario_yaml,
)

# The "billion laughs": nine levels of nine aliases each, 9**9 values when expanded.
LAUGHS = ("a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)).encode()

BAD = {
    "byte 0xFF": (b"\xff", "not UTF-8"),
    "latin-1 text": ("name: caf\u00e9\n".encode("latin-1"), "not UTF-8"),
    "deep flow": (b"[" * 1_000_000, f"deeper than {MAX_DEPTH}"),
    "deep map": (b"{a: " * 200_000, f"deeper than {MAX_DEPTH}"),
    "deep block": ("".join(" " * i + "a:\n" for i in range(100)).encode(), f"deeper than {MAX_DEPTH}"),
    "billion laughs": (LAUGHS, "expands to more than"),
    "recursive alias": (b"a: &a [*a]\n", "contains it"),
    "many aliases": (b"a: &a 1\nb: [" + b",".join([b"*a"] * (MAX_ALIASES + 1)) + b"]\n", "aliases"),
    "undefined alias": (b"a: *nope\n", "undefined alias"),
    "duplicate key": (b"name: x\nseed: 1\nname: y\n", "duplicate key 'name' (first at line 1)"),
    "duplicate nested key": (b"parks:\n  - name: p\n    ac: {count: 1, count: 2}\n", "duplicate key 'count'"),
    "python tag": (b"a: !!python/object/apply:os.system ['echo hi']\n", "is not allowed"),
    "python name tag": (b"a: !!python/name:os.system\n", "is not allowed"),
    "local tag": (b"a: !foo 1\n", "is not allowed"),
    "binary tag": (b"a: !!binary aGVsbG8=\n", "is not allowed"),
    "set tag": (b"a: !!set {x: null}\n", "is not allowed"),
    "too large": (b"#" * MAX_BYTES + b"\n", "larger than"),
    "too many values": (b"a: [" + b",".join([b"1"] * (MAX_NODES + 1)) + b"]\n", "expands to more than"),
    "huge integer": (b"a: " + b"9" * 5000 + b"\n", "too long"),
    "two documents": (b"a: 1\n---\nb: 2\n", "single document"),
    "NUL byte": (b"a: \x00\n", "not valid YAML"),
    "bad indentation": (b"a:\n  b: 1\n c: 2\n", "line 3"),
    "unhashable key": (b"? [a]\n: 1\n", "unhashable"),
    "explicit bool tag on other text": (b"a: !!bool maybe\n", "is not a boolean"),
    "explicit int tag on other text": (b"a: !!int 1.5\n", "is not an integer"),
    "explicit float tag on other text": (b"a: !!float abc\n", "is not a number"),
    "merge of a scalar": (b"<<: 5\n", "for merging"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_hostile_input_one_line_error_fast(name: str) -> None:
    data, expected = BAD[name]
    t0 = time.process_time()
    with pytest.raises(ScenarioError) as err:
        parse_scenario_yaml(data, "bad.yaml")
    assert time.process_time() - t0 < 1.0
    msg = str(err.value)
    assert msg.startswith("bad.yaml: ") and "\n" not in msg and expected in msg, msg


def test_core_schema_values() -> None:
    data = parse_scenario_yaml(
        b"a: true\nb: yes\nc: no\nd: 8:30\ne: 010\nf: 1e5\ng: .nan\nh: -.inf\ni: 0x1F\nj: null\nk: ~\n"
        b"l: 2026-01-01\nm: 0o17\nn: -3\no: 1.5\np: off\nq: '12'\n"
    )
    assert data["a"] is True  # stays bool: strict schema fields reject it where a number is meant
    assert data["b"] == "yes" and data["c"] == "no" and data["p"] == "off"  # YAML 1.1 booleans are strings
    assert data["d"] == "8:30" and data["l"] == "2026-01-01"  # no sexagesimal ints, no dates
    assert data["e"] == 10 and data["m"] == 15 and data["i"] == 31 and data["n"] == -3
    assert data["f"] == 100000.0 and isinstance(data["f"], float)
    assert math.isnan(data["g"]) and data["h"] == -math.inf
    assert data["j"] is None and data["k"] is None and data["o"] == 1.5 and data["q"] == "12"


def test_merge_keys_allowed_and_override() -> None:
    data = parse_scenario_yaml(b"base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n")
    assert data["c"] == {"x": 1, "y": 3}


def test_empty_and_bom() -> None:
    assert parse_scenario_yaml(b"") is None
    assert parse_scenario_yaml("\ufeffa: 1\n".encode()) == {"a": 1}


def test_read_file_and_missing(tmp_path) -> None:
    p = tmp_path / "s.yaml"
    p.write_bytes(b"\xff\xfe")
    with pytest.raises(ScenarioError, match=r"s\.yaml: not UTF-8 text: byte 0xFF at offset 0"):
        read_scenario_yaml(p)
    with pytest.raises(ScenarioError, match="cannot read"):
        read_scenario_yaml(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="cannot read"):
        read_scenario_yaml(tmp_path)


def test_bundled_scenarios_read_like_safe_load() -> None:
    from pathlib import Path

    import yaml

    for path in sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml")):
        assert read_scenario_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path.name


def test_largest_accepted_document_is_fast() -> None:
    t0 = time.process_time()
    parse_scenario_yaml(b"a: [" + b",".join([b"1.25"] * (MAX_NODES - 10)) + b"]\n")
    assert time.process_time() - t0 < 1.0
