"""The rules of a run under a resolved profile that a command (``dotflow start``, ``dotflow schedule``)
enforces on the workflow it built, managed mode's first: the backend's row must hear of the run."""

from __future__ import annotations

import logging
from collections.abc import Mapping
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


def report_failed_start(
    resolved: ResolvedProfile, flow: DotFlow | None = None, problem: BaseException | None = None
) -> None:
    """When a run under a backend's workflow id (managed mode) cannot even start, tell the backend
    Failed, so its row does not wait forever. Best effort: the error that stopped the start is
    what the user reads."""
    if resolved["workflow.id"] is None or resolved.server_provider == "none":
        return
    from dotflow.execution.run import abandon
    from dotflow.workflow import DotFlow

    try:
        if flow is None or flow.workflow_id != resolved["workflow.id"] or not flow.reporter.remote:
            flow = DotFlow(profile=resolved)  # the profile's server and id, no tasks
        abandon(flow.reporter, flow.task.queue, problem)
        flow.flush()
    except Exception:  # the start already failed for a reason the user will read
        pass


def report_unresolvable(env: Mapping[str, str], profile: str | None, problem: BaseException | None = None) -> None:
    """When the profile itself cannot be resolved (a broken dotflow.toml, an unset variable) under
    the three managed-runner variables, with no other profile asked for, tell that backend Failed
    with the variables alone (and ServerAPI's defaults): its row must not wait forever on a run
    that never started. Best effort."""
    base_url, token, workflow_id = (env.get(name) for name in ("SERVER_BASE_URL", "SERVER_USER_TOKEN", "WORKFLOW_ID"))
    asked = profile or env.get("DOTFLOW_PROFILE")
    if not (base_url and token and workflow_id) or asked not in (None, "", MANAGED):
        return
    from dotflow.config import Config
    from dotflow.execution.run import abandon
    from dotflow.providers.server_api import ServerAPI
    from dotflow.workflow import DotFlow

    try:
        flow = DotFlow(config=Config(server=ServerAPI(base_url, token)), workflow_id=workflow_id)
        abandon(flow.reporter, (), problem)
        flow.flush()
    except Exception:  # the error the user reads is the resolution's
        pass


def _refuse_or_warn(resolved: ResolvedProfile, message: str) -> None:
    if resolved.name == MANAGED:
        raise UsageError(message)
    logger.warning(message)
