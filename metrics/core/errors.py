"""Errors a user can cause, each with the exit code the CLI documents and a message that names the
file (and where it applies the line and column) and the fix. The CLI prints ``str(error)`` without a
traceback (``--debug`` shows it); anything else is a bug and keeps its traceback.

Exit codes: 1 data rejected, 2 usage (bad arguments, unknown area or scorecard, missing folder),
3 environment (warehouse unusable, locked, read-only, full disk, missing tool).
"""

from __future__ import annotations


class UserError(Exception):
    """Base of every error a user can cause and fix; never raised itself."""

    exit_code = 1


class DataRejected(UserError):
    """A delivered extract (or the run's inputs as a whole) was refused."""

    exit_code = 1


class UsageError(UserError):
    """The command or its arguments ask for something that cannot be done as asked."""

    exit_code = 2


class DefinitionError(UsageError, ValueError):
    """A declaration file (scorecard.toml, a metric's TOML or SQL) is malformed: the message names the
    file, where in it, and what the declaration must say. A usage error (exit 2): the run cannot
    start until the declaration is fixed."""


class EnvironmentProblem(UserError):
    """The machine, the warehouse file or a folder is not in a state the run can use."""

    exit_code = 3
