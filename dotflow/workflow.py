"""DotFlow: a workflow, its tasks, and the runs of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from dotflow.builder import TaskBuilder
from dotflow.config import Config
from dotflow.context import Context
from dotflow.errors import UsageError
from dotflow.execution import checkpoints
from dotflow.execution.manager import Manager, check_callback
from dotflow.ids import workflow_id_problem
from dotflow.profiles.active import active_profile, nothing_to_resolve, profile_for
from dotflow.reporting import Reporter
from dotflow.settings import RUN_DEFAULTS, RunSettings, profile_or
from dotflow.task import Task

if TYPE_CHECKING:
    from dotflow.profiles import ResolvedProfile


class DotFlow:
    """A workflow.

    ``DotFlow()`` with no ``config`` takes its providers and run options from the resolved
    profile (``dotflow.toml``, environment variables; see ``dotflow.profiles``), and its id
    from ``workflow.id`` there. ``profile=`` names the profile, or hands an already resolved
    one (``dotflow.profiles.resolve(...)``). Explicit arguments always win. With an explicit
    ``config`` nothing is resolved, except under ``dotflow start``, whose profile is already
    resolved: there the id still comes from it, so a ``--workflow`` factory that builds its
    own Config runs under the managed runner's WORKFLOW_ID. The server's ``create_workflow``
    is called when its ``should_create_workflow`` says so: by default only when the id is
    generated here (ServerAPI's ``create_workflow`` setting can say always or never).
    """

    def __init__(
        self,
        config: Config | None = None,
        workflow_id: Any = None,
        name: str | None = None,
        *,
        profile: ResolvedProfile | str | None = None,
    ) -> None:
        self._defaults: Mapping[str, Any] = RUN_DEFAULTS
        self._own_config = config is not None  # the profile's providers (and a CLI's flags) do not apply
        self._manager: Manager | None = None  # the latest run's, from the moment it starts
        profile_id = None
        if config is None and profile is None and nothing_to_resolve():
            config = Config()  # what resolving would build: every key at its default
        elif config is None:
            resolved = profile_for(profile)
            config = resolved.config()
            self._defaults = resolved.workflow_options()
            profile_id = resolved["workflow.id"]
            name = name if name is not None else resolved["workflow.name"]
        elif profile is not None or active_profile() is not None:
            profile_id = profile_for(profile)["workflow.id"]
        self.config = config
        # as in 1.x, a workflow without a name is named after the machine; that default is kept
        # for logs and result(), but never sent to a server (the host name is not its business)
        self._name_is_host = name is None
        if name is None:
            from dotflow.utils import hostname

            name = hostname()
        self.name = name
        external = workflow_id if workflow_id is not None else profile_id
        self._id_generated = external is None
        if external is None:
            from dotflow.ids import new_workflow_id

            self.workflow_id = new_workflow_id()
        else:
            self.workflow_id = str(external)
            problem = workflow_id_problem(self.workflow_id) if workflow_id is not None else None
            if problem:  # an id from the profile was checked when it was resolved
                raise UsageError(
                    f"workflow_id={self.workflow_id!r} {problem}; pass another, or leave it out for a generated one"
                )
        self._reporter = Reporter(config, self)
        self.task = TaskBuilder(config=config, workflow_id=self.workflow_id, workflow=self)
        self._reporter.workflow_created(id_generated=external is None)

    def start(
        self,
        mode: str = profile_or("sequential"),
        keep_going: bool = profile_or(False),
        on_success: Callable[..., Any] | None = None,
        on_failure: Callable[..., Any] | None = None,
        resume: bool = profile_or(False),
        on_input_change: str = profile_or("reuse"),
        fingerprint: str | None = None,
        max_workers: int | None = profile_or(None),
        executor: Any = profile_or("thread"),
    ) -> Manager:
        """Run the workflow and return its Manager.

        ``mode`` is ``sequential`` (default), ``background`` (returns at once; use
        ``Manager.wait()``), ``parallel`` or ``sequential_group``. ``resume=True`` skips tasks
        whose result is already stored (``storage.exists(key)``, a None result included) and
        feeds that result on; ``on_input_change`` (``reuse``, ``reset`` or ``raise``) decides
        what happens when the tasks' initial contexts differ from the stored run's (``reset``
        deletes this workflow's checkpoints with ``storage.delete``). Each ``start()`` begins
        from a clean slate: the previous run's statuses, errors and results are cleared.

        ``executor`` says where the step calls run: ``"thread"`` (default), ``"process"`` (a
        process pool of ``max_workers`` workers, default the CPU count), ``"dask"`` (a local
        Dask cluster), a Dask scheduler address (``"tcp://host:8786"``) or a
        ``concurrent.futures.Executor``; statuses, retries, timeouts, callbacks, storage and
        reports stay on this process's threads whatever it is (see ``dotflow.execution.executors``).

        A run option left out (its default, ``profile_or(x)``; also ``UNSET``, and ``executor=None``)
        takes the workflow's run default: the resolved profile's ``[workflow]`` value, else the
        option's own default ``x`` (``dotflow.settings``).
        """
        settings = RunSettings.from_arguments(
            self._defaults, mode=mode, keep_going=keep_going, resume=resume, on_input_change=on_input_change,
            executor=executor, max_workers=max_workers,
        )
        check_callback("on_success", on_success)
        check_callback("on_failure", on_failure)
        if settings.resume and self._id_generated and self._manager is None:
            checkpoints.warn_unfindable(self.workflow_id)
        manager = Manager(self, self.task.queue, settings, on_success=on_success, on_failure=on_failure)
        self._manager = manager
        return manager.run(self.preparer(settings, fingerprint))

    def preparer(self, settings: RunSettings, fingerprint: str | None = None) -> Callable[[], bool]:
        """What readies the checkpoints for a run of this workflow with ``settings`` (and the inputs'
        ``fingerprint``, by default this workflow's) and says whether it resumes: ``Manager.run``
        calls it once the executor is open, so that a run that cannot start changes nothing stored."""

        def prepare() -> bool:
            current = fingerprint if fingerprint is not None else self.fingerprint()
            return checkpoints.prepare(
                self.config.storage, self.workflow_id, self.task.queue, current, settings.resume,
                settings.on_input_change,
            )

        return prepare

    def copy(self) -> DotFlow:
        """A new DotFlow for a run that goes on beside this one's: the same providers
        (``config``), name, run defaults and tasks (steps, callbacks, initial contexts, groups),
        and a new generated id, so that its checkpoints, spans and server rows are its own. One
        DotFlow's tasks hold one run's state (statuses, errors, results), so two runs at once need
        two of them: ``SchedulerCron(overlap="parallel")`` and ``dotflow schedule`` run an
        overlapping run on a copy. The server's ``create_workflow`` is called for the copy."""
        twin = DotFlow(config=self.config, name=None if self._name_is_host else self.name)
        twin.run_defaults = self._defaults
        for task in self.task.queue:
            given = task.given_context
            twin.task.add(
                step=task.step,
                callback=task.callback,
                initial_context=None if given is None else given.storage,
                group_name=task.group_name,
            )
        return twin

    @property
    def run_defaults(self) -> Mapping[str, Any]:
        """The options ``start()`` takes for an argument it is not given: the resolved profile's
        ``[workflow]`` values, else each option's own default (``dotflow.settings``). Assign a
        mapping of option names to change them for the later starts of this workflow."""
        return self._defaults

    @run_defaults.setter
    def run_defaults(self, values: Mapping[str, Any]) -> None:
        self._defaults = dict(values)

    @property
    def name_given(self) -> bool:
        """False when ``name`` is the machine's host name, 1.x's default for a workflow built
        without one: logs and ``result()`` show it, but it is never sent to a server."""
        return not self._name_is_host

    @property
    def own_config(self) -> bool:
        """True when this DotFlow was given its own ``config``: the resolved profile's providers
        (and so ``dotflow start``'s ``--storage`` and ``--path``) do not apply to it."""
        return self._own_config

    def flush(self, timeout: float | None = None) -> None:
        """Wait until this workflow's reports are delivered, at most ``timeout`` seconds (None:
        the server's ``flush_timeout``). ``start()`` returns when the tasks end, without waiting
        for delivery; a program flushes by itself when it exits, and so does ``dotflow start``."""
        self._reporter.flush(timeout)

    @property
    def reporter(self) -> Reporter:
        """The Reporter that tells this workflow's providers what happens to it."""
        return self._reporter

    @property
    def manager(self) -> Manager | None:
        """The Manager of the latest ``start()`` (None before the first), from the moment it starts."""
        return self._manager

    def schedule(self, **kwargs: Any) -> None:
        """Hand ``start`` (with these options) to the configured scheduler."""
        self.config.scheduler.start(workflow=self.start, **kwargs)

    def fingerprint(self) -> str:
        """A hash of the workflow's inputs: every task's id and initial context.

        It is the same in every process for the same inputs: sets are sorted, dict keys are
        sorted, and an object that is not plain data counts by its type and its ``repr()``,
        or by its type alone when that repr shows a memory address (``<X object at 0x..>``).
        """
        return checkpoints.fingerprint(self.task.queue)

    def result_task(self) -> list[Task]:
        """The tasks, in the order they were added."""
        return list(self.task.queue)

    def result_context(self) -> list[Context]:
        """Each task's result Context (empty for a task that failed or did not run), in task order."""
        return [task.current_context for task in self.task.queue]

    def result_storage(self) -> list[Any]:
        """Each task's result value (``current_context.storage``), in task order."""
        return [task.current_context.storage for task in self.task.queue]

    def result(self) -> dict[str, Any]:
        """A JSON-safe dict: ``workflow_id, workflow_name, tasks, id, name``."""
        return self.task.result()

    def __repr__(self) -> str:
        return f"DotFlow(workflow_id={self.workflow_id!r}, name={self.name!r}, tasks={self.task.count()})"

    def __str__(self) -> str:
        # a Server written for 1.x builds URLs and bodies with str() of what create_workflow receives
        return self.workflow_id

