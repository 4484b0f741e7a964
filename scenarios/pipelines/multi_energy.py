"""Pipeline of ``multi_energy`` scenarios: :func:`scenarios.multi_energy.run` inside the runner's lifecycle."""

from __future__ import annotations

from .folder_run import folder_pipeline

_PIPELINE = folder_pipeline("scenarios.multi_energy:run")
simulate, write, report = _PIPELINE.simulate, _PIPELINE.write, _PIPELINE.report

__all__ = ["report", "simulate", "write"]
