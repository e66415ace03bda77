"""Config: the providers a workflow reports to, stores in and is scheduled by."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.errors import UsageError

if TYPE_CHECKING:
    from dotflow.abc.scheduler import Scheduler
    from dotflow.abc.server import Server
    from dotflow.abc.storage import Storage


class Config:
    """The providers of one workflow. Anything left out is the built-in no-op or in-memory one."""

    __slots__ = ("storage", "server", "scheduler")

    def __init__(
        self,
        storage: Storage | None = None,
        server: Server | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        from dotflow.abc.scheduler import Scheduler
        from dotflow.abc.server import Server
        from dotflow.abc.storage import Storage

        if storage is None:
            from dotflow.providers.storage_default import StorageDefault

            storage = StorageDefault()
        if server is None:
            from dotflow.providers.server_default import ServerDefault

            server = ServerDefault()
        if scheduler is None:
            from dotflow.providers.scheduler_default import SchedulerDefault

            scheduler = SchedulerDefault()
        _check("storage", storage, Storage)
        _check("server", server, Server)
        _check("scheduler", scheduler, Scheduler)
        self.storage = storage
        self.server = server
        self.scheduler = scheduler

    @classmethod
    def from_profile(cls, name: str | None = None, **options: Any) -> Config:
        """Build the Config of a resolved profile (see ``dotflow.profiles.resolve``)."""
        from dotflow.profiles import resolve

        return resolve(name, **options).config()

    def __repr__(self) -> str:
        return f"Config(storage={self.storage!r}, server={self.server!r}, scheduler={self.scheduler!r})"


def _check(role: str, value: Any, contract: type) -> None:
    if not isinstance(value, contract):
        raise UsageError(
            f"Config({role}=...) got {type(value).__name__}; pass an instance of a class "
            f"that subclasses dotflow.abc.{role}.{contract.__name__}"
        )
