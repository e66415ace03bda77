"""A notification when a task fails: ``python examples/notify_on_failure.py [APPRISE_URL ...]``.

- With apprise URLs as arguments (``pip install 'dotflow[notify]'``), such as
  ``'tgram://BOT_TOKEN/CHAT_ID'``, ``'discord://WEBHOOK_ID/WEBHOOK_TOKEN'``,
  ``'slack://TokenA/TokenB/TokenC'`` or ``'mailto://user:app-password@gmail.com'``, the failure goes
  to each of them (NotifyApprise).
- Else with ``DISCORD_WEBHOOK_URL`` set, it goes to that Discord channel (NotifyDiscord), or with
  ``TELEGRAM_TOKEN`` and ``TELEGRAM_CHAT_ID`` set, to that Telegram chat (NotifyTelegram).
- Else it runs offline: a webhook receiver on 127.0.0.1 stands in for Discord and prints what it
  got::

      received: Failed | ValueError: row 3 has no price

The workflow never waits for the notification: ``start()`` returns when the tasks end, and
``flow.flush()`` (or the end of the program) delivers what is pending.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dotflow import Config, DotFlow, TypeStatus, action
from dotflow.abc.notify import Notify


@action
def extract():
    return [{"item": "tea", "price": 3.5}, {"item": "cake", "price": None}]


@action
def load(previous_context):
    for number, row in enumerate(previous_context.storage, start=2):
        if row["price"] is None:
            raise ValueError(f"row {number} has no price")


def notifier(argv: list[str], received: list[dict]) -> tuple[Notify, ThreadingHTTPServer | None]:
    """The notifier the arguments and the environment ask for, and the local receiver if none does."""
    if argv:
        from dotflow.providers import NotifyApprise

        return NotifyApprise(argv, notification_type=TypeStatus.FAILED), None
    if os.environ.get("DISCORD_WEBHOOK_URL"):
        from dotflow.providers import NotifyDiscord

        return NotifyDiscord(os.environ["DISCORD_WEBHOOK_URL"], notification_type=TypeStatus.FAILED), None
    if os.environ.get("TELEGRAM_TOKEN") and os.environ.get("TELEGRAM_CHAT_ID"):
        from dotflow.providers import NotifyTelegram

        token, chat = os.environ["TELEGRAM_TOKEN"], os.environ["TELEGRAM_CHAT_ID"]
        return NotifyTelegram(token, chat, notification_type=TypeStatus.FAILED), None
    from dotflow.providers import NotifyDiscord

    receiver = _receiver(received)
    url = f"http://127.0.0.1:{receiver.server_address[1]}/api/webhooks/0/offline-example"
    return NotifyDiscord(url, notification_type=TypeStatus.FAILED), receiver


def _receiver(received: list[dict]) -> ThreadingHTTPServer:
    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str]) -> None:
    received: list[dict] = []
    notify, receiver = notifier(argv, received)
    flow = DotFlow(config=Config(notify=notify))
    flow.task.add([extract, load])
    flow.start()
    flow.flush(timeout=10)
    if receiver is not None:
        receiver.shutdown()
        for body in received:
            embed = body["embeds"][0]
            error = next(field["value"] for field in embed["fields"] if field["name"] == "Error")
            status = embed["title"].split(" ", 1)[-1]
            print(f"received: {status} | {error.replace('`', '')}")
    else:
        print(f"sent: {notify.sent}, lost: {notify.failed}")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1:])
