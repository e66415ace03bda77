"""Config: 1.x's keywords and positional order, built-in defaults made on first read, contract checks."""

from __future__ import annotations

import threading

import pytest

from dotflow import Config
from dotflow.abc.log import Log
from dotflow.abc.server import Server
from dotflow.errors import UsageError
from dotflow.providers import (
    LogDefault,
    MetricsDefault,
    NotifyDefault,
    SchedulerDefault,
    ServerDefault,
    StorageDefault,
    TracerDefault,
)

ROLES = ("storage", "notify", "log", "server", "scheduler", "tracer", "metrics")
DEFAULTS = (StorageDefault, NotifyDefault, LogDefault, ServerDefault, SchedulerDefault, TracerDefault, MetricsDefault)


class Quiet(Server):
    def create_workflow(self, workflow): ...
    def update_workflow(self, workflow, status=""): ...
    def create_task(self, task): ...
    def update_task(self, task): ...


def test_positional_order_is_1x() -> None:
    """``Config(storage, notify, log, server, scheduler, tracer, metrics)`` as in dotflow 1.0.1."""
    providers = [kind() for kind in DEFAULTS]
    config = Config(*providers)
    assert [getattr(config, role) for role in ROLES] == providers


def test_each_role_left_out_is_the_built_in_provider() -> None:
    config = Config()
    assert [type(getattr(config, role)) for role in ROLES] == list(DEFAULTS)
    assert config.log.output == "logger"  # the library attaches no handler of its own
    assert all(config.is_default(role) for role in ROLES)


def test_a_built_in_provider_is_made_once_and_kept() -> None:
    config = Config()
    assert config.storage is config.storage
    assert config.server is config.server


def test_two_threads_reading_first_get_one_storage() -> None:
    """The default storage is made on first read; threads racing to it must share one, or a result
    stored through one would be missing from the other."""
    for _ in range(20):
        config, seen = Config(), []
        barrier = threading.Barrier(6)

        def read(config: Config = config, seen: list = seen, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            seen.append(config.storage)

        threads = [threading.Thread(target=read) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        assert len(seen) == 6 and all(storage is seen[0] for storage in seen)


def test_is_default_tells_a_given_provider_from_a_built_in_one() -> None:
    custom = Config(server=Quiet())
    assert not custom.is_default("server")
    assert Config(server=ServerDefault()).is_default("server")  # given, but the built-in no-op


def test_an_assigned_provider_replaces_the_default() -> None:
    """As in 1.x, a provider may be set on the Config after it is made."""
    config = Config()
    server = Quiet()
    config.server = server
    assert config.server is server and not config.is_default("server")


def test_a_provider_that_breaks_its_contract_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"Config\(log=\.\.\.\) got str; .*dotflow\.abc\.log\.Log"):
        Config(log="stdout")  # type: ignore[arg-type]


def test_repr_names_every_role() -> None:
    text = repr(Config(log=LogDefault(output="logger")))
    assert text.startswith("Config(storage=") and all(f"{role}=" in text for role in ROLES)
    assert isinstance(Config().log, Log)
