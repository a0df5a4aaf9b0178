"""Admission to exam starts when hundreds of candidates press 开始 in the same minute.

Starting an attempt is cheap, but a township exam session can still send more starts at
once than the database should take. At most ``EXAM_START_CONCURRENCY`` starts run at a
time (per app, or across all instances when REDIS_URL is set: the counters live in the
rate limiter's storage, academy.ratelimit). A start that finds the gate full is not an
error: it gets a ticket and a queue position, and the page retries by itself after
``retry_after`` seconds, keeping its ticket. The position shown is the ticket minus the
tickets served so far (an estimate: someone who gives up keeps a number nobody serves).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app

from academy import ratelimit

WINDOW = 600  # seconds the counters live (a session's rush is over well before)


@dataclass(frozen=True)
class Queued:
    ticket: int
    position: int
    retry_after: int


def _key(exam_id: int, what: str) -> str:
    return f"exam-start:{exam_id}:{what}"


@contextmanager
def admitted(exam_id: int, ticket: int | None) -> Iterator[Queued | None]:
    """``with admitted(exam.id, ticket) as queued:`` — ``queued`` is None when the start may
    run now (and the slot is released afterwards), else the candidate's place in the queue."""
    limit = current_app.config["EXAM_START_CONCURRENCY"]
    inflight = _key(exam_id, "inflight")
    served = _key(exam_id, "served")
    tickets = _key(exam_id, "tickets")
    if ratelimit.incr(inflight, WINDOW) > limit:
        ratelimit.decr(inflight)
        yield _queue(tickets, served, ticket)
        return
    try:
        yield None
    finally:
        ratelimit.decr(inflight)
        if ticket is not None:
            ratelimit.incr(served, WINDOW)


def _queue(tickets: str, served: str, ticket: int | None) -> Queued:
    if ticket is None:
        ticket = ratelimit.incr(tickets, WINDOW)
    position = max(1, ticket - ratelimit.get(served))
    return Queued(ticket, position, retry_after=min(10, 1 + position // 20))
