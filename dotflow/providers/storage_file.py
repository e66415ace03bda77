"""StorageFile: one JSON file per result, written atomically under a folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import DotflowError
from dotflow.providers._codec import decode, encode, safe_name

_MAX_NAME = 200  # characters of one file name before ".json"; all ASCII after safe_name


class StorageFile(Storage):
    """Writes ``<path>/<key>.json``. Writes are atomic (temp file, then rename), and no
    key can name a file outside ``path``."""

    def __init__(self, path: str | os.PathLike[str] = ".output") -> None:
        self.path = Path(path)

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
        self.path.mkdir(parents=True, exist_ok=True)
        target = self._file(key)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def get(self, key: str) -> Context:
        try:
            data = self._file(key).read_bytes()
        except FileNotFoundError:
            return Context()
        try:
            return decode(data)
        except ValueError as exc:
            raise DotflowError(
                f"{self._file(key)}: stored result is not valid JSON ({exc}); delete the file to run that step again"
            ) from None

    def __repr__(self) -> str:
        return f"StorageFile(path={str(self.path)!r})"
