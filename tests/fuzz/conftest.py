"""The fuzz helpers (mutators, harness) are plain modules beside the tests."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # --import-mode=importlib does not put test folders on sys.path
    sys.path.insert(0, _HERE)
