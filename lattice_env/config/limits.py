"""Bounds on untrusted input, each checked before the work it bounds, and the one bounded read of an
input file. A lattice.yaml nobody on the machine wrote must cost at most about a second and a few
hundred MB to reject, however it is built: size before reading, nodes while parsing (config/document.py),
agents before validating (config/load.py), prompts before reading them (config/agent_files.py).

Each limit is far above any real workflow: the design's full example is 9 KB with 10 agents of under
1 KB each."""
from __future__ import annotations

import os
import stat

from ..errors import LatticeError
from ..paths import not_regular

MIB = 1 << 20
# A configuration file (lattice.yaml, lattice.local.yaml, the global one): 450 times the design's full
# example, a few hundred thousand lines; read whole into memory, so bounded before reading.
MAX_CONFIG_BYTES = 4 * MIB
# Nodes of a document, counted while it is parsed and again as aliases expand (an alias bomb), so that
# neither a long file nor a short one with nested aliases is built in full before it is refused.
MAX_NODES = 200_000
# Nesting deeper than any configuration needs is refused before it can exhaust the Python stack.
MAX_DEPTH = 64
# Agents: each is a file read, validated and generated (an agent file, a model of the routing bridge).
MAX_AGENTS = 500
# One agent file is a system prompt sent with every call: 1 MiB is about 250,000 tokens, beyond what
# any model takes as a system prompt.
MAX_AGENT_FILE_BYTES = MIB
# All agent files together: what one validation reads and one build copies into the store.
MAX_AGENT_FILES_BYTES = 16 * MIB
# Skills (config/skills.py): every file of the `skills:` directories is read by a validation and
# copied into the store, so their number and their bytes together are bounded like agent files.
MAX_SKILL_FILES = 2_000
MAX_SKILLS_BYTES = 16 * MIB
# A shared workflow fetched by `lattice init --from` (and `update`): what is copied of it, before any of
# it is read as configuration. The design's shareable unit is a lattice.yaml and a few agent files.
MAX_SOURCE_FILES = 2_000
MAX_SOURCE_BYTES = 64 * MIB


def too_large(size: int, limit: int, what: str) -> str:
    """`<size> is more than <what> may hold (<limit>)`, the size in MiB to a tenth, or in bytes where
    that would read as the limit itself."""
    shown = f"{size / MIB:.1f} MiB"
    if size < MIB or shown == f"{limit / MIB:.1f} MiB":
        shown = f"{size} bytes"
    return f"{shown} is more than {what} may hold ({limit // MIB} MiB)"


def read_limited(path: str | os.PathLike[str], limit: int, shown: str, what: str) -> bytes:
    """The bytes of the regular file at `path`, refused with a one-line LatticeError naming `shown` when
    it is not a regular file or holds more than `limit` bytes — checked on the open descriptor before
    reading (a FIFO never blocks, a huge file is never read), and again by reading at most `limit + 1`
    bytes (a file that grows meanwhile). `what` names the limit ("a configuration file")."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise LatticeError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise LatticeError(f"{shown}: is {not_regular(st.st_mode)}, not a file")
        if st.st_size > limit:
            raise LatticeError(f"{shown}: {too_large(st.st_size, limit, what)}")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise LatticeError(f"{shown}: grew while it was read: {too_large(limit + 1, limit, what)}")
        return b"".join(chunks)
    except OSError as exc:  # EIO, EISDIR on exotic file systems
        raise LatticeError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
