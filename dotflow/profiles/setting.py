"""Setting: one resolved value with the source it came from. Layers are nested dicts of them."""

from __future__ import annotations

from typing import Any

from dotflow.redact import mask_credentials as mask

# section -> key -> Setting, the plain nested dict every layer returns.
Layer = dict[str, dict[str, "Setting"]]
# (dotted key, one-line message) for each mistake a layer finds; the key is "" when the mistake
# belongs to no key. A mistake about a key that a later layer sets is dropped: that value is not used.
Problems = list[tuple[str, str]]


class Setting:
    """A value and where it came from: ``default``, ``profile:<name>``, ``file:<path>:<line>``,
    ``env:<NAME>`` or ``flag:--<name>``. A secret never shows in its repr."""

    __slots__ = ("secret", "source", "value")

    def __init__(self, value: Any, source: str, secret: bool = False) -> None:
        self.value = value
        self.source = source
        self.secret = secret

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Setting):
            return NotImplemented
        return (self.value, self.source, self.secret) == (other.value, other.source, other.secret)

    __hash__ = None  # type: ignore[assignment]

    def shown(self, show_secrets: bool = False) -> Any:
        """The value for display: ``"***"`` for a set secret, URL credentials masked."""
        if show_secrets or self.value is None:
            return self.value
        if self.secret:
            return "***"
        if isinstance(self.value, str):
            return mask(self.value)
        return self.value

    def __repr__(self) -> str:
        return f"Setting(value={self.shown()!r}, source={self.source!r}, secret={self.secret!r})"


def put(layer: Layer, dotted: str, setting: Setting) -> None:
    """Set ``section.key`` in a nested layer."""
    section, _, key = dotted.partition(".")
    layer.setdefault(section, {})[key] = setting


def merge(into: Layer, layer: Layer) -> list[tuple[str, Setting, Setting]]:
    """Deep-merge ``layer`` over ``into``; return ``(dotted, old, new)`` for each value replaced."""
    replaced = []
    for section, values in layer.items():
        target = into.setdefault(section, {})
        for key, setting in values.items():
            old = target.get(key)
            if old is not None:
                replaced.append((f"{section}.{key}", old, setting))
            target[key] = setting
    return replaced
