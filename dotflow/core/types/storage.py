"""The built-in storage names, as ``--storage`` and ``[storage] provider`` take them."""

from __future__ import annotations

from typing import Final


class TypeStorage:
    """Storage provider names. ``memory`` is this version's name for 1.x's ``default``; both work."""

    DEFAULT: Final = "default"
    MEMORY: Final = "memory"
    FILE: Final = "file"
    S3: Final = "s3"
    GCS: Final = "gcs"
