"""The environment layer: ``DOTFLOW_<SECTION>_<KEY>`` and the managed runner's variable names."""

from __future__ import annotations

from collections.abc import Mapping, Set

from dotflow.errors import ConfigError
from dotflow.profiles.discover import ALIASES, ENV_PREFIX
from dotflow.profiles.schema import KEYS
from dotflow.profiles.setting import Layer, Problems, Setting, put
from dotflow.text import did_you_mean

# DOTFLOW_* variables that select rather than set a value.
CONTROL = ("DOTFLOW_CONFIG", "DOTFLOW_PROFILE")
KNOWN = frozenset([key.env for key in KEYS] + list(CONTROL))


def env_layer(env: Mapping[str, str], problems: Problems) -> Layer:
    """Read every key's variable from ``env``. An empty variable counts as unset, and the
    ``DOTFLOW_`` spelling wins over ``SERVER_BASE_URL``, ``SERVER_USER_TOKEN`` and ``WORKFLOW_ID``.
    A bad value is appended to ``problems``, naming the variable."""
    layer: Layer = {}
    for key in KEYS:
        name = key.env
        raw = env.get(name)
        if not raw:
            alias = ALIASES.get(key.dotted)
            if alias is None:
                continue
            name, raw = alias, env.get(alias)
            if not raw:
                continue
        try:
            value = key.convert(raw, name)
        except ConfigError as exc:
            problems.append((key.dotted, str(exc)))
            continue
        put(layer, key.dotted, Setting(value, f"env:{name}", key.secret))
    return layer


def unknown_variables(env: Mapping[str, str], interpolated: Set[str] = frozenset()) -> list[str]:
    """One warning for each set ``DOTFLOW_*`` variable that maps to no key, with a did-you-mean.

    A variable in ``interpolated`` (one that a file in use refers to) is the user's own, so it
    gets no warning."""
    warnings = []
    for name in sorted(name for name in env if name.startswith(ENV_PREFIX)):
        if name not in KNOWN and name not in interpolated and env.get(name):
            hint = did_you_mean(name, KNOWN, quote=False)
            warnings.append(f"{name} is not a dotflow setting and is ignored{hint}")
    return warnings
