"""Test helpers for code built on dotflow: hold a custom storage to the rules the built-in ones meet.

``StorageContract`` is a test class mixin (unittest or pytest); the ``check_*`` functions are
the same rules one at a time, for a storage made any way you like.
"""

from __future__ import annotations

from dotflow.testing.storage_contract import (
    CHECKS,
    HOSTILE_KEYS,
    ROUND_TRIP_VALUES,
    StorageContract,
    check_all,
    check_atomic_swap,
    check_clear,
    check_delete_prefix,
    check_delete_reports_presence,
    check_exists_and_delete,
    check_hostile_keys_are_distinct,
    check_key_format,
    check_list_keys,
    check_missing_key_is_empty,
    check_names_stay_under_prefix,
    check_overwrite_replaces,
    check_post_get,
    check_round_trip,
    check_ttl,
)

__all__ = [
    "CHECKS",
    "HOSTILE_KEYS",
    "ROUND_TRIP_VALUES",
    "StorageContract",
    "check_all",
    "check_atomic_swap",
    "check_clear",
    "check_delete_prefix",
    "check_delete_reports_presence",
    "check_exists_and_delete",
    "check_hostile_keys_are_distinct",
    "check_key_format",
    "check_list_keys",
    "check_missing_key_is_empty",
    "check_names_stay_under_prefix",
    "check_overwrite_replaces",
    "check_post_get",
    "check_round_trip",
    "check_ttl",
]
