"""The docs site stays complete: every public name has a ``:::`` block under docs/api/, and the nav
lists every page. Nothing is built here; ``.ci/run`` runs ``mkdocs build --strict``."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"

# The public areas whose every name the API reference must document.
PUBLIC = ["dotflow", "dotflow.providers", "dotflow.abc", "dotflow.errors", "dotflow.profiles", "dotflow.settings",
          "dotflow.types"]
if importlib.util.find_spec("dotflow.testing") is not None:
    PUBLIC.append("dotflow.testing")

_DIRECTIVE = re.compile(r"^::: *(\S+) *$")
_MEMBERS = re.compile(r"^\s+members:\s*\[([^\]]*)\]\s*$")
_NAV_PAGE = re.compile(r"^\s*-\s*(?:[^:]+:\s*)?([\w./-]+\.md)\s*$")


def _resolve(dotted: str) -> Any:
    """The object a ``::: dotted.path`` block documents: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ModuleNotFoundError(dotted)


def _blocks() -> list[tuple[str, str, list[str] | None]]:
    """``(page, dotted path, members option or None)`` of every ``:::`` block under docs/api/."""
    found = []
    for page in sorted((DOCS / "api").rglob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if not match:
                continue
            members = None
            for option in lines[i + 1 :]:
                if option and not option.startswith(" "):
                    break
                listed = _MEMBERS.match(option)
                if listed:
                    members = [m.strip() for m in listed.group(1).split(",") if m.strip()]
            found.append((page.relative_to(DOCS).as_posix(), match.group(1), members))
    return found


def _documented() -> list[Any]:
    """Every object some block documents; a module block documents its members (or its ``__all__``).
    A block that does not resolve is left to ``test_every_block_names_an_importable_object``."""
    objects = []
    for _, dotted, members in _blocks():
        try:
            target = _resolve(dotted)
        except (ImportError, AttributeError):
            continue
        objects.append(target)
        if isinstance(target, ModuleType):
            names = members if members is not None else getattr(target, "__all__", [])
            objects.extend(getattr(target, name) for name in names)
    return objects


def test_every_block_names_an_importable_object():
    """Each ``::: path`` under docs/api/ resolves, so a renamed module breaks this test before the build."""
    problems = []
    for page, dotted, _ in _blocks():
        try:
            _resolve(dotted)
        except (ImportError, AttributeError) as exc:
            problems.append(f"docs/{page}: ::: {dotted}: {exc}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package", PUBLIC)
def test_every_public_name_has_an_api_block(package):
    """Each name in the area's ``__all__`` is the object of some ``:::`` block under docs/api/."""
    module = importlib.import_module(package)
    documented = _documented()
    missing = [name for name in module.__all__ if not any(getattr(module, name) is obj for obj in documented)]
    assert not missing, f"{package}: no '::: ...' block in docs/api/ documents {missing}"


def _nav_lines() -> list[str]:
    """The lines of mkdocs.yml's ``nav:`` block (up to the next top-level key)."""
    lines = MKDOCS.read_text(encoding="utf-8").splitlines()
    start = lines.index("nav:") + 1
    block = []
    for line in lines[start:]:
        if line and not line[0].isspace() and not line.startswith("#"):
            break
        block.append(line)
    return block


def test_nav_lists_every_page_and_nothing_else():
    """mkdocs.yml's nav names every page under docs/, and only pages that exist."""
    listed = [m.group(1) for line in _nav_lines() if (m := _NAV_PAGE.match(line))]
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(set(listed)) == sorted(listed), "a page is listed twice in the nav"
    unlisted, absent = sorted(set(pages) - set(listed)), sorted(set(listed) - set(pages))
    assert not unlisted and not absent, f"pages not in the nav: {unlisted}; nav entries with no page: {absent}"


# README.md's links within itself, and where the same place is on the docs site
_SITE_LINKS = {"(#reliability)": "(reliability.md)", "(#choosing-an-executor)": "(tour.md#where-steps-run)",
               "(#liveness-and-cancellation)": "(liveness.md)", "(#managed-mode)": "(managed.md)"}


def test_the_site_says_what_changed_as_the_readme_does() -> None:
    """docs/changes.md is the README's "What changed from 1.0.1" section, links pointed at the
    site's pages: the README owns the list, and the site cannot fall behind it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## What changed from 1.0.1"):readme.index("\n## ", readme.index("## What changed"))]
    for own, site in _SITE_LINKS.items():
        section = section.replace(own, site)
    expected = section.replace("## ", "# ", 1).rstrip() + "\n"  # the page's title is the section's heading
    assert (DOCS / "changes.md").read_text(encoding="utf-8") == expected, (
        "docs/changes.md differs from the README's section: copy it over, rewriting the links as _SITE_LINKS does"
    )
