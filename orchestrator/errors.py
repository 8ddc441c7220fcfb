"""Errors the CLI turns into one clear line and an exit code, never a traceback."""

from __future__ import annotations

# Exit codes, as in DESIGN.md.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DEGRADED = 3
# `aidevops check` could not check everything (a host unreachable, a phase failed in check mode, nothing deployed
# yet): distinct from 1, which there means drift was found.
EXIT_CHECK_INCOMPLETE = 4
# Another run holds the inventory: nothing was done, try again later (sysexits' EX_TEMPFAIL). Its own code, so
# that a script can tell "busy, retry or --wait" from a deployment that failed (1) or bad input (2).
EXIT_BUSY = 75
EXIT_CANCELLED = 130


class AidevopsError(Exception):
    """An error meant for the user: what went wrong, where, and what to do."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class BadInput(AidevopsError):
    """The user's input (inventory, request, flags) is invalid; nothing was run."""

    exit_code = EXIT_BAD_INPUT


class InventoryBusy(AidevopsError):
    """Another aidevops run holds the inventory's run lock; nothing was done."""

    exit_code = EXIT_BUSY


class EnvironmentProblem(AidevopsError):
    """Something the tool needs on this machine is missing (Docker, ssh-keygen, ansible-playbook)."""

    exit_code = EXIT_FAILED


class CheckNotPossible(AidevopsError):
    """`aidevops check` has nothing to compare with (no deployment recorded); nothing was run."""

    exit_code = EXIT_CHECK_INCOMPLETE
