"""StorageFile: one JSON file per result, written atomically under a folder."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import DotflowError
from dotflow.providers._codec import decode, encode, safe_name

_MAX_NAME = 200  # characters of one file name before ".json"; all ASCII after safe_name
_UMASK_LOCK = threading.Lock()


class StorageFile(Storage):
    """Writes ``<path>/<key>.json``. Writes are atomic (temp file, then rename), and no
    key can name a file outside ``path``. Files get the mode any new file of the process
    gets (``0o666`` minus the umask). A ``path`` that cannot be used (a file, no permission)
    raises a one-line DotflowError naming it."""

    def __init__(self, path: str | os.PathLike[str] = ".output") -> None:
        self.path = Path(path).expanduser()
        self._mode: int | None = None  # read from the umask at the first write

    def _file(self, key: str) -> Path:
        name = safe_name(key)
        if len(name) > _MAX_NAME:
            # File names stop at 255 bytes (percent-encoding triples non-ASCII ids). Keep a
            # readable head plus a hash of the whole key; "~" never appears in safe_name's
            # output, so a shortened name cannot collide with a short one.
            from hashlib import sha256

            name = f"{name[:150]}~{sha256(str(key).encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"
        return self.path / f"{name}.json"

    def post(self, key: str, context: Context) -> None:
        data = encode(context)
        target = self._file(key)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
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

    def get(self, key: str) -> Context:
        file = self._file(key)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return Context()
        except OSError as exc:
            raise self._error("read", file, exc) from None
        try:
            return decode(data)
        except ValueError as exc:
            raise DotflowError(
                f"{file}: stored result is not valid JSON ({exc}); delete the file to run that step again"
            ) from None

    def exists(self, key: str) -> bool:
        file = self._file(key)
        try:
            file.stat()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._error("check", file, exc) from None
        return True

    def delete(self, key: str) -> None:
        file = self._file(key)
        try:
            file.unlink(missing_ok=True)
        except OSError as exc:
            raise self._error("delete", file, exc) from None

    def _file_mode(self) -> int:
        if self._mode is None:
            self._mode = 0o666 & ~_umask()
        return self._mode

    def _error(self, action: str, file: Path, exc: OSError) -> DotflowError:
        from dotflow.redact import describe

        return DotflowError(
            f"StorageFile(path={str(self.path)!r}): cannot {action} {file}: {describe(exc)}; "
            f"make {self.path} a folder this process may read and write, or give StorageFile another path"
        )

    def __repr__(self) -> str:
        return f"StorageFile(path={str(self.path)!r})"


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
