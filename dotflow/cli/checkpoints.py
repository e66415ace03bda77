"""``dotflow checkpoints``: list and clear the stored results (checkpoints) of the selected profile's storage."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Optional

import typer

from dotflow.cli.common import add_import_paths, setup_logging
from dotflow.cli.streams import echo
from dotflow.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from dotflow.abc.storage import Storage
    from dotflow.profiles import ResolvedProfile

app = typer.Typer(
    help="List or clear the checkpoints (stored task results) that resume reads.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

# "<workflow id>-<position>-<crc32 of step and group>" (see dotflow.ids.task_id_for), or the
# workflow's "<workflow id>-inputs" fingerprint
_TASK_KEY = re.compile(r"^(?P<workflow>.+)-(?P<task>\d+-[0-9a-f]{8})$")
_INPUTS_KEY = re.compile(r"^(?P<workflow>.+)-inputs$")

_PROFILE = typer.Option(None, "--profile", help="Profile whose storage to read (see 'dotflow profile list').")
_CONFIG = typer.Option(None, "--config", help="Path of the dotflow.toml to use.")
_STORAGE = typer.Option(None, "--storage", "-o", help="memory, file, s3, gcs or pkg.mod:Class (as dotflow start).")
_PATH = typer.Option(None, "--path", "-p", help="Folder of the file storage (as dotflow start).")
_ID_HELP = "Only this workflow's checkpoints (default: the profile's workflow.id, if any)."


@app.command("list")
def list_checkpoints(
    workflow_id: Optional[str] = typer.Option(None, "--workflow-id", help=_ID_HELP),
    profile: Optional[str] = _PROFILE,
    config: Optional[str] = _CONFIG,
    storage_provider: Optional[str] = _STORAGE,
    path: Optional[str] = _PATH,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of lines."),
) -> None:
    """The stored checkpoints, by workflow: each task id that resume would skip."""
    resolved, storage = _storage(profile, config, storage_provider, path)
    wanted = workflow_id or resolved["workflow.id"]
    found = _by_workflow(_keys(storage, f"{wanted}-" if wanted else ""), wanted)
    if as_json:
        echo(json.dumps({"storage": repr(storage), "workflows": found}, indent=2))
        return
    from dotflow.cli.output import checkpoint_lines, echo_lines

    echo_lines(checkpoint_lines(found, repr(storage), wanted, _missing_folder(storage) if not found else ""))


@app.command("clear")
def clear_checkpoints(
    workflow_id: Optional[str] = typer.Option(None, "--workflow-id", help=_ID_HELP),
    task: Optional[str] = typer.Option(
        None, "--task", help="Only the checkpoint of this step (pkg.mod.fn, as the summary names it)."
    ),
    group: str = typer.Option("default", "--group", help="With --task: the step's group_name."),
    profile: Optional[str] = _PROFILE,
    config: Optional[str] = _CONFIG,
    storage_provider: Optional[str] = _STORAGE,
    path: Optional[str] = _PATH,
) -> None:
    """Drop a workflow's checkpoints (or one step's), so the next resume runs them again."""
    resolved, storage = _storage(profile, config, storage_provider, path)
    wanted = workflow_id or resolved["workflow.id"]
    if not wanted:
        raise UsageError("give --workflow-id ID (or set workflow.id in the profile): clear drops one workflow's "
                         "checkpoints, never a whole storage")
    keys = [key for key in _keys(storage, f"{wanted}-") if _workflow_of(key) == wanted]
    if task is not None:
        from dotflow.ids import step_checksum

        stored = [key[len(wanted) + 1:] for key in keys if _TASK_KEY.match(key)]
        if re.fullmatch(r"\d+-[0-9a-f]{8}", task):  # a task id, as 'checkpoints list' shows it
            keys = [key for key in keys if key == f"{wanted}-{task}"]
        else:
            # a task id ends with the checksum of its step's name and group: the same step at any position
            checksum = step_checksum(task, group)
            keys = [key for key in keys if key.endswith(f"-{checksum}") and _TASK_KEY.match(key)]
        if not keys:
            listed = ", ".join(stored) if stored else "none"
            echo(
                f"no checkpoint of {task!r} (group {group!r}) in workflow {wanted!r} (stored: {listed}); --task takes "
                "the step as the summary names it (pkg.mod.fn) or a task id from 'dotflow checkpoints list'"
            )
            return
    tasks = sum(1 for key in keys if _TASK_KEY.match(key) and storage.delete(key) is not False)
    inputs = sum(1 for key in keys if not _TASK_KEY.match(key) and storage.delete(key) is not False)
    what = f"{task!r} of workflow {wanted!r}" if task else f"workflow {wanted!r}"
    also = " and its inputs fingerprint" if inputs else ""
    echo(f"dropped {tasks} checkpoint(s){also} of {what} from {storage!r}")


def _storage(
    profile: str | None, config: str | None, provider: str | None, path: str | None
) -> tuple[ResolvedProfile, Storage]:
    from dotflow.profiles import resolve
    from dotflow.profiles.build import storage

    setup_logging(quiet=True)
    # the storage and the workflow id are all these commands read: a server or notifier setting
    # that cannot be read (an unset ${DEV_TOKEN}) is not theirs to refuse
    resolved = resolve(profile, config_path=config, overrides={"storage.provider": provider, "storage.path": path},
                       sections=("storage", "workflow"))
    add_import_paths(resolved)
    return resolved, storage(resolved.__getitem__, resolved.source)


def _keys(storage: Storage, prefix: str) -> list[str]:
    try:
        return sorted(storage.list_keys(prefix))
    except NotImplementedError:
        raise ConfigError(
            f"{storage!r} cannot list its keys (it does not implement Storage.list_keys); "
            "checkpoints can only be listed and cleared on storages that do"
        ) from None


def _workflow_of(key: str) -> str | None:
    match = _TASK_KEY.match(key) or _INPUTS_KEY.match(key)
    return match["workflow"] if match else None


def _missing_folder(storage: Storage) -> str:
    """For a file storage whose folder is not there: say so (a mistyped --path lists nothing too)."""
    import os

    folder = getattr(storage, "path", None)
    if isinstance(folder, (str, os.PathLike)) and not os.path.isdir(folder):
        return f" (its folder {os.fspath(folder)!r} does not exist)"
    return ""


def _by_workflow(keys: list[str], wanted: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in keys:
        task = _TASK_KEY.match(key)
        inputs = _INPUTS_KEY.match(key)
        match = task or inputs
        if match is None or (wanted and match["workflow"] != wanted):
            continue
        entry = found.setdefault(match["workflow"], {"tasks": [], "inputs": False})
        if task:
            entry["tasks"].append(task["task"])
        else:
            entry["inputs"] = True
    return found
