"""Kept for 1.x import paths: ``from dotflow.core.workflow import Manager``, which also takes 1.x's call.

1.x's ``Manager(tasks, on_success=..., on_failure=..., mode=..., keep_going=..., workflow_id=None,
resume=False, on_input_change="reuse", fingerprint=None, config=None)`` built a workflow of the
tasks and ran it inside the constructor. This Manager does the same when called that way (tasks
first, or by keyword, without ``settings``); called with this version's arguments
(``Manager(workflow, tasks, settings, on_success, on_failure)``, what ``DotFlow.start`` builds) it
is ``dotflow.execution.manager.Manager``, and every Manager ``start()`` returns is an instance of it.
"""

from __future__ import annotations

from typing import Any

from dotflow.execution.manager import Manager as _Manager

__all__ = ["Manager"]

# 1.x's parameters, in its positional order
_1X_PARAMETERS = ("tasks", "on_success", "on_failure", "mode", "keep_going", "workflow_id", "resume",
                  "on_input_change", "fingerprint", "config")


class _AnyManager(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, _Manager)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _Manager)


class Manager(_Manager, metaclass=_AnyManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "settings" in kwargs or "workflow" in kwargs or (args and not isinstance(args[0], (list, tuple))):
            super().__init__(*args, **kwargs)
            return
        if len(args) > len(_1X_PARAMETERS):
            raise TypeError(f"Manager() takes at most {len(_1X_PARAMETERS)} arguments the 1.x way ({len(args)} given)")
        given = dict(zip(_1X_PARAMETERS, args))
        for name, value in kwargs.items():
            if name not in _1X_PARAMETERS:
                raise TypeError(f"Manager() got an unexpected keyword argument {name!r}; 1.x's are "
                                f"{', '.join(_1X_PARAMETERS)}")
            if name in given:
                raise TypeError(f"Manager() got multiple values for argument {name!r}")
            given[name] = value
        self._run_1x(**given)

    def _run_1x(
        self,
        tasks: Any = (),
        on_success: Any = None,
        on_failure: Any = None,
        mode: Any = None,
        keep_going: Any = None,
        workflow_id: Any = None,
        resume: Any = None,
        on_input_change: Any = None,
        fingerprint: str | None = None,
        config: Any = None,
    ) -> None:
        from dotflow.config import Config
        from dotflow.ids import new_workflow_id
        from dotflow.settings import UNSET, RunSettings
        from dotflow.utils.basic_functions import basic_callback
        from dotflow.workflow import DotFlow

        # the id is passed in, so no create_workflow is sent: 1.x's Manager sent none
        flow = DotFlow(config=config if config is not None else Config(),
                       workflow_id=workflow_id if workflow_id is not None else new_workflow_id())
        for task in tasks:
            task.workflow_id = flow.workflow_id
            if task.config is None:
                task.config = flow.config
            flow.task.queue.append(task)
            flow.reporter.task_added(task)  # 1.x's Task announced itself when it was made
        options = {"mode": mode, "keep_going": keep_going, "resume": resume, "on_input_change": on_input_change}
        settings = RunSettings.from_arguments(
            flow.run_defaults, **{name: UNSET if value is None else value for name, value in options.items()}
        )
        super().__init__(flow, flow.task.queue, settings,
                         on_success=basic_callback if on_success is None else on_success,
                         on_failure=basic_callback if on_failure is None else on_failure)
        self.config = flow.config
        self.on_input_change = settings.on_input_change
        self.fingerprint = fingerprint
        self.run(flow.preparer(settings, fingerprint))
