"""Shell-style ``$VAR`` interpolation of string values read from a file."""

from __future__ import annotations

from collections.abc import Mapping

from dotflow.lazy import LazyPattern

_NAME = LazyPattern(r"[A-Za-z_][A-Za-z0-9_]*")
_NAMES_IN = LazyPattern(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_OPERATORS = (":-", ":?", "-", "?")


def interpolate(
    text: str, env: Mapping[str, str], problems: list[str], where: str, used: set[str] | None = None
) -> str | None:
    """Expand ``$NAME``, ``${NAME}``, ``${NAME:-word}``, ``${NAME-word}``, ``${NAME:?msg}``,
    ``${NAME?msg}`` and ``$$`` in ``text``.

    Every failure is appended to ``problems`` as ``<where>: ...`` (``where`` is
    ``file:line [table] key``) so that one error can list them all; the result is then None.
    The messages name variables, never values, and are one line each. ``used`` collects the
    name of every variable ``text`` refers to, even in a default it did not need.
    """
    if "$" not in text:
        return text
    before = len(problems)
    result = _expand(text, env, problems, where, set() if used is None else used)
    return result if len(problems) == before else None


def _expand(text: str, env: Mapping[str, str], problems: list[str], where: str, used: set[str]) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        nxt = text[j + 1 : j + 2]
        if nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "{":
            i = _braced(text, j, env, problems, where, used, out)
        else:
            match = _NAME.match(text, j + 1)
            if match is None:
                problems.append(f"{where}: a '$' at character {j + 1} starts no variable; write '$$' for a literal '$'")
                i = j + 1
                continue
            name = match.group()
            used.add(name)
            value = env.get(name)
            if value is None:
                problems.append(f"{where}: variable {name} is not set")
            else:
                out.append(value)
            i = match.end()
    return "".join(out)


def _braced(
    text: str, start: int, env: Mapping[str, str], problems: list[str], where: str, used: set[str], out: list[str]
) -> int:
    """Expand the ``${...}`` at ``start``; return the index after its closing brace."""
    close = _closing_brace(text, start + 2)
    if close < 0:
        problems.append(f"{where}: the '${{' at character {start + 1} has no closing '}}'")
        return len(text)
    body = text[start + 2 : close]
    match = _NAME.match(body)
    if match is None:
        problems.append(f"{where}: the '${{' at character {start + 1} holds no variable name")
        return close + 1
    name, rest = match.group(), body[match.end() :]
    used.add(name)
    value = env.get(name)
    if not rest:
        if value is None:
            problems.append(f"{where}: variable {name} is not set")
        else:
            out.append(value)
        return close + 1
    operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
    if operator is None:
        problems.append(
            f"{where}: unsupported form after ${{{name}; use ${{{name}}}, ${{{name}:-default}}, "
            f"${{{name}-default}}, ${{{name}:?message}} or ${{{name}?message}}"
        )
        return close + 1
    word = rest[len(operator) :]
    missing = value is None or (operator.startswith(":") and value == "")
    if not missing:
        out.append(value or "")
        if operator.endswith("-") and "$" in word:
            used.update(_NAMES_IN.findall(word))  # the default's variables are the user's too
    elif operator.endswith("-"):
        out.append(_expand(word, env, problems, where, used))
    else:
        state = "is not set" if value is None else "is not set or is empty"
        message = " ".join(word.split())  # a message written over several lines stays one line
        problems.append(f"{where}: variable {name} {state}" + (f": {message}" if message else ""))
    return close + 1


def _closing_brace(text: str, i: int) -> int:
    """Index of the ``}`` that closes a ``${`` whose body starts at ``i``, allowing nested ``${...}``."""
    depth, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "$" and text.startswith("$$", i):
            i += 2
            continue
        if c == "$" and text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1
