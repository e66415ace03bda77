"""The rules of a run under a resolved profile that a command (``dotflow start``, ``dotflow schedule``)
enforces on the workflow it built, managed mode's first: the backend's row must hear of the run
(``dotflow.cli.common.report_failed_quietly`` tells it when the run cannot start)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dotflow.errors import UsageError
from dotflow.profiles.builtin import MANAGED

if TYPE_CHECKING:
    from dotflow.profiles.resolved import ResolvedProfile
    from dotflow.workflow import DotFlow

logger = logging.getLogger("dotflow")


def check_flow(resolved: ResolvedProfile, flow: DotFlow) -> None:
    """A ``--workflow`` factory that passes its own Config or id keeps them (explicit arguments
    win): say so when that keeps the reports from the profile's server or workflow id, and
    refuse it under the managed profile, whose backend waits on that id."""
    from dotflow.providers.server_default import ServerDefault

    wanted = resolved["workflow.id"]
    if wanted is not None and flow.workflow_id != wanted:
        _refuse_or_warn(
            resolved,
            f"the --workflow factory set workflow_id={flow.workflow_id!r}, but the profile's workflow.id is "
            f"{wanted!r} (from {resolved.source('workflow.id')}); drop workflow_id= from the factory",
        )
    if resolved.server_provider != "none" and isinstance(flow.config.server, ServerDefault):
        _refuse_or_warn(
            resolved,
            f"profile {resolved.name!r} reports to a server, but the --workflow factory passed its own Config "
            "without one, so no status would be reported; build DotFlow() without config= to use the profile's server",
        )


def _refuse_or_warn(resolved: ResolvedProfile, message: str) -> None:
    if resolved.name == MANAGED:
        raise UsageError(message)
    logger.warning(message)
