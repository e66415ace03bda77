"""NotifyDefault: notifies no one."""

from __future__ import annotations

from typing import Any

from dotflow.abc.notify import Notify


class NotifyDefault(Notify):
    """The no-op notifier."""

    def hook_status_task(self, task: Any) -> None:
        pass

    def __repr__(self) -> str:
        return "NotifyDefault()"
