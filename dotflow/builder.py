"""TaskBuilder: collects a workflow's tasks (``flow.task``) and announces each one as it is added."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from dotflow.actions import options_of
from dotflow.ids import task_id_for
from dotflow.naming import step_name
from dotflow.reporting import Reporter
from dotflow.results import Schema
from dotflow.task import Task, as_step

if TYPE_CHECKING:
    from dotflow.config import Config


class TaskBuilder:
    """Collects a workflow's tasks. ``add`` is chainable and announces each task to the server."""

    def __init__(self, config: Config, workflow_id: str | None = None, workflow: Any = None) -> None:
        self.config = config
        self.workflow_id = workflow_id
        self.queue: list[Task] = []
        self._workflow = workflow
        reporter = getattr(workflow, "reporter", None)
        self._reporter = reporter if reporter is not None else Reporter(config, workflow)

    def add(
        self,
        step: Any,
        callback: Callable[..., Any] | None = None,
        initial_context: Any = None,
        group_name: str = "default",
    ) -> TaskBuilder:
        """Add a step (a callable, a list of them, or an import string ``pkg.mod.fn`` /
        ``pkg.mod:fn``) as a new task."""
        if isinstance(step, (list, tuple)):
            for one in step:
                self.add(one, callback=callback, initial_context=initial_context, group_name=group_name)
            return self
        step = as_step(step)
        options = options_of(step)
        index = len(self.queue)
        task = Task(
            task_id=task_id_for(index, step_name(step), str(group_name)),
            step=step,
            callback=callback,
            initial_context=initial_context,
            workflow_id=self.workflow_id,
            config=self.config,
            group_name=str(group_name),
            options=options,
        )
        self.queue.append(task)
        self._reporter.task_added(task)
        return self

    def count(self) -> int:
        """How many tasks were added."""
        return len(self.queue)

    def clear(self) -> None:
        """Remove every task (nothing is reported)."""
        self.queue.clear()

    def reverse(self) -> None:
        """Reverse the order the tasks will run in."""
        self.queue.reverse()

    def result(self) -> dict[str, Any]:
        """The workflow's JSON-safe result (the same as ``DotFlow.result()``)."""
        return {
            "workflow_id": self.workflow_id,
            "workflow_name": getattr(self._workflow, "name", None),
            "tasks": [task.result() for task in self.queue],
            "id": self.workflow_id,
            "name": getattr(self._workflow, "name", None),
        }

    def schema(self) -> Schema:
        """``result()`` read by attribute (``schema().tasks[0].status``), as 1.x's ``schema()`` was."""
        return Schema(self.result())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.queue)

    def __len__(self) -> int:
        return len(self.queue)
