"""Quoting a value so that a shell reads it back as exactly that string, whatever it holds (spaces,
quotes, `$`, backslashes, newlines, non-ASCII). `print-env` uses it directly
(without jinja2), and render.py exposes the same functions to templates as `shell_quote` and `fish_quote`."""
from __future__ import annotations

__all__ = ["fish_quote", "posix_quote"]

_POSIX_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def posix_quote(value: str) -> str:
    """`shlex.quote`, spelled out (same output, tested against it): shlex imports `re`, which alone costs
    print-env more than its own work."""
    if not value:
        return "''"
    if set(value) <= _POSIX_SAFE:
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def fish_quote(value: str) -> str:
    """fish single quotes: everything is literal except `\\'` and `\\\\`, so escape exactly those two.

    (POSIX quoting is not enough for fish: `'a\\\\b'` is two backslashes in sh and one in fish.)"""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
