"""Atomic writes for result folders: nothing half-written survives an interruption."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def _atomic(path: Path, write) -> None:
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


def write_json(path: Path, obj: Any) -> None:
    _atomic(path, lambda fh: fh.write(json.dumps(obj, indent=2, default=str).encode()))


def write_table(path_stem: Path, df: pd.DataFrame) -> None:
    """Write ``df`` as both Parquet and CSV next to each other."""
    _atomic(path_stem.with_suffix(".parquet"), lambda fh: df.to_parquet(fh, index=False))
    _atomic(path_stem.with_suffix(".csv"), lambda fh: fh.write(df.to_csv(index=False).encode()))


def write_pickle(path: Path, obj: Any) -> None:
    _atomic(path, lambda fh: pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL))


def read_pickle(path: Path) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    _atomic(path, lambda fh: fig.savefig(fh, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)


def finalise_dir(partial: Path, final: Path) -> Path:
    """Move a completed partial folder into place (atomic rename on one filesystem)."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    return final
