"""The public surface: exported names, legacy import paths, the error tree, import cost and logging."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
from typing import Any

import engine_support
import pytest

import dotflow
import dotflow.errors
from dotflow import Config, DotFlow, action
from dotflow.naming import task_label

SPEC_NAMES = {"DotFlow", "Config", "Context", "Task", "action", "TypeStatus", "TypeExecution"}
SPEC_PROVIDERS = {"ServerDefault", "ServerAPI", "StorageDefault", "StorageFile", "StorageS3", "StorageGCS",
                  "SchedulerDefault"}


# --- exported names ------------------------------------------------------------------------------


def test_all_is_sorted_and_unique() -> None:
    """``dotflow.__all__`` is sorted with no duplicates."""
    assert dotflow.__all__ == sorted(set(dotflow.__all__))


def test_every_exported_name_imports() -> None:
    """Every name in ``__all__`` works with ``from dotflow import <name>``, and ``import *`` gives them all."""
    for name in dotflow.__all__:
        namespace: dict[str, object] = {}
        exec(f"from dotflow import {name}", namespace)
        assert namespace[name] is getattr(dotflow, name)
    star: dict[str, object] = {}
    exec("from dotflow import *", star)
    assert set(dotflow.__all__) <= set(star)


def test_all_is_complete() -> None:
    """Every documented user import is exported, and every public class or function of the root is in ``__all__``."""
    assert SPEC_NAMES <= set(dotflow.__all__)
    for name in dotflow.__all__:
        getattr(dotflow, name)
    public = {
        name
        for name, value in vars(dotflow).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("dotflow")
    }
    assert public <= set(dotflow.__all__)


def test_unknown_attribute_raises_attribute_error() -> None:
    """``dotflow.missing`` raises AttributeError naming it."""
    with pytest.raises(AttributeError, match="'missing'"):
        dotflow.missing  # noqa: B018


def test_providers_all_is_sorted_and_complete() -> None:
    """``dotflow.providers.__all__`` is sorted, holds the documented providers and every provider class
    defined in a ``dotflow/providers/*.py`` module, and each name imports."""
    import pkgutil

    from dotflow.abc.scheduler import Scheduler
    from dotflow.abc.server import Server
    from dotflow.abc.storage import Storage

    providers = importlib.import_module("dotflow.providers")
    assert providers.__all__ == sorted(set(providers.__all__))
    assert SPEC_PROVIDERS <= set(providers.__all__)
    for name in providers.__all__:
        assert inspect.isclass(getattr(providers, name))
    defined = set()
    for info in pkgutil.iter_modules(providers.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"dotflow.providers.{info.name}")
        defined |= {
            name
            for name, value in vars(module).items()
            if inspect.isclass(value)
            and value.__module__ == module.__name__
            and not name.startswith("_")
            and issubclass(value, (Server, Storage, Scheduler))
        }
    assert defined <= set(providers.__all__)


def test_abc_contracts_import_from_their_paths() -> None:
    """Server, Storage and Scheduler import from ``dotflow.abc.*`` and the defaults subclass them."""
    from dotflow.abc.scheduler import Scheduler
    from dotflow.abc.server import Server
    from dotflow.abc.storage import Storage
    from dotflow.providers import SchedulerDefault, ServerDefault, StorageDefault

    assert issubclass(ServerDefault, Server)
    assert issubclass(StorageDefault, Storage)
    assert issubclass(SchedulerDefault, Scheduler)


def test_legacy_type_paths_are_the_same_objects() -> None:
    """``dotflow.core.types.status`` / ``.execution`` hold the very classes exported at the root."""
    from dotflow.core.types.execution import TypeExecution
    from dotflow.core.types.status import TypeStatus

    assert TypeStatus is dotflow.TypeStatus
    assert TypeExecution is dotflow.TypeExecution


# --- errors -------------------------------------------------------------------------------------


def test_every_error_subclasses_dotflow_error() -> None:
    """Every exception class in ``dotflow.errors`` (and its ``__all__``) descends from the one root DotflowError."""
    classes = {
        name: value
        for name, value in vars(dotflow.errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException)
    }
    assert set(classes) == set(dotflow.errors.__all__)
    for name, cls in classes.items():
        assert issubclass(cls, dotflow.errors.DotflowError), name
    assert dotflow.errors.DotflowError.__bases__ == (Exception,)
    assert dotflow.DotflowError is dotflow.errors.DotflowError


def test_errors_raised_by_the_engine_are_dotflow_errors() -> None:
    """Usage mistakes (undecorated step, bad mode, bad import string) all raise DotflowError."""
    workflow = DotFlow(config=Config(), workflow_id="err")

    def plain() -> None: ...

    for call in (
        lambda: workflow.task.add(plain),
        lambda: workflow.start(mode="nope"),
        lambda: workflow.task.add("not a path"),
        lambda: Config(storage="nope"),  # type: ignore[arg-type]
    ):
        with pytest.raises(dotflow.errors.DotflowError):
            call()


# --- import cost --------------------------------------------------------------------------------

HEAVY = ("requests", "typer", "asyncio", "pydantic", "boto3", "botocore", "google.cloud", "urllib3", "apprise",
         "opentelemetry", "sentry_sdk", "croniter", "cloudpickle", "distributed", "dask",
         # the backend's (dotflow[backend]): only `dotflow backend start` loads them
         "starlette", "uvicorn", "sqlalchemy", "jinja2", "psycopg", "dotflow.backend")


def test_import_loads_no_heavy_module() -> None:
    """``import dotflow``, the common names and the provider modules load none of requests, typer, asyncio,
    pydantic, boto3, google.cloud, nor the OpenTelemetry, Sentry or croniter SDKs (they load in constructors),
    nor cloudpickle, distributed or dask (they load when an executor other than thread is chosen)."""
    code = (
        "import sys, json\n"
        "import dotflow\n"
        "from dotflow import DotFlow, action, Config, Context, Task, TypeStatus, TypeExecution\n"
        "import dotflow.providers, dotflow.abc.server, dotflow.core.types.status\n"
        "import dotflow.providers.tracer_opentelemetry, dotflow.providers.metrics_opentelemetry\n"
        "import dotflow.providers.log_opentelemetry, dotflow.providers.log_sentry, dotflow.providers.tracer_sentry\n"
        "import dotflow.providers.scheduler_cron\n"
        "import dotflow.execution.executors, dotflow.profiles.schema\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(engine_support.run_python(code))
    offenders = [m for m in loaded for heavy in HEAVY if m == heavy or m.startswith(heavy + ".")]
    assert offenders == []
    assert "dotflow.workflow" in loaded  # the names really were resolved


def test_a_sequential_run_loads_no_asyncio() -> None:
    """Running a sync workflow sequentially does not import asyncio either."""
    code = (
        "import sys\n"
        "from dotflow import Config, DotFlow, action\n"
        "@action\n"
        "def step(): return 1\n"
        "w = DotFlow(config=Config()); w.task.add(step); w.start()\n"
        "assert w.result_storage() == [1]\n"
        "print('asyncio' in sys.modules)\n"
    )
    assert engine_support.run_python(code).strip() == "False"


# --- logging ------------------------------------------------------------------------------------


def test_import_attaches_no_log_handler() -> None:
    """After importing and running a workflow, neither the dotflow logger nor the root logger has a handler."""
    code = (
        "import logging, json\n"
        "import dotflow\n"
        "from dotflow import Config, DotFlow, action\n"
        "import dotflow.providers\n"
        "@action\n"
        "def step(): return 1\n"
        "w = DotFlow(config=Config()); w.task.add(step); w.start()\n"
        "print(json.dumps([len(logging.getLogger('dotflow').handlers), len(logging.getLogger().handlers),\n"
        "                  logging.getLogger('dotflow').propagate]))\n"
    )
    assert json.loads(engine_support.run_python(code)) == [0, 0, True]


@action
def ok() -> int:
    return 1


@action(retry=2, retry_delay=0)
def bad() -> None:
    raise RuntimeError("bad")


def test_status_transitions_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Each task status change is logged on ``dotflow`` as ``ID <workflow> - <task> - <status>``, at the
    level dotflow 1.x logs it: INFO, but Retry (WARNING) and Failed (ERROR), which carry the reason."""
    workflow = DotFlow(config=Config(), workflow_id="wf-log")
    workflow.task.add([ok, bad])
    with caplog.at_level(logging.INFO, logger="dotflow"):
        workflow.start(keep_going=True)
    good, failing = (task_label(t) for t in workflow.result_task())
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "dotflow"]
    for task_id, statuses in ((good, ["In progress", "Completed"]),
                              (failing, ["In progress", "Retry: RuntimeError: bad", "In progress",
                                         "Failed: RuntimeError: bad"])):
        levels = {"Retry": logging.WARNING, "Failed": logging.ERROR}
        assert [(level, line) for level, line in records if line.startswith(f"ID wf-log - {task_id} - ")] == [
            (levels.get(status.split(":")[0], logging.INFO), f"ID wf-log - {task_id} - {status}")
            for status in statuses
        ]


def test_task_creation_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Adding a task logs ``ID <workflow> - <task> - Not started``."""
    workflow = DotFlow(config=Config(), workflow_id="wf-add")
    with caplog.at_level(logging.INFO, logger="dotflow"):
        workflow.task.add(ok)
    label = task_label(workflow.result_task()[0])
    assert f"ID wf-add - {label} - Not started" in [r.getMessage() for r in caplog.records]


def test_dir_lists_each_name_once_after_lazy_loads() -> None:
    """dir() of the lazy packages names every public name once, also after some were loaded."""
    import dotflow.abc
    import dotflow.providers

    dotflow.providers.StorageFile  # noqa: B018 - loads it, which puts it in the module's globals
    dotflow.abc.Storage  # noqa: B018
    for module in (dotflow, dotflow.abc, dotflow.providers):
        names = dir(module)
        assert len(names) == len(set(names)), module.__name__
        assert set(module.__all__) <= set(names)


def test_the_1x_module_paths_still_import() -> None:
    """1.x's other import paths name this version's objects: dotflow.core.{task, context,
    workflow, dotflow, action, config, exception} and the dotflow.abc contracts http, tcp, file;
    an `except` written with a 1.x exception name still catches what is raised for that mistake."""
    import asyncio

    from dotflow import Config, Context, DotFlow, Task, action
    from dotflow.abc.file import FileClient
    from dotflow.abc.http import HTTPRequest
    from dotflow.abc.tcp import TCPClient, TCPServer
    from dotflow.core import action as core_action
    from dotflow.core import config as core_config
    from dotflow.core import context as core_context
    from dotflow.core import dotflow as core_dotflow
    from dotflow.core import exception, task, workflow
    from dotflow.execution.manager import Manager

    assert (task.Task, task.TaskInstance, context_of(core_context)) == (Task, Task, Context)
    assert (core_dotflow.DotFlow, core_action.action, core_config.Config) == (DotFlow, action, Config)
    # 1.x's Manager path also takes 1.x's call (tests/test_1x_api.py); every Manager is one
    assert issubclass(workflow.Manager, Manager) and issubclass(Manager, workflow.Manager)

    @core_action.Action
    def plain() -> int:
        return 1

    @core_action.Action(retry=2)
    def retried() -> int:
        return 2

    assert isinstance(plain, core_action.Action) and isinstance(retried, core_action.Action)
    assert not isinstance(lambda: None, core_action.Action)
    flow = DotFlow()
    flow.task.add(plain).add(retried)
    flow.start()
    assert flow.result_storage() == [1, 2]
    with pytest.raises(exception.MissingActionDecorator):
        DotFlow().task.add(step=lambda: None)
    with pytest.raises(exception.ExecutionModeNotExist):
        DotFlow().start(mode="sideways")

    class Files(FileClient):
        store: dict[str, str] = {}

        @classmethod
        def write(cls, path: str, content: str, mode: str, encoding: str) -> None:
            cls.store[path] = content

        @classmethod
        def read(cls, path: str) -> str:
            return cls.store[path]

    Files.write("a", "text", "w", "utf-8")
    assert Files.read("a") == "text"
    # each contract's own arguments: what makes them refuse is only that they are abstract
    for make in (lambda: FileClient(), lambda: HTTPRequest("url", print), lambda: TCPClient("url"),
                 lambda: TCPServer("url", print)):
        with pytest.raises(TypeError, match="abstract"):
            make()  # type: ignore[abstract]

    class Echo(TCPServer):
        async def receiver(self) -> None:
            self.context = "received"

        async def run(self) -> None:
            await self.receiver()

    server = Echo("tcp://127.0.0.1:1", print)
    asyncio.run(server.run())
    assert server.context == "received"


def context_of(module: Any) -> Any:
    assert module.ContextInstance is module.Context
    return module.Context
