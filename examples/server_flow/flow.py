"""Explicit wiring: ``Config(server=ServerAPI(...))`` in your own entry point.

    python examples/managed/observer.py --port 8765 &
    python examples/server_flow/flow.py http://127.0.0.1:8765/api/v1 dev-token

This is the pattern for users who write their own entry point instead of ``dotflow start``.
The workflow id is generated here, so the backend also gets ``POST /workflows``.
"""

from __future__ import annotations

import sys

from dotflow import Config, DotFlow, action
from dotflow.providers import ServerAPI


@action
def download():
    return [3, 1, 2]


@action
def sort(previous_context):
    return sorted(previous_context.storage)


def main(base_url: str, user_token: str) -> int:
    server = ServerAPI(base_url=base_url, user_token=user_token, timeout=5.0)
    flow = DotFlow(config=Config(server=server), name="server-flow")
    flow.task.add(step=download).add(step=sort)
    flow.start()  # returns when the steps end; the reports go out in the background
    flow.flush()  # wait for delivery (at most flush_timeout); a script's exit would also wait
    print(f"workflow {flow.workflow_id}: {flow.result_storage()}; reports delivered: {server.sent}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python examples/server_flow/flow.py BASE_URL USER_TOKEN")
    sys.exit(main(sys.argv[1], sys.argv[2]))
