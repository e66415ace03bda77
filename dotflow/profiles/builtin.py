"""The built-in profiles, ``default`` and ``managed``, and what ``managed`` requires."""

from __future__ import annotations

from collections.abc import Callable

from dotflow.errors import ConfigError
from dotflow.profiles.setting import Layer, Setting

DEFAULT = "default"
MANAGED = "managed"

# Values each built-in profile sets over the defaults.
VALUES: dict[str, dict[str, dict[str, object]]] = {
    DEFAULT: {},
    MANAGED: {"server": {"provider": "api"}},
}

# Keys that must be set after resolution, with the variable a managed runner sets them with.
REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    MANAGED: (
        ("server.base_url", "SERVER_BASE_URL"),
        ("server.user_token", "SERVER_USER_TOKEN"),
        ("workflow.id", "WORKFLOW_ID"),
    ),
}


def builtin_layer(name: str) -> Layer:
    """The values of built-in profile ``name`` (nothing for a profile that is not built in)."""
    source = f"profile:{name}"
    return {
        section: {key: Setting(value, source, False) for key, value in values.items()}
        for section, values in VALUES.get(name, {}).items()
    }


def check_required(
    name: str, selected_by: str, values: dict[str, Setting], asked: Callable[[str], bool] = lambda dotted: True
) -> None:
    """Raise one ConfigError naming every required key of profile ``name`` left unset (of those
    ``asked`` says the caller reads)."""
    missing = [
        f"{dotted} (set {variable})"
        for dotted, variable in REQUIRED.get(name, ())
        if asked(dotted) and values[dotted].value is None
    ]
    if missing:
        why = f" (selected by {selected_by})" if selected_by != "flag" else ""
        them = "them" if len(missing) > 1 else "it"
        raise ConfigError(
            f"profile {name!r}{why} needs {', '.join(missing)}; set {them}, or pass --profile {DEFAULT} to opt out"
        )
