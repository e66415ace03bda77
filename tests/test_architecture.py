"""The package's structure holds: no import cycle, no reading of another object's private state,
and one owner of signals and the interpreter-exit hook. The layers themselves are an import-linter
contract (``[tool.importlinter]`` in pyproject.toml) that ``.ci/run`` checks with ``lint-imports``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dotflow"
# a named tuple's public API, underscored only to keep clear of its field names
NAMEDTUPLE_API = frozenset({"_asdict", "_field_defaults", "_fields", "_make", "_replace"})

# The reads of another object's private attribute that stay, each with its reason: a documented
# function of the standard library whose name starts with "_", or a third-party attribute that no
# public one replaces. Nothing of dotflow's own is in this list.
ALLOWED_PRIVATE = {
    ("interrupts.py", "os._exit"): "ends the process without waiting for worker threads (documented)",
    ("execution/executors/zygote.py", "os._exit"): "a forked worker ends without running the parent's exit hooks",
    ("execution/executors/process.py", "subprocess._args_from_interpreter_flags"):
        "the helper interpreter gets the driver's -X and -W flags, as multiprocessing does",
    ("execution/executors/futures.py", "getattr(executor, '_max_workers', None)"):
        "concurrent.futures pools expose their size only there",
    ("providers/notify_apprise.py", "getattr(service, '_last_io_datetime', None)"):
        "apprise records when a service last sent only there",
    ("execution/executors/dask.py", "executor._client"): "distributed's ClientExecutor names its Client only there",
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, imports inside functions included, but not what ``if TYPE_CHECKING:`` guards."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for other in node.orelse:
                yield other
                yield from _walk(other)
            continue
        yield node
        yield from _walk(node)


def _facades(modules: dict[str, Path]) -> dict[tuple[str, str], str]:
    """A lazy package's names (loaded by its ``__getattr__``) and the module each really comes from,
    as its TYPE_CHECKING imports say: importing the name imports that module."""
    found = {}
    for name, path in modules.items():
        if path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.If) and _is_type_checking(node):
                for inner in node.body:
                    if isinstance(inner, ast.ImportFrom) and inner.module:
                        for alias in inner.names:
                            found[(name, alias.asname or alias.name)] = inner.module
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    facades = _facades(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}

    def known(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [known(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.append(full if full in modules else known(facades.get((base, alias.name), base)))
            graph[name].update(t for t in targets if t and t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _private_reads() -> list[tuple[str, int, str]]:
    """``x._name`` and ``getattr(x, "_name")`` where ``x`` is not ``self`` or ``cls``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        for node in _walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                name, owner = node.attr, node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
            elif (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
            ):
                name = node.args[1].value
            else:
                continue
            if name.startswith("_") and not name.startswith("__") and name not in NAMEDTUPLE_API:
                found.append((where, node.lineno, ast.unparse(node)))
    return found


def test_the_import_graph_has_no_cycle() -> None:
    """No module imports, directly or through others, a module that imports it (imports inside
    functions counted, TYPE_CHECKING ones not, a lazy package's names followed to their module)."""
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a two-module and a three-module cycle are both found."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(_cycles(graph)) == [["a", "b"], ["c", "d", "e"]]


def test_no_module_reads_another_objects_private_attributes() -> None:
    """Every object's private state is its own: no ``other._x`` outside the listed exceptions."""
    reads = _private_reads()
    found = [(where, code) for where, _, code in reads]
    unexplained = [(where, line, code) for where, line, code in reads if (where, code) not in ALLOWED_PRIVATE]
    assert unexplained == []
    assert len(found) <= 10
    stale = [key for key in ALLOWED_PRIVATE if key not in found]
    assert stale == [], "an allowed private read no longer exists: drop it from ALLOWED_PRIVATE"


def test_only_the_interrupts_module_installs_signal_handlers_and_exit_hooks() -> None:
    """Signals, the interpreter-exit hook and ending the process belong to dotflow/interrupts.py
    (the process executor's forked helper, a separate process, aside)."""
    owners: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        for node in _walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                call = ast.unparse(node.func)
                if call in ("signal.signal", "atexit.register", "os._exit", "threading._register_atexit"):
                    owners.setdefault(call, set()).add(where)
    assert owners == {
        "signal.signal": {"interrupts.py", "execution/executors/zygote.py"},
        "atexit.register": {"interrupts.py"},
        "os._exit": {"interrupts.py", "execution/executors/zygote.py"},
    }
