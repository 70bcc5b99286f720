"""The background worker: advances every campaign that waits on the network or on a crash-interrupted step.

It starts with the app and stops with it. On start it resumes whatever the database says is in flight:
campaigns stuck in a local step, proposals to create or poll, and deliveries not yet 'delivered'.
"""

from __future__ import annotations

import threading
import time

from reference371os.conduit.workflow import DAO_SUBMIT, DAO_VOTE, DELIVERING, LOCAL_STAGES, Workflow

POLL_INTERVAL_S = 0.1
MAX_IDLE_S = 5.0
# With nothing pending the pause doubles up to this: work only arrives through this service's API, which wakes the
# worker at once, so an idle conduit need not query its database ten times a second.
MAX_IDLE_POLL_S = 1.0
PASS_BUDGET_S = 0.5  # a pass re-reads the pending work at least this often


class CampaignWorker:
    def __init__(self, workflow: Workflow, interval: float = POLL_INTERVAL_S) -> None:
        self.workflow = workflow
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle_passes = 0  # passes in a row that found nothing pending

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="conduit-campaign-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Called after a request that created work, so delivery starts without waiting for the next tick."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        log = self.workflow.log
        failures = 0
        while not self._stop.is_set():
            try:
                wait = 0.0 if self.run_once() else self._pause()  # 0: the pass ran out of time with work left
                failures = 0
            except Exception as exc:  # the database may be down: log, back off, retry; the worker must not die
                failures += 1
                wait = min(MAX_IDLE_S, self.interval * 2**failures)
                if failures == 1:
                    log.exception("campaign worker pass failed; retrying with back-off")
                else:
                    log.warning("campaign worker pass failed again (%s); next try in %.1f s", type(exc).__name__, wait)
            due = self.workflow.unanchored.due_in()
            self._wake.wait(wait if due is None else min(wait, due))
            self._wake.clear()
        try:
            self.workflow.flush_anchors(force=True)  # what this worker delivered is anchored before it stops
        except Exception:
            log.exception("anchoring the last deliveries on stop failed")

    def run_once(self) -> bool:
        """One pass over the pending work; True when it stopped on its time budget with work left, so that work
        that arrived meanwhile is fetched again and put ahead of a retry backlog (pending_work's order)."""
        wf = self.workflow
        deadline = time.monotonic() + PASS_BUDGET_S
        pending = wf.pending_work()
        self._idle_passes = 0 if pending else self._idle_passes + 1
        try:
            for campaign_id, stage in pending:
                if self._stop.is_set():
                    return False
                if time.monotonic() > deadline:
                    return True
                if not wf.is_due(campaign_id, stage):
                    continue
                try:
                    self._step(campaign_id, stage)
                except Exception:  # one broken campaign must not starve the others
                    delay = wf.defer(campaign_id)
                    wf.log.exception("campaign %s: step %s failed; retrying in %.1f s", campaign_id, stage, delay)
            return False
        finally:
            wf.flush_anchors()  # if due: one chain transaction for many deliveries, not one per email

    def _pause(self) -> float:
        """Until the next pass: the poll interval, doubling with each pass in a row that found nothing pending."""
        return min(MAX_IDLE_POLL_S, self.interval * 2 ** min(self._idle_passes, 8))

    def _step(self, campaign_id: str, stage: str) -> None:
        wf = self.workflow
        if stage in LOCAL_STAGES:
            wf.advance(campaign_id)
        elif stage == DAO_SUBMIT:
            wf.submit_dao(campaign_id)
        elif stage == DAO_VOTE:
            wf.poll_dao(campaign_id)
        elif stage == DELIVERING:
            wf.deliver(campaign_id, self._stop)
