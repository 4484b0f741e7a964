"""Atomic file writes: a file is either complete or absent, never half-written."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is not imported by `vppsim validate`, which uses to_jsonable via scenarios.progress
    import pandas as pd


def atomic_write(path: Path, write: Callable[[io.BufferedWriter], Any]) -> Path:
    """Write a file through a temporary sibling and ``os.replace`` (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def write_json(path: Path, obj: Any) -> Path:
    """Write strict JSON atomically (:func:`to_jsonable`: NaN and infinities become ``null``)."""
    return write_text(path, json.dumps(to_jsonable(obj), indent=2, allow_nan=False))


def to_jsonable(x: Any) -> Any:
    """Plain JSON values from numpy/pandas/pathlib/dataclass values (NaN and inf become null)."""
    if x is None or isinstance(x, bool | str):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, Mapping):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in x]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return to_jsonable(dataclasses.asdict(x))
    mod = type(x).__module__
    if mod.startswith("numpy"):
        if hasattr(x, "tolist"):
            return to_jsonable(x.tolist())
    if mod.startswith("pandas"):
        if hasattr(x, "to_dict"):
            if hasattr(x, "columns"):  # a DataFrame: a list of records
                return to_jsonable(x.to_dict(orient="records"))
            return to_jsonable(x.to_dict())
        if hasattr(x, "isoformat"):
            return x.isoformat()
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return str(x)


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    return write_text(path, df.to_csv(index=False))


def save_figure(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    try:
        return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110, bbox_inches="tight"))
    finally:
        plt.close(fig)


