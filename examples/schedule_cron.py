"""A workflow on a cron schedule: ``python examples/schedule_cron.py`` (needs dotflow[scheduler]).

``* * * * * *`` (a 6th field counts seconds) runs it every second; ``max_runs=3`` ends the schedule
after three runs, so the script takes about three seconds. Every time is a full run.
The command line does the same: ``dotflow schedule --step pkg.mod.fn --cron '*/5 * * * *'``.
"""

from __future__ import annotations

from datetime import datetime

from dotflow import Config, DotFlow, action
from dotflow.providers import SchedulerCron

runs: list[str] = []


@action
def snapshot():
    runs.append(datetime.now().strftime("%H:%M:%S"))
    return len(runs)


def main() -> None:
    scheduler = SchedulerCron("* * * * * *", overlap="skip", max_runs=3)
    flow = DotFlow(config=Config(scheduler=scheduler))
    flow.task.add(step=snapshot)
    flow.schedule()  # blocks until max_runs; Ctrl-C interrupts the run going and ends it
    print(f"{len(runs)} runs, one second apart; the last result was {flow.result_storage()}")


if __name__ == "__main__":
    main()
