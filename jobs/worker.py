"""The long-running worker: the scheduled reconciliation sync, never two at once, stopping on a signal."""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timezone
from typing import Callable

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config import Settings

log = logging.getLogger("lineage.worker")


def make_trigger(settings: Settings) -> CronTrigger | IntervalTrigger:
    if settings.sync_cron:
        return CronTrigger.from_crontab(settings.sync_cron, timezone=timezone.utc)
    return IntervalTrigger(seconds=settings.sync_interval_seconds, timezone=timezone.utc)


class Worker:
    """Runs `sync` on the schedule; `stop` (or SIGTERM/SIGINT) ends it within seconds."""

    def __init__(self, settings: Settings, sync: Callable[[threading.Event], None]) -> None:
        self.settings = settings
        self.sync = sync
        self.stopping = threading.Event()
        self.scheduler = BackgroundScheduler(timezone=timezone.utc)

    def _run_sync(self) -> None:
        if self.stopping.is_set():
            return
        try:
            self.sync(self.stopping)
        except Exception:  # the schedule goes on; the next run retries
            log.exception("scheduled sync failed")

    def _skipped(self, event: JobExecutionEvent) -> None:
        log.warning("sync still running at its next scheduled time; this run is skipped")

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: self.stop(signal.Signals(signum).name))

    def stop(self, reason: str = "stop requested") -> None:
        if not self.stopping.is_set():
            log.info("stopping: %s", reason)
        self.stopping.set()

    def run(self) -> None:
        first = datetime.now(timezone.utc) if self.settings.sync_on_start else None
        self.scheduler.add_job(self._run_sync, make_trigger(self.settings), id="sagemaker-sync",
                               max_instances=1, coalesce=True, misfire_grace_time=60, next_run_time=first)
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start()
        log.info("worker started", extra={"fields": {"schedule": str(make_trigger(self.settings))}})
        self.stopping.wait()
        # The running sync sees `stopping` between pipelines; wait for it briefly, not forever.
        self.scheduler.shutdown(wait=False)
        for thread in threading.enumerate():
            if thread.name.startswith("ThreadPoolExecutor") and thread.is_alive():
                thread.join(timeout=10)
        log.info("worker stopped")
