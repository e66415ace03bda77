"""Time per report against a keep-alive dev server with Nagle on: what TCP_QUICKACK saves.

Usage: python bench_keepalive.py [-n 200]

Runs under this repo's python (it needs dotflow's ``QuickAckAdapter``). Starts
``tests/fault_server.py healthy`` in its own process: a plain keep-alive ``http.server`` that
writes an answer's headers and body in two writes with Nagle on, as Flask's and Django's dev
servers do. Then sends ``-n`` POSTs of a small JSON body three ways, in turn:

* ``session``: one ``requests.Session`` (keep-alive), as a plain client does: each answer
  waits for the client's delayed ACK (~40 ms on Linux);
* ``quickack``: the same with dotflow's ``QuickAckAdapter`` mounted (TCP_QUICKACK set before
  each answer is read), what ``ServerAPI``'s connections use;
* ``new-connection``: ``requests.post`` with a new connection per call, as dotflow 1.0.1
  reports.

Then the client's CPU per report through dotflow's two kinds of connection, the same POSTs on
one keep-alive connection each, timed with ``time.process_time()`` (the server is another process):

* ``direct``: the connection ``ServerAPI`` makes without a proxy (``dotflow.delivery._direct``);
* ``pool``: the one it makes through a proxy or an injected ``requests.Session`` (urllib3).

Prints the median ms per request of each, and µs of client CPU per request; last line JSON
``{"figure": "keepalive", ...}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable

from _common import emit, median, temp_cwd
from bench_reporting import FaultServer, load_fault_server


def per_request(send: Callable[[], Any], count: int) -> float:
    """Median ms of ``count`` calls of ``send`` (after 3 untimed ones)."""
    for _ in range(3):
        send()
    times = []
    for _ in range(count):
        begin = time.perf_counter()
        send()
        times.append((time.perf_counter() - begin) * 1000)
    return median(times)


def cpu_per_request(send: Callable[[], Any], count: int) -> float:
    """µs of this process's CPU per call of ``send``, over ``count`` calls (after 3 untimed ones)."""
    for _ in range(3):
        send()
    begin = time.process_time()
    for _ in range(count):
        send()
    return (time.process_time() - begin) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    count = max(10, min(parser.parse_args().n, 2000))
    import requests

    from dotflow.delivery._quickack import QUICKACK, QuickAckAdapter

    fault = load_fault_server()
    body = b'{"status": "In progress"}'
    headers = {"Content-Type": "application/json", "X-User-Token": "bench-token"}
    results: dict[str, float] = {}
    cpu: dict[str, float] = {}
    with temp_cwd() as tmp:
        server = FaultServer(fault.__file__, "healthy", None, tmp)
        try:
            url = f"{server.url}/workflows/bench/tasks"
            plain = requests.Session()
            quick = requests.Session()
            quick.mount("http://", QuickAckAdapter())
            results["session"] = per_request(lambda: plain.post(url, data=body, headers=headers).content, count)
            results["quickack"] = per_request(lambda: quick.post(url, data=body, headers=headers).content, count)
            results["new-connection"] = per_request(
                lambda: requests.post(url, data=body, headers={**headers, "Connection": "close"}).content, count
            )
            from dotflow.delivery.http import Transport

            token = {"X-User-Token": "bench-token"}
            direct = Transport(server.url, token).connect()
            pool = Transport(server.url, token, session=quick).connect()
            for name, connection in (("direct", direct), ("pool", pool)):
                cpu[name] = cpu_per_request(
                    lambda c=connection: c.request("POST", "/workflows/bench/tasks", body, 5.0, {}), count * 5
                )
                connection.close()
        finally:
            server.stop()
    for name, ms in results.items():
        print(f"{name:15} {ms:8.2f} ms per request (median of {count})")
    for name, us in cpu.items():
        print(f"{name:15} {us:8.1f} µs of client CPU per request ({count * 5} requests)")
    emit({"figure": "keepalive", "n": count, "quickack_available": QUICKACK is not None,
          "cpus": os.cpu_count(), "python": sys.version.split()[0], "ms_per_request": results,
          "client_cpu_us_per_request": cpu})


if __name__ == "__main__":
    main()
