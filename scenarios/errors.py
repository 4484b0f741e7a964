"""The error every scenario-reading layer raises, in a module with no dependencies.

``scenarios.schema`` re-exports it (``from .errors import ScenarioError``) so that
the YAML reader (:mod:`scenarios.yamlsafe`) and the limits
(:mod:`scenarios.limits`) can raise it without importing the schema, and so
without importing the device kinds behind it.
"""

from __future__ import annotations


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message is meant for the user."""
