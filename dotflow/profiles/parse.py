"""Read one TOML file into a Document: its data plus the line where every key and table is written."""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from typing import Any

from dotflow.errors import ConfigError
from dotflow.fileio import FileTooLargeError, NotRegularFileError, describe_size, read_regular
from dotflow.lazy import LazyPattern

MAX_BYTES = 1 << 20  # the most read of a dotflow.toml or pyproject.toml: a bigger one is a mistake, not settings
_BARE = LazyPattern(r"[A-Za-z0-9_-]+")
_AT = LazyPattern(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = LazyPattern(r"\s*\(at end of document\)\s*$")
# A pyproject.toml is parsed only when it looks like it writes [tool.dotflow], so a broken
# pyproject.toml that is not about dotflow never stops a run.
_MENTIONS_TOOL_DOTFLOW = LazyPattern(
    r"""^[ \t]*(?:\[[ \t]*tool[ \t]*\.[ \t]*["']?dotflow["']?[ \t]*[\].]"""
    r"""|(?:tool[ \t]*\.[ \t]*)?["']?dotflow["']?[ \t]*[.=])""",
    re.MULTILINE,
)


class Document:
    """The dotflow part of one file. ``prefix`` is ``("tool", "dotflow")`` for a pyproject.toml."""

    __slots__ = ("data", "lines", "path", "prefix")

    def __init__(
        self,
        path: str,
        data: dict[str, Any],
        lines: dict[tuple[str, ...], int] | None = None,
        prefix: tuple[str, ...] = (),
    ) -> None:
        self.path = path
        self.data = data
        self.lines = lines or {}
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"Document({self.path!r})"

    def line(self, *keys: str) -> int:
        """The line of ``keys`` (or of the nearest table holding them); 1 when unknown."""
        path = self.prefix + keys
        while path:
            found = self.lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return 1

    def where(self, *keys: str) -> str:
        """``/abs/dotflow.toml:7``."""
        return f"{self.path}:{self.line(*keys)}"

    def table(self, *keys: str) -> str:
        """The table header as the user wrote it: ``[profiles.prod.storage]``."""
        return "[" + dotted(self.prefix + keys) + "]"


def dotted(keys: tuple[str, ...]) -> str:
    """Join keys the way TOML writes them, quoting any key that is not bare."""
    return ".".join(k if _BARE.fullmatch(k) else _quote(k) for k in keys)


def _quote(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read(path: str, pyproject: bool = False) -> Document | None:
    """Parse ``path``. For a pyproject.toml, return None when it has no ``[tool.dotflow]`` table."""
    try:
        raw = read_regular(path, limit=MAX_BYTES)
    except NotRegularFileError as exc:  # a FIFO would block for ever, a device may never end
        raise ConfigError(
            f"{path}: it is {exc.kind}, not a settings file; make it a regular file, or remove it"
        ) from None
    except FileTooLargeError:
        raise ConfigError(
            f"{path}: the file is larger than {describe_size(MAX_BYTES)}, the most dotflow reads of a settings "
            "file; keep it to its settings"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(f"{path}:{line}:{col}: the file is not valid UTF-8") from None
    if pyproject and not _MENTIONS_TOOL_DOTFLOW.search(text):
        return None
    data = loads(text, path)
    if pyproject:
        tool = data.get("tool")
        section = tool.get("dotflow") if isinstance(tool, dict) else None
        if section is None:
            return None
        if not isinstance(section, dict):
            lines = key_lines(text)
            raise ConfigError(f"{path}:{lines.get(('tool', 'dotflow'), 1)}: [tool.dotflow] must be a table")
        return Document(path, section, key_lines(text), ("tool", "dotflow"))
    return Document(path, data, key_lines(text))


def loads(text: str, path: str) -> dict[str, Any]:
    """``tomllib.loads`` with every failure turned into ``path:line:col: message``."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(getattr(exc, "msg", None) or (exc.args[0] if exc.args else exc))
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        at = _AT.search(message)
        if at:
            line, col = int(at.group(1)), int(at.group(2))
            message = message[: at.start()]
        elif _AT_END.search(message):
            message = _AT_END.sub("", message)
            line = text.count("\n") + 1
            col = len(text) - (text.rfind("\n") + 1) + 1
        message = " ".join(message.split()) or "invalid TOML"
        raise ConfigError(f"{path}:{line or 1}:{col or 1}: invalid TOML: {message}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: values are nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - the parser's own failures on odd input, e.g. a bad date
        raise ConfigError(f"{path}: invalid TOML: {type(exc).__name__}: {exc}".replace("\n", " ")) from None


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every key path (and each of its prefixes) to the 1-based line that first writes it.

    tomllib reports no positions, so this is a light scan of text that tomllib has already
    accepted. It is best effort: anything it cannot follow is simply left out.
    """
    scanner = _Scanner(text)
    try:
        scanner.run()
    except (RecursionError, IndexError, ValueError):
        pass
    return scanner.lines


class _Scanner:
    """A small hand-written pass over TOML text that notes where keys start."""

    def __init__(self, text: str) -> None:
        self.t = text
        self.i = 0
        self.n = len(text)
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.lines: dict[tuple[str, ...], int] = {}

    def line_at(self, pos: int) -> int:
        return bisect_left(self.newlines, pos) + 1

    def record(self, path: tuple[str, ...], pos: int) -> None:
        line = self.line_at(pos)
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], line)

    def run(self) -> None:
        t = self.t
        table: tuple[str, ...] = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= self.n:
                return
            start = self.i
            if t[start] == "[":
                double = t.startswith("[[", start)
                self.i += 2 if double else 1
                path = self.read_key()
                if path:
                    table = path
                    self.record(path, start)
            else:
                path = self.read_key()
                self.skip_blank()
                if path and self.i < self.n and t[self.i] == "=":
                    self.i += 1
                    self.record(table + path, start)
                    self.skip_blank()
                    self.read_value(table + path, True)
            self.skip_line()
            if self.i <= start:
                self.i = start + 1

    def skip_blank(self, newlines: bool = False) -> None:
        t, n = self.t, self.n
        while self.i < n:
            c = t[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#" and newlines:
                self.skip_line()
            else:
                return

    def skip_line(self) -> None:
        end = self.t.find("\n", self.i)
        self.i = self.n if end < 0 else end + 1

    def read_key(self) -> tuple[str, ...]:
        t, parts = self.t, []
        while self.i < self.n:
            self.skip_blank()
            if self.i >= self.n:
                break
            c = t[self.i]
            if c == '"':
                start = self.i
                self.skip_basic()
                parts.append(_decode_basic(t[start : self.i]))
            elif c == "'":
                end = t.find("'", self.i + 1)
                if end < 0:
                    break
                parts.append(t[self.i + 1 : end])
                self.i = end + 1
            else:
                match = _BARE.match(t, self.i)
                if not match:
                    break
                parts.append(match.group())
                self.i = match.end()
            self.skip_blank()
            if self.i < self.n and t[self.i] == ".":
                self.i += 1
                continue
            break
        return tuple(parts)

    def skip_basic(self) -> None:
        t, i = self.t, self.i + 1
        while i < self.n and t[i] not in '"\n':
            i += 2 if t[i] == "\\" else 1
        self.i = i + 1

    def read_value(self, path: tuple[str, ...], record: bool) -> None:
        t = self.t
        if self.i >= self.n:
            return
        c = t[self.i]
        if t.startswith('"""', self.i):
            i = self.i + 3
            while i < self.n and not t.startswith('"""', i):
                i += 2 if t[i] == "\\" else 1
            self.i = _past_quotes(t, i, '"')
        elif t.startswith("'''", self.i):
            end = t.find("'''", self.i + 3)
            self.i = self.n if end < 0 else _past_quotes(t, end, "'")
        elif c == '"':
            self.skip_basic()
        elif c == "'":
            end = t.find("'", self.i + 1)
            self.i = self.n if end < 0 else end + 1
        elif c == "[":
            self.i += 1
            self.read_items("]", path, record=False)
        elif c == "{":
            self.i += 1
            self.read_items("}", path, record=record)
        else:
            while self.i < self.n and t[self.i] not in ",]}#\n":
                self.i += 1

    def read_items(self, close: str, path: tuple[str, ...], record: bool) -> None:
        """The items of an array (``]``) or of an inline table (``}``, recording its keys)."""
        t = self.t
        while self.i < self.n:
            self.skip_blank(newlines=True)
            if self.i >= self.n:
                return
            if t[self.i] == close:
                self.i += 1
                return
            start = self.i
            if close == "}":
                key = self.read_key()
                self.skip_blank()
                if self.i < self.n and t[self.i] == "=":
                    self.i += 1
                if record and key:
                    self.record(path + key, start)
                self.skip_blank()
                self.read_value(path + key, record)
            else:
                self.read_value(path, False)
            self.skip_blank(newlines=True)
            if self.i < self.n and t[self.i] == ",":
                self.i += 1
            if self.i <= start:
                self.i = start + 1


def _past_quotes(text: str, i: int, quote: str) -> int:
    """Index after a closing triple quote at ``i``, which may carry up to two more quotes."""
    i += 3
    extra = 0
    while extra < 2 and i < len(text) and text[i] == quote:
        i += 1
        extra += 1
    return i


def _decode_basic(quoted: str) -> str:
    body = quoted[1:-1] if len(quoted) >= 2 and quoted.endswith('"') else quoted[1:]
    if "\\" not in body:
        return body
    try:
        value = loads(f"k = {quoted}", "<key>")["k"]
    except ConfigError:
        return body
    return value if isinstance(value, str) else body
