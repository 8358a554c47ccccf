"""`<data dir>/state.json`: routing positions, provider usage, cool-downs and session skips — read,
changed under a lock and replaced atomically; made durable by a checkpoint at most once a second, from
which a torn or stale file is recovered. The shape and the durability contract (why the commit is not
fsynced, how recovery works, why the replaced inode is recycled) are in docs/architecture.md,
"Routing state: the durability contract"."""
from __future__ import annotations

import errno
import json
import os
import stat
import time

from ..errors import FilesystemError, LatticeError
from ..flock import file_lock

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

VERSION = 1
SECTIONS = ("routing_state", "provider_usage", "cooldowns", "skipped")
AGENT_DAY = ("calls_today",)
PROVIDER_DAY = ("calls_today", "estimated_tokens", "estimated_spend", "input_tokens", "output_tokens",
                "rate_limited_today", "failed_today")
PROVIDER_MONTH = ("calls_month", "estimated_tokens_month", "estimated_spend_month", "input_tokens_month",
                  "output_tokens_month")
SKIP_LIFETIME = 7 * 24 * 3600  # a session skip older than this is forgotten (sessions have no end event)
CHECKPOINT_INTERVAL = 1.0  # seconds of counting a power loss may cost (see the module docstring)
DURABLE = "state.durable.json"
_NUMBER_FIELDS = {"pattern_index", "call_count", "until", "since", *PROVIDER_DAY, *PROVIDER_MONTH}
_NUMBER = (int, float)
# One compact, unsorted encoder for every write: `indent` falls back to the pure-Python encoder (4×
# slower), sort_keys costs a third of the dump (the file keeps its own order from read to write), and
# json.dumps with separators builds a new encoder per call.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def state_path() -> str:
    """str paths here, not pathlib: its import costs the bridge more than a committed decision."""
    from ..paths import data_root

    return os.path.join(data_root(), "state.json")


def durable_path(path: str | os.PathLike[str]) -> str:
    """The fsynced checkpoint beside `path`."""
    return os.path.join(os.path.dirname(os.fspath(path)), DURABLE)


def local_day(now: float) -> str:
    """The local calendar day of `now`: day counters roll over at local midnight."""
    return time.strftime("%Y-%m-%d", time.localtime(now))


def empty() -> dict[str, Any]:
    return {"version": VERSION, **{s: {} for s in SECTIONS}}


def _shape_error(data: Any) -> str | None:
    """Why `data` is not a state document, or None. Hand-edits that keep the shape are accepted.
    Runs on every read of the hot path, hence type() checks rather than isinstance (bool is an int)."""
    if type(data) is not dict:
        return "not a JSON object"
    numbers_fields = _NUMBER_FIELDS
    for section in SECTIONS:
        value = data.get(section, {})
        if type(value) is not dict:
            return f"{section} is not an object"
        skipped = section == "skipped"
        for key, entry in value.items():
            if type(entry) is not dict:
                return f"{section}.{key} is not an object"
            for k, v in entry.items():
                if skipped or k in numbers_fields:
                    if type(v) not in _NUMBER or v < 0:
                        return f"{section}.{key} has a value that is not a non-negative number"
                elif k == "distribution" and (type(v) is not dict
                                              or any(type(n) is not int for n in v.values())):
                    return f"{section}.{key}.distribution is not an object of counts"
    return None


def roll_over(data: dict[str, Any], now: float) -> dict[str, Any]:
    """Zero the day counters of entries from an earlier local day and the month counters of providers
    from an earlier local month; drop expired cool-downs and skips."""
    today = local_day(now)
    for section, fields in (("routing_state", AGENT_DAY), ("provider_usage", PROVIDER_DAY)):
        for entry in data[section].values():
            if entry.get("day") != today:
                for field in fields:
                    if field in entry:
                        entry[field] = 0
                entry["day"] = today
    month = today[:7]
    for entry in data["provider_usage"].values():
        if entry.get("month") != month:
            for field in PROVIDER_MONTH:
                if field in entry:
                    entry[field] = 0
            entry["month"] = month
    if data["cooldowns"]:
        data["cooldowns"] = {k: v for k, v in data["cooldowns"].items() if v.get("until", 0) > now}
    if data["skipped"]:
        data["skipped"] = {s: p for s, p in ((s, {k: t for k, t in p.items() if now - t < SKIP_LIFETIME})
                                             for s, p in data["skipped"].items()) if p}
    return data


def usage_entry(state: dict[str, Any], provider: str, now: float) -> dict[str, Any]:
    """`provider_usage[provider]`, created for today when missing (an entry without its day and month
    would read as an earlier period's and be zeroed)."""
    entry: dict[str, Any] = state["provider_usage"].setdefault(provider, {})
    if "day" not in entry:
        entry["day"] = local_day(now)
        entry["month"] = entry["day"][:7]
    return entry


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    if not raw.strip():
        return None, "empty"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return None, f"not valid JSON ({exc})"
    problem = _shape_error(data)
    if problem:
        return None, problem
    for section in SECTIONS:
        if section not in data:
            data[section] = {}
    data["version"] = VERSION
    return data, None


def _read(path: str) -> bytes | None:
    """The file's bytes, or None when it does not exist (os.open/read: no buffered file object). A
    symlink is never followed (OSError, ELOOP): state.json is Lattice's own file, not a pointer."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        # 64 KiB: one read for any state file of a sane size (a short read of a regular file is its
        # end), and small enough for malloc's heap — a 256 KiB buffer is mmap'ed and costs 20 µs.
        data = os.read(fd, 1 << 16)
        if len(data) < 1 << 16:
            return data
        chunks = [data]
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _document(path: str) -> tuple[dict[str, Any] | None, str]:
    """The state document at `path` and "", or None and why not: "missing", or what is wrong with it
    (a symlink or a directory is as unreadable as garbage, and is moved aside the same way)."""
    try:
        raw = _read(path)
    except OSError as exc:
        return None, "a symlink, which is never followed" if exc.errno == errno.ELOOP else \
            f"cannot read it: {exc.strerror or exc}"
    if raw is None:
        return None, "missing"
    data, problem = _parse(raw)
    return data, problem or ""


_BOOT: list[str | None] = []


def boot_id() -> str | None:
    """This boot's id (Linux), read once per process; None where the kernel does not say."""
    if not _BOOT:
        raw = None
        try:
            raw = _read("/proc/sys/kernel/random/boot_id")
        except OSError:
            pass
        _BOOT.append(raw.decode().strip() if raw else None)
    return _BOOT[0]


def _load(path: str | os.PathLike[str], warnings: list[str] | None, locked: bool,
          now: float) -> tuple[dict[str, Any], bool]:
    """The state at `path`, or its durable checkpoint when `state.json` is unreadable or is an older
    boot's and the checkpoint is newer. Returns it and whether the next write must checkpoint. Under the
    lock (`locked`), an unreadable `state.json` is moved aside so its content is kept."""
    text = os.fspath(path)
    data, problem = _document(text)
    if problem == "missing":
        return empty(), True
    if data is None and not locked:
        for _ in range(3):  # a lock-free read may have met a recycled inode being rewritten
            data, problem = _document(text)
            if problem == "missing":
                return empty(), True
            if data is not None:
                break
    boot = boot_id()
    if data is not None and (boot is None or data.get("boot") == boot):
        return data, False
    durable = durable_path(text)
    backup, backup_problem = _document(durable)
    if data is not None:  # written before this boot: its last renames may not have reached the disk
        if backup is None or _seq(backup) <= _seq(data):
            return data, True
        if warnings is not None:
            warnings.append(f"{text} is older than {DURABLE} after a restart (commit {_seq(data)} "
                            f"< {_seq(backup)}); using the checkpoint")
        return backup, True
    moved = _move_aside(text, now) if locked else None
    if warnings is not None:
        kept = f"; moved it to {os.path.basename(moved)}" if moved else ""
        if backup is not None:
            warnings.append(f"{text} was unreadable ({problem}){kept}; recovered the state from "
                            f"{DURABLE} (counts of the last second or so may be missing)")
        elif locked:
            warnings.append(f"{text} was corrupt ({problem}){kept} and started afresh "
                            f"({DURABLE}: {backup_problem})")
        else:
            warnings.append(f"{text} is corrupt ({problem}; {DURABLE}: {backup_problem}); "
                            f"routing as if it were empty")
    return (backup if backup is not None else empty()), True


def _seq(data: dict[str, Any]) -> int:
    seq = data.get("seq", 0)
    return seq if type(seq) is int else 0


def read_state(path: str | os.PathLike[str] | None = None, now: float | None = None,
               warnings: list[str] | None = None) -> dict[str, Any]:
    """The current state without taking the lock (for dry runs and displays). An unreadable file reads
    as its durable checkpoint, else as empty, with a warning; the next write repairs it."""
    path = path or state_path()
    now = time.time() if now is None else now
    return roll_over(_load(path, warnings, False, now)[0], now)


def _move_aside(path: str, now: float) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now))
    target = f"{path}.corrupt-{stamp}"
    n = 1
    while os.path.lexists(target):
        target = f"{path}.corrupt-{stamp}.{n}"
        n += 1
    os.replace(path, target)
    return target


def _write(path: str, data: bytes) -> None:
    """Replace `path` by `data` without fsync: write `.<name>.tmp` in place, rename it over `path`,
    and keep the replaced inode (a second link, `.<name>.spare`) as the next temp file — see the module
    docstring for why. Only the lock holder calls this."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.tmp")
    fd = _open_temp(tmp)
    try:
        view = memoryview(data)
        offset = 0
        while offset < len(data):
            offset += os.pwrite(fd, view[offset:], offset)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
    spare = os.path.join(directory, f".{name}.spare")
    try:
        os.link(path, spare)
    except FileExistsError:  # left by a process killed mid-commit
        os.unlink(spare)
        os.link(path, spare)
    except FileNotFoundError:  # the first commit
        spare = ""
    except OSError:  # no hard links here: a plain rename (frees the old blocks, slower, as safe)
        spare = ""
    os.replace(tmp, path)
    if spare:
        os.replace(spare, tmp)


# No O_TRUNC: a file is truncated only once it is known to be the temp file itself (_open_temp).
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _open_temp(tmp: str) -> int:
    """`tmp` opened for writing, as the temp file Lattice left there (a regular file with no other
    link: the recycled inode) or a new one. Anything else planted at that name — a symlink, a hard link
    to another file, a FIFO — is removed and replaced, never written through (O_NOFOLLOW, then fstat:
    one syscall more than a plain open)."""
    try:
        fd = os.open(tmp, _TEMP_FLAGS, 0o644)
    except OSError:  # ELOOP (a symlink), ENXIO (a FIFO), EISDIR
        pass
    else:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
            return fd
        os.close(fd)
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if FilesystemError.of(exc) is not None:  # a read-only or full data dir: the caller names the file
            raise
        raise LatticeError(f"{tmp}: cannot replace it ({exc.strerror or exc}); it is not a file Lattice "
                           f"wrote, remove it") from None
    return os.open(tmp, _TEMP_FLAGS | os.O_EXCL, 0o644)


def _write_durable(path: str, data: bytes) -> None:
    """Temp + fsync + rename + directory fsync: the checkpoint survives a power loss whole."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.tmp")
    fd = _open_temp(tmp)
    try:
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    from ..fsutil import fsync_dir  # here, not at the top: once a second at most

    fsync_dir(directory or ".")


def _checkpoint_due(durable: str) -> bool:
    try:
        return time.time() - os.lstat(durable).st_mtime >= CHECKPOINT_INTERVAL
    except FileNotFoundError:
        return True


class transaction:  # noqa: N801 — used like a function: `with transaction() as state:`
    """Lock, read (rolled over to today), let the block change the dict, write it back atomically
    (see the module docstring for when it is also made durable). Nothing is written if the block
    raises. A plain class rather than contextlib.contextmanager: it runs once per routed prompt."""

    def __init__(self, path: str | os.PathLike[str] | None = None, now: float | None = None,
                 warnings: list[str] | None = None) -> None:
        self.path = path or state_path()
        self.now = time.time() if now is None else now
        self.warnings = warnings

    def __enter__(self) -> dict[str, Any]:
        self.text = text = os.fspath(self.path)
        self.directory = directory = os.path.dirname(text)
        self.lock = file_lock(os.path.join(directory, "state.lock"))
        self.lock.__enter__()  # released by close, or by the kernel when we die
        try:
            self.data, self.force = _load(self.path, self.warnings, True, self.now)
        except BaseException:
            self.lock.__exit__()
            raise
        return roll_over(self.data, self.now)

    def __exit__(self, kind: object, *exc: object) -> None:
        try:
            if kind is None:
                data = self.data
                data["seq"] = _seq(data) + 1
                data["boot"] = boot_id()
                raw = (_ENCODE(data) + "\n").encode()
                durable = os.path.join(self.directory, DURABLE)
                try:
                    _write(self.text, raw)
                    if self.force or _checkpoint_due(durable):
                        _write_durable(durable, raw)
                except OSError as exc:  # a full disk, a read-only data dir: say which file, not its temp
                    fault = FilesystemError.of(exc, self.text)
                    if fault is None:
                        raise
                    raise fault from exc
        finally:
            self.lock.__exit__()
