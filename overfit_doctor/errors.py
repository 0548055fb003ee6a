"""User-facing errors and the exit codes they map to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the CLI (documented in docs/cli.md)."""

    OK = 0  # nothing at or above --fail-on
    FINDINGS = 1  # at least one finding at or above --fail-on
    USAGE = 2  # bad usage or unusable input: one line on stderr
    INTERNAL = 3  # a bug in overfit-doctor


class OverfitDoctorError(Exception):
    """Base class of errors that are reported to the user as one line."""

    exit_code: ExitCode = ExitCode.USAGE


class InputError(OverfitDoctorError):
    """An input (log file, run folder, spec file) cannot be used."""


class UsageError(OverfitDoctorError):
    """Options that contradict each other or name unknown things."""
