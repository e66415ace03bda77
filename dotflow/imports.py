"""Resolving import strings (``pkg.mod.name`` or ``pkg.mod:name``) given by users: steps,
callbacks, ``--workflow`` factories and provider plug-ins, each failure with its own one line."""

from __future__ import annotations

from typing import Any

from dotflow.errors import DotflowError, StepImportError
from dotflow.interrupts import RunInterrupted, SignalInterrupt
from dotflow.redact import describe

STEP_FORMS = "'package.module.function' or 'package.module:function'"


def import_string(
    spec: str,
    *,
    label: str,
    error: type[DotflowError] = StepImportError,
    colon: bool = False,
    forms: str = STEP_FORMS,
) -> Any:
    """The object ``spec`` names. ``label`` says where the string came from (``step``,
    ``--workflow``, ``storage.provider``); ``colon=True`` accepts only the ``pkg.mod:name``
    form. The string is checked before anything is imported."""
    split = _split(spec, colon)
    if split is None:
        raise error(f"{label} {spec!r} is not an import string; write it as {forms}")
    module_name, attribute = split
    from importlib import import_module

    try:
        target: Any = import_module(module_name)
    except ModuleNotFoundError as exc:
        raise error(
            f"{label} {spec!r}: cannot import {module_name!r}: {describe(exc)}; "
            "check the name and that its folder is on sys.path"
        ) from None
    except (RunInterrupted, SignalInterrupt):  # a signal while the module imported: the command ends
        raise
    except SystemExit as exc:  # a module that "exits" while imported must not end the run silently
        raise error(
            f"{label} {spec!r}: importing {module_name!r} called sys.exit({exc.code!r}); "
            "a module must define things, not exit, when imported"
        ) from None
    except KeyboardInterrupt:
        # not a signal the command caught (that is a SignalInterrupt): the module raised it itself
        raise error(f"{label} {spec!r}: importing {module_name!r} raised KeyboardInterrupt") from None
    except BaseException as exc:  # noqa: BLE001 - GeneratorExit & co. from a module's top level
        raise error(f"{label} {spec!r}: importing {module_name!r} raised {describe(exc)}") from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise error(
                f"{label} {spec!r}: {module_name!r} has no attribute {attribute!r}{_offer(target)}"
            ) from None
    return target


def _offer(owner: Any) -> str:
    """What ``owner`` does have that an import string could name: the public functions and
    classes it defines (a few), so a typo shows its fix."""
    home = getattr(owner, "__name__", None)
    names = sorted(
        name
        for name, value in getattr(owner, "__dict__", {}).items()
        if not name.startswith("_") and callable(value) and getattr(value, "__module__", home) == home
    )
    if not names:
        return "; check the spelling"
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return f"; it has: {shown}"


def is_import_string(spec: str, *, colon: bool = False) -> bool:
    """Whether ``spec`` has the shape ``import_string`` accepts (nothing is imported)."""
    return _split(spec, colon) is not None


def _split(spec: str, colon: bool) -> tuple[str, str] | None:
    text = spec.strip() if isinstance(spec, str) else ""
    if ":" in text:
        module_name, _, attribute = text.partition(":")
    elif colon:
        return None
    else:
        module_name, _, attribute = text.rpartition(".")
    parts = [*module_name.split("."), *attribute.split(".")]
    if not module_name or not attribute or not all(part.isidentifier() for part in parts):
        return None
    return module_name, attribute
