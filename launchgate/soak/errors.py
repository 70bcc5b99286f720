"""The soak's expected failures: one line for the user, exit 2 at the CLI, never a traceback."""

from __future__ import annotations


class SoakError(Exception):
    """Bad input or an unusable target (unreachable URL, locustfile error, bad duration, missing run)."""
