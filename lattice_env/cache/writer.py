"""The files of a pull, written by one thread while the archive is read on (cache/archive.py reads it).

Creating and writing ~22,000 files is most of a pull, and open() and write() release the GIL. Each
file is made as the seal wants it — created with its store mode (0444/0555; the descriptor opened at
creation may still write), its mtime set through that descriptor — and hashed as it is handed over, so
sealing it (store/add.py) is one lstat, not a chmod, a utime and a second read of every byte.

A small file's bytes are handed over in memory (at most BUFFERED at a time), a large one chunk by
chunk, so the stream is decompressed while the writer writes. A file from DIRECT (64 KiB) on is written
with O_DIRECT where the filesystem takes it: its bytes must reach the disk before the path is published
anyway (the seal's syncfs), and going there straight skips filling the page cache with the ~580 MB of
an npm closure's large files that nobody reads during the pull. On this project's VMs (free page
reporting: every new page faults to the host) buffered writes cost several times the direct ones — 700
MB: 3–6 s against 0.25 s; 900 files of 64 KiB: 0.54 s against 0.12 s — while for files of a few KiB
the two were a toss-up. Where O_DIRECT is refused (ramfs, some FUSE filesystems, an unaligned write) the file is
written through the page cache instead.

One writer: three took the same wall time (paired runs, median 1.02x) for 1.3x the CPU, all of it in
the kernel, writing the same pages from more threads. The first failure is raised by the next call or
on exit."""
from __future__ import annotations

import errno
import functools
import hashlib
import mmap
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Iterable

from ..store.tree import EXEC_MODE, FILE_MODE, MTIME

CHUNK = 1 << 20
ALIGN = 4096  # O_DIRECT wants offsets, lengths and memory aligned to the device's block; 4 KiB covers all
_DIRECT = getattr(os, "O_DIRECT", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


class Writers:
    """Files written by a thread; `digests()` says what each one holds."""

    SMALL, BUFFERED = 4 << 20, 64 << 20
    DIRECT = 64 << 10  # from this size on, a file is written with O_DIRECT (below it, no faster here)

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="lattice-unpack")
        self.room = threading.BoundedSemaphore(self.BUFFERED // self.SMALL)
        self.pending: dict[str, Future[None]] = {}  # relative path → its write
        self.sha256: dict[str, str] = {}  # relative path → what was handed to the writer for it
        self.failed: list[BaseException] = []
        # One page-aligned block for direct writes, reused: a fresh one per file costs its pages anew.
        block = mmap.mmap(-1, -(-CHUNK // ALIGN) * ALIGN, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.write_chunks = functools.partial(_write_chunks, block=block)  # the one writer thread's

    def __enter__(self) -> Writers:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.pool.shutdown(wait=True)
        if kind is None:
            self._raise_failed()

    def _raise_failed(self) -> None:
        if self.failed:
            raise self.failed[0]

    def _done(self, future: Future[None]) -> None:
        self.room.release()
        if future.exception() is not None:
            self.failed.append(future.exception())  # type: ignore[arg-type]

    def write(self, src: IO[bytes], size: int, executable: bool, target: str, rel: str) -> None:
        """Write `size` bytes read from `src` to the new file `target` (`rel` in the path). They are
        hashed here, not by the writer: writing is the slower half of a pull."""
        self._raise_failed()
        mode = EXEC_MODE if executable else FILE_MODE
        sha256 = hashlib.sha256()
        if size > self.SMALL:  # streamed to the writer a chunk at a time, decompressed meanwhile
            chunks: queue.Queue[bytes | None] = queue.Queue(self.BUFFERED // CHUNK)
            future = self._submit(self.write_chunks, target, mode, iter(chunks.get, None), rel)
            try:
                while chunk := src.read(CHUNK):
                    sha256.update(chunk)
                    _put(chunks, chunk, future)
            finally:
                _put(chunks, None, future)
        else:
            data = src.read()
            sha256.update(data)
            if size < self.DIRECT:
                self._submit(_write_small, target, mode, data, rel)
            else:
                view = memoryview(data)
                self._submit(self.write_chunks, target, mode, (view[i:i + CHUNK] for i in range(0, size, CHUNK)),
                             rel)
        self.sha256[rel] = sha256.hexdigest()

    def _submit(self, fn: object, target: str, mode: int, data: object, rel: str) -> Future[None]:
        self.room.acquire()
        future = self.pool.submit(fn, target, mode, data)  # type: ignore[arg-type]
        future.add_done_callback(self._done)
        self.pending[rel] = future
        return future

    def link(self, source: str, target: str, source_rel: str, rel: str) -> None:
        """Make `target` a hard link to the file written as `source`, once it is written."""
        self.pending[source_rel].result()
        os.link(source, target)
        self.sha256[rel] = self.sha256[source_rel]

    def digests(self) -> dict[str, str]:
        """The sha256 of every file written or linked, by relative path, once every write is done."""
        for future in self.pending.values():
            future.result()
        return self.sha256


def _put(chunks: queue.Queue[bytes | None], chunk: bytes | None, writer: Future[None]) -> None:
    """Hand `chunk` to the writer of a large file, unless it has failed (then nobody would take it)."""
    while not writer.done():
        try:
            chunks.put(chunk, timeout=0.1)
            return
        except queue.Full:
            continue


def _write_small(target: str, mode: int, data: bytes) -> None:
    fd = os.open(target, _CREATE, mode)
    try:
        _pwrite_all(fd, data, 0)
        os.utime(fd, (MTIME, MTIME))
    finally:
        os.close(fd)


def _write_chunks(target: str, mode: int, chunks: Iterable[bytes | memoryview], block: mmap.mmap) -> None:
    """Write the chunks to `target`, with O_DIRECT (through the aligned `block`) while the filesystem
    takes it."""
    size = 0
    fd = os.open(target, _CREATE, mode)
    try:
        direct = _set_direct(fd, True)
        for chunk in chunks:
            if direct:
                direct = _write_direct(fd, block, chunk, size)
            else:
                _pwrite_all(fd, chunk, size)
            size += len(chunk)
        os.ftruncate(fd, size)  # a direct write pads the last chunk to a whole block
        os.utime(fd, (MTIME, MTIME))
    finally:
        os.close(fd)


def _write_direct(fd: int, block: mmap.mmap, chunk: bytes | memoryview, offset: int) -> bool:
    """Write `chunk` at `offset` through the aligned `block`; False (and the chunk written through the
    page cache, as is every later one) when the kernel refuses direct I/O here."""
    padded = -(-len(chunk) // ALIGN) * ALIGN
    block[:len(chunk)] = chunk
    block[len(chunk):padded] = bytes(padded - len(chunk))
    try:
        _pwrite_all(fd, memoryview(block)[:padded], offset)
        return True
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # an offset or alignment this device does not take; else real
            raise
    _set_direct(fd, False)
    _pwrite_all(fd, chunk, offset)
    return False


def _set_direct(fd: int, on: bool) -> bool:
    """Turn direct I/O on or off for `fd`; whether it is on. It is turned on after the file is made,
    not asked for at open: a filesystem without it (ramfs) refuses O_DIRECT only once it has created
    the file, and O_EXCL would then refuse the second try."""
    import fcntl

    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | _DIRECT if on else flags & ~_DIRECT)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL: this filesystem does no direct I/O
            raise
        return False
    return on and bool(_DIRECT)


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n
