"""Failures as Sentry events, runs as Sentry transactions: ``python examples/sentry_errors.py`` (needs dotflow[sentry]).

With ``SENTRY_DSN`` set it reports to that project. Without it, a transport that keeps the
envelopes in memory stands in for the network, and the script prints what would have been sent.
"""

from __future__ import annotations

import os

import sentry_sdk.transport

from dotflow import Config, DotFlow, action
from dotflow.providers import LogSentry, TracerSentry


class PrintTransport(sentry_sdk.transport.Transport):
    """Keeps the envelopes instead of sending them."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list = []

    def capture_envelope(self, envelope) -> None:
        self.items.extend(item.payload.json for item in envelope.items if item.type in ("event", "transaction"))


@action
def fetch():
    return {"orders": 12}


@action
def price(previous_context):
    raise KeyError("currency")


def main() -> None:
    dsn = os.environ.get("SENTRY_DSN")
    local = None if dsn else PrintTransport()
    options = {} if dsn else {"transport": local, "default_integrations": False}
    log = LogSentry(dsn=dsn or "https://examplekey@127.0.0.1/1", environment="example", **options)
    tracer = TracerSentry()  # shares LogSentry's client; traces every run
    flow = DotFlow(config=Config(log=log, tracer=tracer), workflow_id="nightly-orders")
    flow.task.add(step=[fetch, price])
    flow.start()
    flow.flush(5)
    if local is None:
        print("sent to", repr(log))
        return
    for item in local.items:
        if item.get("type") == "transaction":
            spans = ", ".join(f"{s['description']}={s['status']}" for s in item["spans"])
            print(f"transaction {item['transaction']} {item['contexts']['trace']['status']}: {spans}")
        else:
            error = item["exception"]["values"][-1]
            crumbs = len(item["breadcrumbs"]["values"])
            print(f"event {error['type']} on {item['tags']['dotflow.step']} with {crumbs} breadcrumbs")


if __name__ == "__main__":
    main()
