"""Result-folder writes; every file goes through :func:`aggregation.io.atomic_write`."""

from __future__ import annotations

import os
import pickle
import platform
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from aggregation.io import atomic_write, save_figure, write_json

__all__ = ["finalise_dir", "read_pickle", "save_figure", "versions", "write_json", "write_pickle", "write_table"]

_VERSIONED = ("vppsim", "numpy", "pandas", "scipy", "mesa", "pandapower", "pvlib", "torch", "pydantic", "highspy")


def versions() -> dict[str, str]:
    """Python and package versions, for manifests (read from metadata: nothing is imported)."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_table(path_stem: Path, df: pd.DataFrame) -> None:
    """Write ``df`` as both Parquet and CSV next to each other."""
    atomic_write(path_stem.with_suffix(".parquet"), lambda fh: df.to_parquet(fh, index=False))
    atomic_write(path_stem.with_suffix(".csv"), lambda fh: fh.write(df.to_csv(index=False).encode()))


def write_pickle(path: Path, obj: Any) -> None:
    atomic_write(path, lambda fh: pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL))


def read_pickle(path: Path) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def finalise_dir(partial: Path, final: Path) -> Path:
    """Move a completed partial folder into place (atomic rename on one filesystem)."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    return final
