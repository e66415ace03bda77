"""ResolvedProfile: the outcome of resolution, read by the engine and by ``dotflow profile``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.profiles import build
from dotflow.settings import OPTIONS

if TYPE_CHECKING:
    from dotflow.config import Config
    from dotflow.profiles.setting import Setting


class ResolvedProfile:
    """One profile resolved from defaults, built-in profile, files, environment and flags.

    ``settings`` holds every key of the table, in table order, each with its value and source.
    """

    __slots__ = ("files", "name", "profiles", "project_file", "sections", "selected_by", "settings", "warnings")

    def __init__(
        self,
        name: str,
        selected_by: str,
        files: list[str],
        settings: dict[str, Setting],
        warnings: list[str],
        profiles: dict[str, str],
        project_file: str | None = None,
        sections: tuple[str, ...] | None = None,
    ) -> None:
        self.name = name
        self.selected_by = selected_by
        self.files = files
        self.settings = settings
        self.warnings = warnings
        self.profiles = profiles
        self.project_file = project_file  # the project's dotflow.toml (or pyproject.toml), if one was found
        self.sections = sections  # the tables checked (resolve(sections=...)); None: every one

    def __getitem__(self, key: str) -> Any:
        return self.settings[key].value

    def source(self, key: str) -> str:
        """Where ``key``'s value came from."""
        return self.settings[key].source

    @property
    def server_provider(self) -> str:
        """The server provider this profile builds: ``server.provider`` with ``auto`` decided."""
        return build.server_provider(self.__getitem__)

    def config(self) -> Config:
        """The Config of this profile: its providers, built now (each provider module is imported
        only when chosen)."""
        from dotflow.config import Config

        if self.sections is not None:
            from dotflow.errors import UsageError

            raise UsageError(
                f"profile {self.name!r} was resolved for its {', '.join(self.sections)} tables only; resolve it "
                "without sections= to build its Config"
            )
        return Config(**build.providers(self.settings))

    def workflow_options(self) -> dict[str, Any]:
        """The options ``DotFlow.start`` takes from the profile: every run option of
        ``dotflow.settings``, by name."""
        return {option.name: self[option.key] for option in OPTIONS}

    def as_dict(self, show_secrets: bool = False) -> dict[str, Any]:
        """The object ``dotflow profile show --json`` prints. Secrets are ``"***"`` unless asked,
        and so is a secret's value found inside another value (a token in ``base_url``'s path)."""
        from dotflow.redact import Redactor

        hide = Redactor(*(s.value for s in self.settings.values() if s.secret and isinstance(s.value, str)))
        settings: dict[str, Any] = {}
        for key, setting in self.settings.items():
            value = setting.shown(show_secrets)
            if not show_secrets and isinstance(value, str) and hide:
                value = hide(value)
            entry: dict[str, Any] = {"value": value, "source": setting.source}
            if setting.secret:
                entry["secret"] = True
            settings[key] = entry
        return {"profile": self.name, "selected_by": self.selected_by, "files": list(self.files), "settings": settings}

    def __repr__(self) -> str:
        return f"ResolvedProfile(name={self.name!r}, selected_by={self.selected_by!r}, files={self.files!r})"
