"""Safe file writing for ``philoxinit checkpoint``: what ``--out`` may be, temp files that are
recognised and cleaned, blocks reserved before mapping, one fsync per file, rename at the end.

* Every file is written as ``.<name>.philoxinit-<12 hex>.tmp`` in the target directory and
  renamed onto ``<name>`` only when all files of the checkpoint are complete and fsynced, so an
  old ``--out`` stays intact until the new one is whole.
* The writer holds a POSIX record lock (``lockf``) on its temp file. A later run into the same
  place removes every matching temp file whose lock it can take: its writer is gone (killed by
  SIGKILL, a crash, a lost machine); one still locked belongs to a live run and is left alone.
* A file's blocks are reserved with ``posix_fallocate`` before it is mapped, so a full disk is
  ``ENOSPC`` there (exit status 1 with the space needed and free), never a SIGBUS while
  writing through the map. Where the file system cannot reserve blocks, each tensor is filled
  in memory and written with ``pwrite`` instead of mapping the file.
"""
from __future__ import annotations

import errno
import fcntl
import gc
import mmap
import os
import re
import secrets
import signal
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .layout import FileLayout
from .spec import SpecError

TEMP_RE = re.compile(r"\.(?P<target>.+)\.philoxinit-[0-9a-f]{12}\.tmp")
HANDLED_SIGNALS = tuple(s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM",
                                                                       "SIGHUP")) if s)


class DiskFull(OSError):
    """No space to reserve a file's blocks (exit status 1)."""


class Interrupted(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived while writing."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 130 if self.signum == signal.SIGINT else 128 + self.signum


@dataclass
class OutTarget:
    """Where the checkpoint goes: ``mode`` ``"file"`` (one safetensors file ``filename`` in
    ``directory``) or ``"dir"`` (a Hugging Face model directory)."""

    mode: str
    directory: str
    filename: Optional[str] = None

    @property
    def path(self) -> str:
        return os.path.join(self.directory, self.filename) if self.filename else self.directory


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def _writable(path: str, st: os.stat_result) -> bool:
    # root passes os.access whatever the mode: a mode without any w bit is read-only for all
    return bool(st.st_mode & 0o222) and os.access(path, os.W_OK)


def _read_only_fs(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def existing_ancestor(path: str) -> str:
    """The nearest ancestor of ``path`` (itself included) that exists."""
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_directory(directory: str, what: str = "--out") -> None:
    """SpecError unless ``directory`` exists and is writable, or can be created."""
    anchor = existing_ancestor(directory)
    if not os.path.isdir(anchor):
        raise SpecError(f"{what}: cannot create directory {directory!r}: {anchor!r} is not a "
                        "directory")
    st = os.stat(anchor)
    if _read_only_fs(anchor):
        raise SpecError(f"{what}: {anchor!r} is on a read-only file system")
    if not _writable(anchor, st) or not os.access(anchor, os.X_OK):
        raise SpecError(f"{what}: directory {anchor!r} is not writable")


def check_out(out: str, spec_path: str) -> OutTarget:
    """The checked ``--out``; SpecError (nothing written) when it cannot or must not be used.

    An existing directory, or a new path not ending in ``.safetensors``: a model directory.
    An existing regular file, or a new ``*.safetensors`` path: one file. Anything else that
    exists (FIFO, device, socket) is refused, and so is a read-only file (no ``w`` bit).
    """
    path = os.path.abspath(out)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise SpecError(f"--out {out!r}: cannot create directory "
                        f"{os.path.dirname(path)!r}: {exc.strerror or exc}") from None
    if st is not None and not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise SpecError(f"--out {out!r} exists and is a {_kind(st.st_mode)}, not a regular "
                        "file or a directory; refusing to replace it")
    if (st is not None and stat.S_ISDIR(st.st_mode)) or (st is None and
                                                          not path.endswith(".safetensors")):
        target = OutTarget("dir", os.path.realpath(path))
    else:
        real = os.path.realpath(path)
        target = OutTarget("file", os.path.dirname(real), os.path.basename(real))
        if st is not None and not _writable(real, st):
            raise SpecError(f"--out {out!r} is read-only (mode {stat.S_IMODE(st.st_mode):o}); "
                            "refusing to replace it (chmod u+w it, or choose another --out)")
    check_directory(target.directory)
    spec_real = os.path.realpath(spec_path)
    if target.mode == "file" and spec_real == target.path:
        raise SpecError(f"--out {out!r} is the SPEC file itself; refusing to overwrite it")
    return target


def check_replaceable(directory: str, names) -> None:
    """SpecError when one of ``names`` in ``directory`` exists and is not a writable regular
    file (it would be replaced)."""
    for name in names:
        path = os.path.join(directory, name)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(f"--out: {path!r} exists and is a "
                            f"{'directory' if stat.S_ISDIR(st.st_mode) else _kind(st.st_mode)}; "
                            "refusing to replace it")
        if not _writable(path, st):
            raise SpecError(f"--out: {path!r} is read-only (mode {stat.S_IMODE(st.st_mode):o}); "
                            "refusing to replace it")


def free_bytes(directory: str) -> int:
    """Bytes available to this user on the file system of ``directory`` (or its nearest
    existing ancestor)."""
    st = os.statvfs(existing_ancestor(directory))
    return st.f_bavail * st.f_frsize


def space_needed(sizes, directory: str) -> int:
    """Bytes of blocks that files of ``sizes`` bytes take on the file system of ``directory``:
    each rounded up to its block size (``f_frsize``), as the free space is counted.

    >>> space_needed([0, 1, 4096], "/") % 4096, space_needed([0], "/")
    (0, 0)
    """
    try:
        block = os.statvfs(existing_ancestor(directory)).f_frsize or 1
    except OSError:
        block = 1
    return sum(-(-size // block) * block for size in sizes)


# ---- temp files --------------------------------------------------------------------------

def temp_path(directory: str, target: str) -> str:
    """A fresh temp file name for ``target`` in ``directory`` (matches :data:`TEMP_RE`)."""
    return os.path.join(directory, f".{target}.philoxinit-{secrets.token_hex(6)}.tmp")


def remove_leftovers(directory: str, is_target) -> tuple:
    """Remove the temp files in ``directory`` of earlier runs (those for which
    ``is_target(target name)`` holds) whose writer is gone; ``(removed, still locked)``."""
    removed, busy = [], []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed, busy
    for name in names:
        m = TEMP_RE.fullmatch(name)
        if not m or not is_target(m.group("target")):
            continue
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                busy.append(path)
                continue
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed, busy


def create_locked(path: str) -> int:
    """Create ``path`` (exclusively) and take its lock; the open descriptor."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def disk_full(err: int, size: int, path: str) -> "DiskFull":
    """The :class:`DiskFull` for a file of ``size`` bytes at ``path``: the space needed and
    the space free, in bytes and GB."""
    directory = os.path.dirname(path) or "."
    try:
        free = f"{free_bytes(directory):,} bytes free"
    except OSError:
        free = "free space unknown"
    return DiskFull(err, f"no space left to write {size:,} bytes ({size / 1e9:.2f} GB) of "
                    f"{os.path.basename(path)} in {directory}: {free} ({os.strerror(err)})")


NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _reserve(fd: int, size: int, path: str) -> bool:
    """Reserve ``size`` bytes of blocks; False where the file system cannot (then the caller
    writes with ``pwrite``); DiskFull when there is no room."""
    if size == 0:
        return True
    try:
        os.posix_fallocate(fd, 0, size)
        return True
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise disk_full(exc.errno, size, path) from None
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return False
        raise
    except AttributeError:  # pragma: no cover  (no posix_fallocate: macOS)
        return False


def _pwrite_all(fd: int, data, offset: int) -> None:
    view = memoryview(data).cast("B")
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def write_file(path: str, layout: FileLayout, source, threads: Optional[int] = None,
               progress=None) -> int:
    """Write the safetensors file ``layout`` to the new file ``path`` (created here, locked,
    blocks reserved, filled through one mapping, fsynced once); returns its size. ``source``
    fills each tensor: ``source.fill(entry, buffer, threads)``. On any error ``path`` is
    removed."""
    total = layout.total_bytes
    fd = create_locked(path)
    try:
        with _removed_on_error(path, total):
            _write_layout(fd, path, total, layout, source, threads, progress)
    finally:
        os.close(fd)
    return total


def _write_layout(fd, path, total, layout, source, threads, progress):
    """The body of :func:`write_file`: the header, then every tensor, one fsync."""
    if os.fstat(fd).st_nlink == 0:  # removed between create and lock by a cleaning run
        raise FileExistsError(errno.EEXIST, "temp file removed by another run", path)
    mapped = _reserve(fd, total, path)
    _pwrite_all(fd, len(layout.header).to_bytes(8, "little") + layout.header, 0)
    if mapped and layout.data_bytes:
        mm = mmap.mmap(fd, total)
        try:
            for entry, offset in layout.placed:
                if progress is not None:
                    progress.set_description(entry.name)
                if entry.nbytes:
                    buf = np.frombuffer(mm, np.uint8, entry.nbytes, offset)
                    source.fill(entry, buf, threads)
                    del buf
                if progress is not None:
                    progress.update(entry.nbytes)
            mm.flush()
        finally:
            try:
                mm.close()
            except BufferError:  # a view still alive in a traceback: drop it first
                gc.collect()
                try:
                    mm.close()
                except BufferError:  # held by the propagating exception: closed by GC
                    pass
    else:
        for entry, offset in layout.placed:
            if entry.nbytes:
                buf = np.empty(entry.nbytes, np.uint8)
                source.fill(entry, buf, threads)
                _pwrite_all(fd, buf, offset)
                del buf
            if progress is not None:
                progress.update(entry.nbytes)
        os.ftruncate(fd, total)
    os.fsync(fd)


def write_bytes(path: str, data: bytes) -> None:
    """Write the small file ``path`` (new, locked, fsynced); removed on error."""
    fd = create_locked(path)
    try:
        with _removed_on_error(path, len(data)):
            _pwrite_all(fd, data, 0)
            os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _removed_on_error(path: str, size: int):
    """On any error remove ``path``; a no-space OSError becomes the DiskFull naming ``size``
    and the free space."""
    try:
        yield
    except OSError as exc:
        unlink_quietly([path])
        if exc.errno in NO_SPACE and not isinstance(exc, DiskFull):
            raise disk_full(exc.errno, size, path) from None
        raise
    except BaseException:
        unlink_quietly([path])
        raise


def commit(renames: list, directory: str) -> None:
    """Rename each ``(temp, final)`` pair, then fsync the directory."""
    for tmp, final in renames:
        os.replace(tmp, final)
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def unlink_quietly(paths) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


@contextmanager
def signals_raise():
    """SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` inside the block (main thread
    only); once one has arrived, the others are ignored until the block has cleaned up."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        for s in HANDLED_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in HANDLED_SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
