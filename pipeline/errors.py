"""Errors the user can fix: shown as one line, exit code 2, never a traceback."""


class UserError(Exception):
    """Bad config or bad data, detected before (or instead of) wasting a fit."""

    exit_code = 2
