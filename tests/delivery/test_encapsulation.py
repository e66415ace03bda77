"""Delivery and the remote providers over it keep to each object's public surface: no ``obj._x``
reads or writes another object's private attribute (``self._x`` and ``cls._x`` are the owner's own;
a named tuple's ``_asdict``, ``_fields`` and the like are its public API, underscored only to keep
clear of field names)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent / "dotflow"
MODULES = sorted(
    [
        *(ROOT / "delivery").glob("*.py"),
        *(ROOT / "providers" / "server_api").glob("*.py"),
        ROOT / "providers" / "_notify.py",
        *(ROOT / "providers").glob("notify_*.py"),
        ROOT / "providers" / "log_opentelemetry.py",
    ]
)
NAMEDTUPLE_API = frozenset({"_asdict", "_field_defaults", "_fields", "_make", "_replace"})


def _private_accesses(source: str) -> list[str]:
    """``line: expression`` of each private attribute reached through anything but ``self`` or ``cls``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        if node.attr in NAMEDTUPLE_API:
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_sees_a_private_access() -> None:
    """The scan flags ``other._x`` and ``self._a._b``, and leaves ``self._x``, dunders and ``_asdict()`` alone."""
    source = "def f(self, other):\n other._x\n self._a._b\n self._y\n other.__class__\n other._asdict()\n"
    assert _private_accesses(source) == ["2: other._x", "3: self._a._b"]


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_reaches_into_another_objects_private_attributes(path: Path) -> None:
    """Each module of the area uses only its own objects' private attributes."""
    assert _private_accesses(path.read_text(encoding="utf-8")) == []
