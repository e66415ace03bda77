"""1.x's short import path for the status and storage constants."""

from __future__ import annotations

from dotflow.core.types.status import TypeStatus
from dotflow.core.types.storage import TypeStorage

__all__ = ["TypeStatus", "TypeStorage"]
