"""Every log record of the process goes through the running mocks' redactors.

A filter on our own loggers is not enough: Flask logs an app's failure on its own logger with
its own handler, Werkzeug on another, and a record's traceback is formatted by whichever handler
emits it. So the scrubbing happens where every record is made (the logging record factory): the
message is formatted once, scrubbed, and the traceback and stack text are kept already scrubbed
(the raw exception is let go, so no handler can render it again in clear).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

Scrub = Callable[[str], str]

_lock = threading.Lock()
_scrubbers: tuple[Scrub, ...] = ()
_installed = False


def redact_log_records(scrub: Scrub) -> Callable[[], None]:
    """Scrub every log record made from now on with `scrub`; call the result to stop."""
    global _scrubbers, _installed
    with _lock:
        _scrubbers = (*_scrubbers, scrub)
        if not _installed:
            logging.setLogRecordFactory(_scrubbing_factory(logging.getLogRecordFactory()))
            _installed = True

    def stop() -> None:
        global _scrubbers
        with _lock:
            remaining = list(_scrubbers)
            if scrub in remaining:
                remaining.remove(scrub)
            _scrubbers = tuple(remaining)

    return stop


def _scrubbing_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        scrubbers = _scrubbers
        if scrubbers:
            scrub_record(record, scrubbers)
        return record

    return factory


def scrub_record(record: logging.LogRecord, scrubbers: tuple[Scrub, ...]) -> None:
    """Replace the record's message, traceback and stack with their scrubbed text."""

    def clean(text: str) -> str:
        for scrub in scrubbers:
            text = scrub(text)
        return text

    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging reports it when the record is emitted
        return
    record.msg, record.args = clean(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = clean("".join(traceback.format_exception(*record.exc_info)).rstrip())
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = clean(record.exc_text)
    if record.stack_info:
        record.stack_info = clean(record.stack_info)
