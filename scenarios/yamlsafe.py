"""A bounded, strict YAML reader for scenario files.

Scenario files come from users and, possibly, from anyone who can hand a user a
file. ``yaml.safe_load`` never executes code, but it still

* decodes with whatever error the codec raises (a file holding the byte ``0xFF``
  escapes as a ``UnicodeDecodeError``),
* recurses once per nesting level (10,000 ``[`` end in ``RecursionError``),
* expands aliases without bound (the "billion laughs" document builds a value
  whose traversal by the schema never ends),
* keeps the last of two duplicate keys without a word,
* reads YAML 1.1 spellings as surprising values (``no`` is ``False``, ``8:30``
  is ``510``, ``010`` is ``8``, ``1e5`` is a string).

:func:`read_scenario_yaml` answers every such file with a one-line
:class:`~scenarios.errors.ScenarioError` (re-exported by ``scenarios.schema``;
file, line and column when known, what is wrong) in well under a second, and otherwise returns plain Python data
(dicts, lists, str, int, float, bool, None) for the schema to validate.

It is PyYAML underneath: libyaml's C parser for speed (pure-Python parser when
libyaml is absent) feeding PyYAML's own Python composer, which this module
hooks to bound depth, aliases and the expanded size while the document is
composed — before anything is constructed. Scalars are resolved by the YAML
1.2 core schema: only ``true``/``false`` (any case variant YAML 1.2 allows) are
booleans, numbers are decimal, ``0o``/``0x`` ints or floats with or without a
dot (``1e5`` is a float), ``.inf``/``.nan`` are floats (the schema rejects them
where a finite number is meant). Booleans stay ``bool``: the schema's numeric
fields must be strict so that ``count: true`` is an error rather than ``1``
(see ``docs/scenarios.md``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.resolver import BaseResolver

from scenarios.errors import ScenarioError

__all__ = [
    "MAX_ALIASES",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "parse_scenario_yaml",
    "read_scenario_yaml",
]

# Bundled scenarios are ~2 KB; a year of explicit system series (2 x 8784
# numbers) is ~200 KB. 1 MiB leaves room and keeps the worst case (libyaml
# parse + Python composition + construction) well under a second.
MAX_BYTES = 1 << 20
# Deepest bundled path is parks[i].ac.on_hour.mean: 5 levels. 32 is generous and
# far below the Python recursion limit the composer would otherwise hit.
MAX_DEPTH = 32
# Aliases are legitimate (a park template reused with <<: *park) but a scenario
# needs a handful; each alias may stand for a whole subtree, so the expanded
# size is bounded separately.
MAX_ALIASES = 100
# Values after expanding every alias: 2 x 8784 series values plus the rest fit
# twice over, and 50,000 values compose in ~0.3 s on the 2-core reference
# machine. Billion-laughs documents stop here, during composition.
MAX_NODES = 50_000

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    {"!", f"{_CORE}str", f"{_CORE}int", f"{_CORE}float", f"{_CORE}bool", f"{_CORE}null", f"{_CORE}map",
     f"{_CORE}seq", f"{_CORE}merge"}
)

try:  # libyaml: ~10x faster parsing, which the 1 s budget at 1 MiB needs.
    from yaml.cyaml import CParser as _Parser

    _WITH_LIBYAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml.parser import Parser as _Parser  # type: ignore[assignment]

    _WITH_LIBYAML = False


class _YAMLLimitError(yaml.YAMLError):
    """A bound of this reader was exceeded (raised inside the composer)."""

    def __init__(self, message: str, mark: Any = None) -> None:
        super().__init__(message)
        self.problem = message
        self.problem_mark = mark


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema resolution (booleans are only true/false; no 1.1 surprises)."""


_CoreResolver.yaml_implicit_resolvers = {}
_CoreResolver.add_implicit_resolver(
    f"{_CORE}bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# int before float: for the first characters they share, the first match wins.
_CoreResolver.add_implicit_resolver(
    f"{_CORE}int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_CoreResolver.add_implicit_resolver(
    f"{_CORE}float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_CoreResolver.add_implicit_resolver(f"{_CORE}null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_CoreResolver.add_implicit_resolver(f"{_CORE}merge", re.compile(r"^(?:<<)$"), ["<"])


class _BoundedComposer(Composer):
    """PyYAML's composer with depth, alias, expanded-size and tag checks.

    The checks run on each event before the node it starts is composed, so a
    hostile document is stopped after at most :data:`MAX_NODES` values.
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._n_aliases = 0
        # Expanded node count of every completed node, by id. An alias whose
        # target is not in here yet points into an open collection: a cycle.
        self._sizes: dict[int, int] = {}
        # Values composed so far, every alias counted as the size of its target:
        # checked as it grows so a long flat list stops early, not at its end.
        self._expanded = 0

    def _count(self, n: int, mark: Any) -> None:
        self._expanded += n
        if self._expanded > MAX_NODES:
            raise _YAMLLimitError(f"the document expands to more than {MAX_NODES:,d} values (aliases included)", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self._n_aliases += 1
            if self._n_aliases > MAX_ALIASES:
                raise _YAMLLimitError(f"more than {MAX_ALIASES} aliases (*name)", event.start_mark)
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise _YAMLLimitError(f"alias *{event.anchor} refers to a collection that contains it",
                                      event.start_mark)
            if target is not None:
                self._count(self._sizes[id(target)], event.start_mark)
            return super().compose_node(parent, index)  # undefined aliases: PyYAML's own error
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _ALLOWED_TAGS:
            raise _YAMLLimitError(
                f"tag {tag!r} is not allowed (scenario files hold plain maps, lists, strings and numbers)",
                event.start_mark,
            )
        self._count(1, event.start_mark)
        if isinstance(event, SequenceStartEvent | MappingStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _YAMLLimitError(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
        node = super().compose_node(parent, index)
        if isinstance(event, ScalarEvent):
            size = 1
        elif isinstance(event, SequenceStartEvent):
            self._depth -= 1
            size = 1 + sum(self._sizes[id(child)] for child in node.value)
        else:
            self._depth -= 1
            size = 1 + sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        self._sizes[id(node)] = size
        return node


class _StrictConstructor(SafeConstructor):
    """Safe constructor: core-schema numbers, duplicate keys rejected, nothing but plain data."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == f"{_CORE}merge":
                    continue  # '<<' merges are allowed; keys written here override merged ones
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if first is not None:
                    raise ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first.line + 1})", key_node.start_mark
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    # Explicit core tags (``!!int abc``) reach these constructors with any text,
    # so each one reports bad text itself rather than raising a bare exception.

    def construct_yaml_bool(self, node: Any) -> bool:
        value = self.construct_scalar(node)
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ConstructorError(None, None, f"{value[:40]!r} is not a boolean (true or false)", node.start_mark)

    def construct_yaml_int(self, node: Any) -> int:
        value = self.construct_scalar(node)
        if len(value) > 4000:  # Python refuses to parse more than 4300 digits
            raise ConstructorError(None, None, f"integer {value[:20]!r}... is too long", node.start_mark)
        try:
            if value.startswith("0o"):
                return int(value[2:], 8)
            if value.startswith("0x"):
                return int(value[2:], 16)
            return int(value)
        except ValueError:
            raise ConstructorError(None, None, f"{value[:40]!r} is not an integer", node.start_mark) from None

    def construct_yaml_float(self, node: Any) -> float:
        value = self.construct_scalar(node)
        low = value.lower()
        if low in (".inf", "+.inf", "-.inf"):
            return float("-inf") if low.startswith("-") else float("inf")
        if low == ".nan":
            return float("nan")
        try:
            return float(value)
        except ValueError:
            raise ConstructorError(None, None, f"{value[:40]!r} is not a number", node.start_mark) from None


# Only core tags have constructors; any other tag (never reached: the composer
# rejects them first) falls through to construct_undefined and an error.
_StrictConstructor.yaml_constructors = {
    f"{_CORE}null": SafeConstructor.construct_yaml_null,
    f"{_CORE}bool": _StrictConstructor.construct_yaml_bool,
    f"{_CORE}int": _StrictConstructor.construct_yaml_int,
    f"{_CORE}float": _StrictConstructor.construct_yaml_float,
    f"{_CORE}str": SafeConstructor.construct_yaml_str,
    f"{_CORE}seq": SafeConstructor.construct_yaml_seq,
    f"{_CORE}map": SafeConstructor.construct_yaml_map,
    None: SafeConstructor.construct_undefined,
}


if _WITH_LIBYAML:

    class _Loader(_BoundedComposer, _Parser, _StrictConstructor, _CoreResolver):  # type: ignore[misc]
        """libyaml events, Python composition (hooked), strict construction."""

        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            _StrictConstructor.__init__(self)
            _CoreResolver.__init__(self)

        # CParser defines its own C composer; the hooked Python one must win.
        get_single_node = Composer.get_single_node
        check_node = Composer.check_node
        get_node = Composer.get_node

else:  # pragma: no cover
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, _Parser, _BoundedComposer, _StrictConstructor, _CoreResolver):  # type: ignore[no-redef]
        """Pure-Python fallback with the same checks."""

        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _Parser.__init__(self)
            _BoundedComposer.__init__(self)
            _StrictConstructor.__init__(self)
            _CoreResolver.__init__(self)


def _fail(source: str, message: str) -> NoReturn:
    raise ScenarioError(f"{source}: {message}")


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def parse_scenario_yaml(data: bytes | str, source: str = "<scenario>") -> Any:
    """Parse scenario YAML already in memory, with the same checks as :func:`read_scenario_yaml`.

    Args:
        data: the file's bytes (decoded as strict UTF-8, an optional BOM removed) or text.
        source: how messages name the input (normally the path).

    Returns:
        Plain data: dict, list, str, int, float, bool or None (an empty document).

    Raises:
        ScenarioError: one line, ``"<source>: [line L, column C: ]<what is wrong>"``.
    """
    if len(data) > MAX_BYTES:
        _fail(source, f"file is larger than {MAX_BYTES // 1024} KiB (the limit of scenario files)")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            _fail(source, f"not UTF-8 text: byte 0x{data[exc.start]:02X} at offset {exc.start} ({exc.reason})")
    else:
        text = data
    text = text.removeprefix("\ufeff")
    loader = None
    try:
        loader = _Loader(text)  # the pure-Python reader checks characters here
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        context = getattr(exc, "context", None)
        what = _one_line(problem if not context else f"{context}: {problem}")
        _fail(source, f"{where}not valid YAML: {what}")
    except Exception as exc:  # noqa: BLE001 - RecursionError and MemoryError included
        # Belt and braces: the bounds and constructors above should make this
        # unreachable, but a reader of untrusted files must never leak a traceback.
        _fail(source, f"not valid YAML: {type(exc).__name__}: {_one_line(exc)[:200]}")
    finally:
        if loader is not None:
            loader.dispose()


def read_scenario_yaml(path: str | Path) -> Any:
    """Read a scenario file with bounded, strict YAML parsing.

    Args:
        path: the file.

    Returns:
        Plain data (see :func:`parse_scenario_yaml`).

    Raises:
        ScenarioError: one line naming the file and what is wrong: unreadable,
            larger than :data:`MAX_BYTES`, not UTF-8, not YAML, deeper than
            :data:`MAX_DEPTH`, more than :data:`MAX_ALIASES` aliases or
            :data:`MAX_NODES` values after expansion, a recursive alias, a
            duplicate key, or a tag other than YAML's core ones.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            # Read one byte past the limit rather than trusting st_size (pipes, growing files).
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        _fail(str(p), f"cannot read: {exc.strerror or exc}")
    return parse_scenario_yaml(data, str(p))
