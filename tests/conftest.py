"""Shared fixtures: S3 (moto server) and GCS (gcp-storage-emulator) over real HTTP on 127.0.0.1,
a real Dask cluster, and ``executor``, which runs a test once per executor.

Both storage servers run in threads of the test process, one per session; each test gets a fresh
bucket. The Dask scheduler and worker are subprocesses, started once for the session when a test
first needs them.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

# Fake credentials: moto accepts any, and they must never look like real ones.
FAKE_AWS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto S3 server running in a thread on 127.0.0.1 for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    """A boto3 S3 client pointed at the moto server with fake credentials."""
    import boto3

    session = boto3.session.Session(region_name="us-east-1", **FAKE_AWS)
    return session.client("s3", endpoint_url=moto_endpoint)


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A fresh, empty bucket on the moto server for one test."""
    name = f"dotflow-test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    """URL of an in-memory gcp-storage-emulator running in a thread on 127.0.0.1 for the whole session."""
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gcs_client(gcs_endpoint: str) -> Any:
    """A google.cloud.storage Client pointed at the emulator with anonymous credentials."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project="dotflow-test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcs_endpoint},
    )


@pytest.fixture
def gcs_bucket(gcs_client: Any) -> str:
    """A fresh, empty bucket on the GCS emulator for one test."""
    name = f"dotflow-test-{uuid.uuid4().hex[:12]}"
    gcs_client.create_bucket(name)
    return name


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A ``dask scheduler`` and one ``dask worker`` (see tests/dask_support.py) for the session."""
    pytest.importorskip("distributed")
    from dask_support import running_cluster

    with running_cluster(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


@pytest.fixture(params=["thread", "process", "dask"])
def executor(request: pytest.FixtureRequest) -> str:
    """Where a mode test's step calls run: a thread pool, a process pool, or the Dask cluster (its
    ``tcp://`` address). The run's own threads keep statuses, retries, callbacks and storage
    whatever it is, so a test of a mode's semantics must pass on each."""
    if request.param != "dask":
        return str(request.param)
    cluster = request.getfixturevalue("dask_cluster")
    cluster.worker_pid()  # a worker replaced by an earlier test is connected again
    return str(cluster.address)
