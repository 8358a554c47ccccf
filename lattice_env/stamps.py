"""Stat stamps for the caches that stand in for reading files again (the builder hash, the node
identity, the parse cache's view of the yaml package): a file whose stamp is unchanged is taken to be
unchanged.

A stamp is size, mtime and ctime (ns) and the inode. ctime is in it because nothing can set it back:
`cp -p`, `touch -d` and tar restore an old mtime, not an old ctime; the inode, because an editor's or a
package manager's save is a new file renamed over the old one.

Timestamps move in clock ticks (a few ms on Linux, a second or two on some filesystems), so two writes in
one tick can leave the same stamp on different contents. A stamp is therefore only remembered once it
has *settled*: its file last changed more than SETTLE seconds before it was taken. A later write then
happens in a later tick and changes the stamp; a file that changed within the window is read again
each time until it settles."""
from __future__ import annotations

import os

SETTLE = 2.0  # seconds: more than the coarsest timestamp granularity of the filesystems we meet (1 s)


def stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def settled(st: os.stat_result, now: float) -> bool:
    """Whether `st` may be remembered: its file last changed (mtime or ctime) SETTLE seconds before `now`
    (time.time() when `st` was taken) or earlier."""
    return max(st.st_mtime_ns, st.st_ctime_ns) <= (now - SETTLE) * 1e9
