"""The long-running worker: scheduled jobs (never two runs of one at once) and background loops,
all stopping within seconds on SIGTERM/SIGINT. With a lease (graphstore/lease.py), the scheduled
reconciliation runs on whichever worker holds it, one at a time however many run; the others only
consume events, and one of them takes over, running its reconciliation at once, when the holder dies."""
from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config import Settings
from jobs.metrics import Metrics

log = logging.getLogger("lineage.worker")

Task = Callable[[threading.Event], object]  # receives the stop event; returns when done or stopping (result unused)


class Lease(Protocol):
    name: str
    owner: str
    ttl: float

    @property
    def held(self) -> bool: ...

    def refresh(self) -> bool: ...

    def release(self) -> None: ...


@dataclass
class ScheduledJob:
    id: str
    trigger: BaseTrigger
    run: Task
    run_at_start: bool = True


def sync_trigger(settings: Settings) -> BaseTrigger:
    if settings.sync_cron:
        return CronTrigger.from_crontab(settings.sync_cron, timezone=timezone.utc)
    return IntervalTrigger(seconds=settings.sync_interval_seconds, timezone=timezone.utc)


class Worker:
    def __init__(self, jobs: list[ScheduledJob], background: list[tuple[str, Task]] | None = None,
                 shutdown_grace: float = 15.0, lease: Lease | None = None, metrics: Metrics | None = None) -> None:
        self.jobs = jobs
        self.lease = lease
        self.metrics = metrics if metrics is not None else Metrics()
        self.background = background or []
        self.shutdown_grace = shutdown_grace
        self.stopping = threading.Event()
        self.scheduler = BackgroundScheduler(timezone=timezone.utc)
        self._threads: list[threading.Thread] = []

    def _guarded(self, job: ScheduledJob) -> Callable[[], None]:
        def run() -> None:
            if self.stopping.is_set():
                return
            if self.lease is not None and not self.lease.held:
                log.info("job %s skipped: another worker holds the lease %s", job.id, self.lease.name)
                self.metrics.job_skipped(job.id)
                return
            started = time.monotonic()
            try:
                result = job.run(self.stopping)
            except Exception:  # the schedule goes on; the next run retries
                log.exception("scheduled job %s failed", job.id)
                self.metrics.job_finished(job.id, time.monotonic() - started, ok=False)
                return
            self.metrics.job_finished(job.id, time.monotonic() - started, ok=True, result=result)
        return run

    def _skipped(self, event: JobExecutionEvent) -> None:
        log.warning("job %s still running at its next scheduled time; this run is skipped", event.job_id)

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: self.stop(signal.Signals(signum).name))

    def _keep_lease(self, stop: threading.Event) -> None:
        """Renew the lease (a quarter of its time apart); on taking it over, run the jobs due at start at once."""
        assert self.lease is not None
        held = self.lease.held
        while not stop.wait(self.lease.ttl / 4):
            now_held = self.lease.refresh()
            if now_held and not held:
                now = datetime.now(timezone.utc)
                for job in self.jobs:
                    if job.run_at_start:
                        self.scheduler.modify_job(job.id, next_run_time=now)
            held = now_held
        self.lease.release()

    def stop(self, reason: str = "stop requested") -> None:
        if not self.stopping.is_set():
            log.info("stopping: %s", reason)
        self.stopping.set()

    def run(self) -> None:
        now = datetime.now(timezone.utc)
        for job in self.jobs:
            self.scheduler.add_job(self._guarded(job), job.trigger, id=job.id, max_instances=1, coalesce=True,
                                   misfire_grace_time=60, next_run_time=now if job.run_at_start else None)
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        if self.lease is not None:
            self.lease.refresh()  # before the jobs' first run
            self.background.append(("lease", self._keep_lease))
        self.scheduler.start()
        for name, task in self.background:
            thread = threading.Thread(target=task, args=(self.stopping,), name=f"worker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker started", extra={"fields": {
            "jobs": {j.id: str(j.trigger) for j in self.jobs}, "background": [n for n, _ in self.background]}})
        self.stopping.wait()
        # Running jobs see `stopping` between units of work; wait for them briefly, not forever.
        self.scheduler.shutdown(wait=False)
        deadline = threading.Event()
        timer = threading.Timer(self.shutdown_grace, deadline.set)
        timer.start()
        for thread in self._threads + [t for t in threading.enumerate()
                                       if t.name.startswith("ThreadPoolExecutor") and t.is_alive()]:
            while thread.is_alive() and not deadline.is_set():
                thread.join(timeout=0.2)
        timer.cancel()
        log.info("worker stopped")
