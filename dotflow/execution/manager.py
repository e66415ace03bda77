"""Manager: one run of a workflow in a given mode, from the first report to the final callbacks."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Collection, Sequence

from dotflow import interrupts
from dotflow.errors import UsageError
from dotflow.execution.run import Run
from dotflow.live import LiveRun, run_attempt
from dotflow.types import TypeExecution, TypeStatus

if TYPE_CHECKING:
    from dotflow.execution.executors.base import StepRunner
    from dotflow.reporting import Reporter
    from dotflow.settings import RunSettings
    from dotflow.task import Task

# Seconds a cancelled run's steps get to stop by themselves before they are stopped.
CANCEL_GRACE = 10.0
# Seconds the stop after the grace waits for the executor to close before dotflow start ends.
_CLOSE_BOUND = 0.5


def check_callback(name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise UsageError(f"{name}={value!r} is not callable; pass a function taking tasks=")


class Manager:
    """Runs the tasks of one ``start()`` call and reports the workflow's status.

    In background mode ``start()`` returns at once; ``wait()`` blocks until the run ends.

    - Every report goes through the workflow's Reporter; ``run()`` returns when the tasks end,
      without waiting for the reports to be delivered (see ``flush``).
    - Each run starts from a clean slate: the tasks' status, errors, retry count, contexts
      and times from an earlier ``start()`` are cleared (without a report to the server).
    - The workflow ends Completed when every task completed, else Failed. A workflow with
      no tasks therefore ends Completed (an empty run did nothing wrong) and calls
      ``on_success(tasks=[])``; the CLI refuses empty workflows before running them.
    - A KeyboardInterrupt or SystemExit raised in the thread that runs the Manager (the
      caller of ``start()``, or of ``wait()`` in background mode) interrupts the run (see
      ``interrupt``) and then propagates at once, without waiting for steps still running on
      worker threads. Python itself joins pool threads when the interpreter exits, so a
      script ends once those steps return; ``dotflow start`` exits at once.
    """

    def __init__(
        self,
        workflow: Any,
        tasks: Sequence[Task],
        settings: RunSettings,
        on_success: Callable[..., Any] | None = None,
        on_failure: Callable[..., Any] | None = None,
    ) -> None:
        self.workflow = workflow
        self.workflow_id = workflow.workflow_id
        self.tasks = list(tasks)
        self.settings = settings
        self.mode = settings.mode
        self.on_success = on_success
        self.on_failure = on_failure
        self.max_workers = settings.max_workers
        self.executor = settings.executor  # checked by start(); opened by run(), closed when the run ends
        self.reporter: Reporter = workflow.reporter
        self.started = datetime.now()
        self.status: str = TypeStatus.NOT_STARTED
        self._thread: threading.Thread | None = None
        self._errors: list[BaseException] = []
        self._reported = False  # the final workflow status was reported (by the run or by interrupt)
        self._grace_timers: list[threading.Timer] = []
        self.live: LiveRun | None = None  # the run as an observer follows it, from run()
        self._lock = threading.RLock()
        # status changes take the lock: tasks may run on worker threads, and a SIGTERM or a
        # cancel request may change them from another thread
        self.state = Run(self.reporter, resume=settings.resume, keep_going=settings.keep_going, lock=self._lock)

    def run(self, prepare: Callable[[], bool] | None = None) -> Manager:
        """Run the tasks (in the background for that mode) and return this Manager. ``DotFlow.start``
        calls it, with ``prepare``: what readies the checkpoints for the run (it may drop them)
        and says whether to resume, called once the executor is open, so that a run that cannot
        start (an executor that cannot be had) changes nothing stored."""
        for task in self.tasks:
            if not task.pristine:
                task.reset()
        self.live = self.state.live = LiveRun(self.workflow_id, run_attempt(), cancel=self._cancel_requested)
        # before the first report: a Dask scheduler that cannot be reached is start()'s error
        self.state.executor = self._open_executor()
        try:
            if prepare is not None:
                self.state.resume = prepare()
            # the steps run here one at a time, none left running by a timeout: their output may be
            # read from the process's descriptors (dotflow.capture)
            serial = (self._effective_mode() == TypeExecution.SEQUENTIAL and self.state.executor is None
                      and not any(task.options.timeout for task in self.tasks))
            self.reporter.run_started(self.mode, len(self.tasks), self.live, serial=serial)
        except BaseException:
            self._close_executor()
            raise
        self.status = TypeStatus.IN_PROGRESS
        watched = self.reporter.remote
        if watched:
            interrupts.watch(self)  # SIGTERM and interpreter exit still leave a terminal status
        if self.mode == TypeExecution.BACKGROUND:
            from dotflow.execution.background import start_background

            try:
                self._thread = start_background(self._run_and_finish, self._errors)
            except BaseException:
                self._close_executor()
                raise
        else:
            try:
                self._run_and_finish()
            finally:
                if watched:
                    interrupts.unwatch(self)
        return self

    def _run_and_finish(self) -> None:
        try:
            self._run_tasks()
        except (KeyboardInterrupt, SystemExit) as exc:
            # interrupt() closes the executor after the tasks were failed: a task whose worker is
            # killed then stays "interrupted"
            interrupts.unwound(self, exc)
            raise
        finally:
            self._close_executor()
            self._finish()

    def _effective_mode(self) -> str:
        """The mode the tasks run in: a sequential run whose tasks carry several groups runs them as groups."""
        mode = self.mode
        if mode in (TypeExecution.SEQUENTIAL, TypeExecution.BACKGROUND) and _has_groups(self.tasks):
            return TypeExecution.SEQUENTIAL_GROUP
        return mode

    def _open_executor(self) -> StepRunner | None:
        """Start the run's executor (None for threads), sized to what the mode can run at once."""
        if not self.tasks or (isinstance(self.executor, str) and self.executor == "thread"):
            return None
        from dotflow.execution.executors import open_executor

        mode = self._effective_mode()
        if mode == TypeExecution.PARALLEL:
            concurrency = len(self.tasks)
        elif mode == TypeExecution.SEQUENTIAL_GROUP:
            concurrency = len({task.group_name for task in self.tasks})
        else:
            concurrency = 1
        return open_executor(self.executor, self.max_workers, concurrency)

    def _close_executor(self) -> None:
        executor, self.state.executor = self.state.executor, None
        if executor is not None:
            executor.close()

    def _run_tasks(self) -> None:
        mode = self._effective_mode()
        if mode == TypeExecution.PARALLEL:
            from dotflow.execution.parallel import run_parallel

            executor = self.state.executor
            # a remote executor runs as many steps at once as it has workers; threads only wait on them
            capacity = executor.capacity if executor is not None else None
            run_parallel(self.tasks, self.state, self.max_workers or capacity)
        elif mode == TypeExecution.SEQUENTIAL_GROUP:
            from dotflow.execution.groups import run_groups

            run_groups(self.tasks, self.state, self.max_workers)
        else:
            from dotflow.execution.sequential import run_sequential

            run_sequential(self.tasks, self.state)

    def interrupt(self, reason: BaseException | None = None, message: str | None = None) -> None:
        """End the run now: every task not yet Completed or Failed becomes Failed with the
        error ``Interrupted`` and ``message`` (by default "interrupted by SIGINT" for a
        KeyboardInterrupt, "interrupted by SIGTERM" for the CLI's SIGTERM, else "interrupted"), the workflow is
        reported Failed, and no later status change of this run is reported (a step still
        running on a worker thread may finish, but its task stays Failed). Does nothing once
        the run has ended.

        Called for you when the thread running the Manager gets KeyboardInterrupt or
        SystemExit, and on SIGTERM when the run reports remotely (see ``dotflow.interrupts``).
        """
        from dotflow.task import TaskError

        state = self.state
        cause = reason if reason is not None else KeyboardInterrupt()
        text = message or interrupts.interruption_message(reason)
        with self._lock:
            if self._reported or state.interrupted:
                return
            state.interrupted = True
            for task in self.tasks:
                if task.ended:
                    continue
                error = interrupts.interruption_error(cause, text)
                task.fail(TaskError(error, task.retry_count + 1, traceback="", message=text))
                self.reporter.task_changed(task)
        self._finish()
        # a process pool's busy workers are killed now (steps in threads can only run on unseen),
        # whichever thread interrupts: a background run's own thread may be waiting on them
        self._close_executor()

    def cancel(self, reason: str = "cancelled", tasks: Collection[str] | None = None,
               grace: float = CANCEL_GRACE) -> None:
        """Ask the run to stop, for ``reason``: the whole run, or only the tasks whose ids are in
        ``tasks``. Safe from any thread; nothing happens once the run has ended. A runner protocol
        version 2 backend asks for it in a heartbeat's answer.

        - No task it names starts any more: those not started end Cancelled at once.
        - Steps that run see ``dotflow.current_task().cancel_requested()`` turn true, and a retry
          delay ends at once. A step that returns has Completed; one that raises (``TaskCancelled``
          or anything else) ends Cancelled, and is not retried.
        - After ``grace`` seconds, what still runs is stopped: its task ends Cancelled; a whole
          run's process-pool workers are killed and its Dask futures cancelled, steps on threads
          are left behind (``start()``/``wait()`` return without them; a step in the caller's own
          thread can only be left when it returns), and ``dotflow start`` exits with code 3.
        - A whole run ends Cancelled (``on_failure`` is called); after a cancel of some tasks the
          run goes on as after their failure (``keep_going`` decides), and ends Failed.
        """
        from dotflow.redact import mask_secrets

        reason = mask_secrets(" ".join(str(reason).split())[:500]) or "cancelled"  # shown and reported everywhere
        state = self.state
        with self._lock:
            if self._reported or state.cancelled is not None:
                return  # a backend repeats its request in every answer: the first one counts
            ids = None
            if tasks is not None:
                ids = {str(task_id) for task_id in tasks if state.cancel_reason(str(task_id)) is None}
                if not ids:
                    return
            state.request_cancel(reason, ids)
            for task in self._named(ids):
                if task.pristine:  # never started: it never will
                    state.change(task, task.cancel, reason)
            timer = threading.Timer(max(0.0, grace), self._stop_cancelled, args=(ids,))
            timer.name = "dotflow-cancel"
            timer.daemon = True
            self._grace_timers.append(timer)
            timer.start()

    def _cancel_requested(self, reason: str, tasks: Collection[str] | None, grace: float) -> None:
        self.cancel(reason, tasks, grace)  # what a backend's heartbeat answer asks (LiveRun.request_cancel)

    def _named(self, ids: Collection[str] | None) -> list[Task]:
        return list(self.tasks) if ids is None else [task for task in self.tasks if task.task_id in ids]

    def _stop_cancelled(self, ids: Collection[str] | None) -> None:
        """The grace is over: what the cancel named and has not ended is stopped, Cancelled."""
        exits = interrupts.cancel_exits()  # dotflow start is running: it ends once this is reported
        state = self.state
        with self._lock:
            if self._reported:
                return
            for task in self._named(ids):
                reason = state.cancel_reason(task.task_id)
                if not task.ended and reason is not None:
                    state.change(task, task.cancel, reason)
            if ids is not None:
                return  # a cancel of some tasks: the run goes on (steps on threads are left behind)
            state.interrupted = True  # no later change of this run is reported
            state.abandoned = True  # nor is a step still running waited for
        self._finish()
        # kills the process pool's busy workers, cancels the Dask futures: bounded, since a local
        # Dask cluster takes seconds to close, and dotflow start ends within the grace and a second
        closing = threading.Thread(target=self._close_executor, name="dotflow-cancel-close", daemon=True)
        closing.start()
        closing.join(_CLOSE_BOUND)
        interrupts.cancelled(self, state.cancelled or "cancelled", exits)

    def _finish(self) -> None:
        with self._lock:
            if self._reported:
                return
            self._reported = True
            for timer in self._grace_timers:
                timer.cancel()
            self._end_the_rest()
            ok = all(task.status is TypeStatus.COMPLETED for task in self.tasks)
            if ok:
                self.status = TypeStatus.COMPLETED
            elif self.state.cancelled is not None:
                self.status = TypeStatus.CANCELLED
            else:
                self.status = TypeStatus.FAILED
        self.reporter.run_finished(self.status)
        if self._thread is not None and self.reporter.remote:
            interrupts.unwatch(self)  # from the background thread: forgets the run; wait() restores SIGTERM
        callback = self.on_success if ok else self.on_failure
        if callback is not None:
            callback(tasks=self.tasks)

    def _end_the_rest(self) -> None:
        """Every task still Not started when the run ends gets a terminal status, so that no
        observer keeps it waiting: Cancelled when the run was cancelled, else Skipped, with the
        reason "not run: <step> failed" (the task that stopped its group, or the run)."""
        cancelled = self.state.cancelled
        stopped: dict[str, Task] = {}  # group -> the first task that failed or was cancelled in it
        first: Task | None = None
        for task in self.tasks:
            if task.status in (TypeStatus.FAILED, TypeStatus.CANCELLED):
                stopped.setdefault(task.group_name, task)
                first = first or task
            if task.status is not TypeStatus.NOT_STARTED:
                continue
            if cancelled is not None:
                task.cancel(cancelled)
            else:
                culprit = stopped.get(task.group_name, first)
                if culprit is None:
                    reason = "not run"
                else:
                    how = "failed" if culprit.status is TypeStatus.FAILED else "was cancelled"
                    name = getattr(culprit.step, "__name__", None) or type(culprit.step).__name__
                    reason = f"not run: {name} {how}"
                task.skip(reason)
            self.reporter.task_changed(task)

    @property
    def finished(self) -> bool:
        """Whether the run ended (its final status was reported)."""
        return self._reported

    def flush(self, timeout: float | None = None) -> None:
        """Wait until this workflow's reports are delivered, at most ``timeout`` seconds (None:
        the server's ``flush_timeout``). ``start()`` never waits for delivery; a program that
        exits flushes by itself, and so does ``dotflow start``."""
        self.reporter.flush(timeout)

    @property
    def thread(self) -> threading.Thread | None:
        """The thread a background run runs on (None in the other modes), as in 1.x."""
        return self._thread

    @property
    def done(self) -> bool:
        """Whether the run is over (always true once a foreground run returned)."""
        return self._thread is None or not self._thread.is_alive() or self.state.abandoned

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a background run ends, at most ``timeout`` seconds. Returns whether it
        ended; re-raises an AssertionError raised inside the run. A KeyboardInterrupt or
        SystemExit while waiting interrupts the run (see ``interrupt``) and propagates."""
        if self._thread is not None:
            thread = self._thread

            def ended(seconds: float) -> bool:  # a cancelled run's left-behind step is not waited for
                thread.join(seconds)
                return not thread.is_alive() or self.state.abandoned

            try:
                interrupts.wait_interruptibly(ended, timeout)
            except (KeyboardInterrupt, SystemExit) as exc:
                interrupts.unwound(self, exc)
                raise
            if not self._thread.is_alive() and self.reporter.remote:
                interrupts.unwatch(self)
        if self._errors:
            raise self._errors.pop(0)
        return self.done

    def __repr__(self) -> str:
        return f"Manager(workflow_id={self.workflow_id!r}, mode={self.mode!r}, status={self.status!r})"


def _has_groups(tasks: Sequence[Task]) -> bool:
    first = tasks[0].group_name if tasks else None
    return any(task.group_name != first for task in tasks)
