"""StorageFile: one JSON file per result, written atomically under a folder."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import StorageError
from dotflow.fileio import NotRegularFileError, kind_of, make_folders, read_regular
from dotflow.providers._codec import (
    Entry,
    check_prefix,
    decode_entry,
    decode_legacy,
    encode,
    expires_at_of,
    expiry,
    is_flat,
    key_of,
    loads,
    safe_name,
)

try:  # POSIX: a lock every process sees; elsewhere the lock holds between threads only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_MAX_NAME = 200  # characters of one file name before ".json"; all ASCII after safe_name
_NAME_MAX = 255  # bytes of a file name on the usual file systems (NAME_MAX)
_HEAD = 64  # bytes read to learn a document's expiry: encode() writes "expires_at" first
_LOCK_NAME = ".dotflow.lock"
_LOCK_TIMEOUT = 10.0  # seconds a writer waits for another process's write before giving up
_LEGACY = "tasks"  # dotflow 1.0.1 kept its files in <path>/tasks/
_OURS, _OLD = "ours", "1.0.1"
_UMASK_LOCK = threading.Lock()


class StorageFile(Storage):
    """Writes ``<path>/<key>.json``. Writes are atomic (temp file, then rename), and no
    key can name a file outside ``path``. Files get the mode any new file of the process
    gets (``0o666`` minus the umask). A ``path`` that cannot be used (a file, no permission)
    raises a one-line StorageError naming it.

    Writes (``post``, ``delete``, ``delete_prefix``, ``atomic_swap``) hold an exclusive lock on
    ``<path>/.dotflow.lock`` (``flock``, so across processes on POSIX; between threads only on
    Windows and where the file system ignores ``flock``, as some network mounts do), so
    ``atomic_swap`` is a true compare-and-swap against every other writer. Reads take no lock.
    An entry posted with ``ttl`` reads as missing once expired, and stays on disk until it
    is overwritten or deleted.

    Checkpoints written by dotflow 1.0.1 under ``<path>/tasks/`` stay readable: when a key has
    no file here, ``get``, ``exists`` and ``list_keys`` look there, and ``delete``,
    ``delete_prefix`` and ``clear`` remove those files too. Nothing is written there.
    """

    def __init__(self, path: str | os.PathLike[str] = ".output") -> None:
        self.path = Path(path).expanduser()
        self._mode: int | None = None  # read from the umask at the first write
        self._lock = threading.RLock()

    def check(self) -> None:
        """Raise now the one-line StorageError that the first read or write would raise for a
        ``path`` that cannot hold the files: one that is not a folder (a file, ``/dev/null``), lies
        under a file, or is too long for the file system. A folder not made yet is fine.
        ``dotflow start`` calls it before the run's tasks are announced."""
        path = os.fspath(self.path)
        longest = len(os.fsencode(path)) + len(f"/{_LEGACY}/") + _NAME_MAX  # the longest name used in it
        if longest >= _path_max():
            raise StorageError(
                f"StorageFile(path={_shown(path)!r}): the path is {len(path)} characters long, too long for the "
                f"file system to hold files under it ({_path_max()} bytes with their names); give a shorter path"
            )
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            return  # made at the first write
        except OSError as exc:
            raise self._error("use", self.path, exc) from None
        if not stat.S_ISDIR(mode):
            raise StorageError(
                f"StorageFile(path={_shown(path)!r}): it is {kind_of(mode) or 'a file'}, not a folder; give the "
                "folder to keep the results in"
            )

    # --- the contract -------------------------------------------------------------------------

    def post(self, key: str, context: Context, ttl: int | float | None = None, fingerprint: str | None = None) -> None:
        target, hashed = self._file(key)
        data = encode(context, expiry(ttl), fingerprint, key if hashed else None, stored_as=key)
        with self._exclusive("write", target):
            self._write(target, data)

    def get(self, key: str) -> Context:
        found = self._load(key)
        return found if found is not None else Context()

    def exists(self, key: str) -> bool:
        file, _ = self._file(key)
        head = self._read(file, _HEAD)
        if head is not None:
            expires_at = expires_at_of(head)
            return expires_at is None or time.time() < expires_at
        legacy = self._load_legacy(key)
        # 1.0.1 stored "null" for a failed task as for a step that returned None, and ran
        # both again; so a null there does not count as a stored result
        return legacy is not None and legacy.storage is not None

    def delete(self, key: str) -> bool:
        file, _ = self._file(key)
        if not os.path.lexists(self.path):
            return False  # nothing stored, and no folder made just to find that out
        with self._exclusive("delete", file):
            found = self._unlink(file)
            for legacy in self._legacy_files(key):
                found = self._unlink(legacy, legacy=True) or found
                self._unlink(_meta(legacy), legacy=True)
        return found

    def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix, "StorageFile")
        if not os.path.lexists(self.path):
            return 0
        removed = 0
        with self._exclusive("delete", self.path):
            for files in self._scan(prefix).values():
                gone = False
                for file, kind in files:
                    gone = self._unlink(file, legacy=kind == _OLD) or gone
                    if kind == _OLD:
                        self._unlink(_meta(file), legacy=True)
                removed += gone
        return removed

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(key for key, files in self._scan(prefix).items() if self._live(files))

    def atomic_swap(
        self,
        key: str,
        expected: Any,
        new: Any,
        ttl: int | float | None = None,
        fingerprint: str | None = None,
    ) -> bool:
        target, hashed = self._file(key)
        expires_at = expiry(ttl)
        payload = new if isinstance(new, Context) else Context(new)
        with self._exclusive("write", target):
            current = self._load(key)
            if (current.storage if current is not None else None) != expected:
                return False
            self._write(target, encode(payload, expires_at, fingerprint, key if hashed else None, stored_as=key))
        return True

    # --- names ----------------------------------------------------------------------------------

    def _file(self, key: str) -> tuple[Path, bool]:
        """The file of ``key`` and whether its name is shortened (then the file records the key)."""
        name = safe_name(key)
        if len(name) <= _MAX_NAME:
            return self.path / f"{name}.json", False
        # File names stop at 255 bytes (percent-encoding triples non-ASCII ids). Keep a
        # readable head plus a hash of the whole key; "~" never appears in safe_name's
        # output, so a shortened name cannot collide with a short one.
        from hashlib import sha256

        digest = sha256(str(key).encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.path / f"{name[:150]}~{digest}.json", True

    def _legacy_files(self, key: str) -> list[Path]:
        """Where 1.0.1 kept ``key``: ``tasks/<key>`` (its own keys, e.g. ``<wf>-_input_fp``),
        then ``tasks/<key>.json`` (1.0.1's key for a task was ``<wf>-<task_id>.json``). Its ``.meta``
        sidecars are not keys, as in 1.0.1's ``list_keys``."""
        if not is_flat(key) or key.endswith(".meta"):
            return []
        folder = self.path / _LEGACY
        # a name longer than a file name may be was never written by 1.0.1, and asking for it fails
        return [folder / name for name in (key, f"{key}.json") if len(name) <= _NAME_MAX]

    def _scan(self, prefix: str) -> dict[str, list[tuple[Path, str]]]:
        """Every file that holds a key starting with ``prefix``: ours first, then 1.0.1's."""
        found: dict[str, list[tuple[Path, str]]] = {}
        for entry in self._entries(self.path, legacy=False):
            name = entry.name
            if not name.endswith(".json") or name.startswith("."):
                continue
            stem = name[: -len(".json")]
            key = self._stored_key(entry.path) if "~" in stem else key_of(stem)
            if key is not None and key.startswith(prefix):
                found.setdefault(key, []).append((Path(entry.path), _OURS))
        for entry in self._entries(self.path / _LEGACY, legacy=True):
            name = entry.name
            if name.endswith(".meta") or name.startswith("."):
                continue
            key = name[: -len(".json")] if name.endswith(".json") else name
            if is_flat(key) and key.startswith(prefix):
                found.setdefault(key, []).append((Path(entry.path), _OLD))
        return found

    def _entries(self, folder: Path, legacy: bool) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as listing:
                return [entry for entry in listing if entry.is_file()]
        except (FileNotFoundError, NotADirectoryError) as exc:
            if legacy or isinstance(exc, FileNotFoundError):
                return []
            raise self._error("list", folder, exc) from None
        except OSError as exc:
            raise self._error("list", folder, exc) from None

    def _stored_key(self, file: str | os.PathLike[str]) -> str | None:
        """The key a shortened file name stands for, as recorded in the file."""
        data = self._read(Path(file))
        if data is None:
            return None
        try:
            return decode_entry(data).key
        except ValueError:
            return None

    # --- reading --------------------------------------------------------------------------------

    def _load(self, key: str) -> Context | None:
        """The live Context under ``key`` (ours, else 1.0.1's), or None."""
        file, _ = self._file(key)
        data = self._read(file)
        if data is not None:
            entry = self._decode(file, data)
            return None if entry.expired() else entry.context
        return self._load_legacy(key)

    def _load_legacy(self, key: str) -> Context | None:
        for file in self._legacy_files(key):
            data = self._read(file, legacy=True)
            if data is not None:
                return None if _legacy_expired(file) else decode_legacy(data)
        return None

    def _live(self, files: list[tuple[Path, str]]) -> bool:
        """Whether a key with these files reads as present: our file decides when there is one."""
        ours = [file for file, kind in files if kind == _OURS]
        if ours:
            head = self._read(ours[0], _HEAD)
            expires_at = expires_at_of(head) if head is not None else None
            return head is not None and (expires_at is None or time.time() < expires_at)
        return any(not _legacy_expired(file) for file, _ in files)

    def _read(self, file: Path, size: int = -1, legacy: bool = False) -> bytes | None:
        """The bytes of ``file`` (the first ``size`` when given), or None when it does not exist.
        Only a regular file is opened: a FIFO there would block the run for ever."""
        try:
            return read_regular(file, size)
        except FileNotFoundError:
            return None
        except (NotADirectoryError, IsADirectoryError, NotRegularFileError) as exc:
            if legacy:
                return None  # 1.0.1 never wrote it: not one of its checkpoints
            if isinstance(exc, NotRegularFileError):
                raise StorageError(
                    f"{self!r}: {file} is {exc.kind}, not a stored result; remove it (dotflow writes regular "
                    "files only)"
                ) from None
            raise self._error("read", file, exc) from None
        except OSError as exc:
            raise self._error("read", file, exc) from None

    def _decode(self, file: Path, data: bytes) -> Entry:
        try:
            return decode_entry(data)
        except ValueError as exc:
            raise StorageError(
                f"{file}: stored result is not valid JSON ({exc}); delete the file to run that step again"
            ) from None

    # --- writing --------------------------------------------------------------------------------

    @contextmanager
    def _exclusive(self, action: str, file: Path) -> Iterator[None]:
        """Hold this folder's write lock: a thread lock, plus ``flock`` where there is one."""
        with self._lock:
            try:
                make_folders(self.path)
                handle = (
                    os.open(self.path / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666) if fcntl is not None else None
                )
            except OSError as exc:
                raise self._error(action, file, exc) from None
            try:
                if handle is not None:
                    self._flock(handle)
                yield
            finally:
                if handle is not None:
                    os.close(handle)  # releases the flock

    def _flock(self, handle: int) -> None:
        deadline = time.monotonic() + _LOCK_TIMEOUT
        delay = 0.001
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StorageError(
                        f"StorageFile(path={str(self.path)!r}): {self.path / _LOCK_NAME} stayed locked by another "
                        f"process for {_LOCK_TIMEOUT:g} s; check for a stuck dotflow process writing to this folder"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
            except OSError as exc:
                raise self._error("lock", self.path / _LOCK_NAME, exc) from None

    def _write(self, target: Path, data: bytes) -> None:
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".json")
        except OSError as exc:
            raise self._error("write", target, exc) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                if hasattr(os, "fchmod"):  # mkstemp makes 0600; give the file the usual mode
                    os.fchmod(handle.fileno(), self._file_mode())
                handle.write(data)
            os.replace(tmp, target)
        except BaseException as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(exc, OSError):
                raise self._error("write", target, exc) from None
            raise

    def _unlink(self, file: Path, legacy: bool = False) -> bool:
        try:
            file.unlink()
        except FileNotFoundError:
            return False
        except (NotADirectoryError, IsADirectoryError) as exc:
            if legacy:
                return False
            raise self._error("delete", file, exc) from None
        except OSError as exc:
            raise self._error("delete", file, exc) from None
        return True

    def _file_mode(self) -> int:
        if self._mode is None:
            self._mode = 0o666 & ~_umask()
        return self._mode

    def _error(self, action: str, file: Path, exc: OSError) -> StorageError:
        from dotflow.redact import describe

        return StorageError(
            f"StorageFile(path={str(self.path)!r}): cannot {action} {file}: {describe(exc)}; "
            f"make {self.path} a folder this process may read and write, or give StorageFile another path"
        )

    def __repr__(self) -> str:
        return f"StorageFile(path={str(self.path)!r})"


def _shown(path: str) -> str:
    """``path`` as an error shows it: whole, or its ends around the count of what was left out."""
    if len(path) <= 120:
        return path
    return f"{path[:60]}...({len(path) - 90} characters)...{path[-30:]}"


def _path_max() -> int:
    try:
        return int(os.pathconf("/", "PC_PATH_MAX"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - no pathconf (Windows)
        return 4096


def _meta(file: Path) -> Path:
    """1.0.1's sidecar of ``file``, holding its ``ttl`` as ``{"expires_at": <epoch>}``."""
    return file.with_name(f"{file.name}.meta")


def _legacy_expired(file: Path) -> bool:
    try:
        meta = loads(read_regular(_meta(file)))
        expires_at = meta.get("expires_at") if isinstance(meta, dict) else None
        return isinstance(expires_at, (int, float)) and time.time() >= expires_at
    except (OSError, ValueError):
        return False


def _umask() -> int:
    """The process umask. Linux shows it in /proc; elsewhere it can only be read by setting
    it, so set-and-restore under a lock (other threads creating files in that instant would
    still see the temporary value, which is why /proc comes first)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        current = os.umask(0o077)  # the safe side for a file created in this instant
        os.umask(current)
    return current
