"""Every log record of the process goes through the running mocks' redactors.

Several mocks may run in one process (a test session); each registers its redactor while it runs.
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

from mockserver.admin.redaction import Redactor, apply_spans, merge_spans

_lock = threading.Lock()
_redactors: tuple[Redactor, ...] = ()
_installed = False


def redact_log_records(redactor: Redactor) -> Callable[[], None]:
    """Scrub every log record made from now on with `redactor` (beside those of other running
    mocks); call the result to stop."""
    global _redactors, _installed
    with _lock:
        _redactors = (*_redactors, redactor)
        if not _installed:
            logging.setLogRecordFactory(_scrubbing_factory(logging.getLogRecordFactory()))
            _installed = True

    def stop() -> None:
        global _redactors
        with _lock:
            _redactors = tuple(r for r in _redactors if r is not redactor)

    return stop


def _scrubbing_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redactors = _redactors
        if redactors:
            scrub_record(record, redactors)
        return record

    return factory


def scrub_record(record: logging.LogRecord, redactors: tuple[Redactor, ...]) -> None:
    """Replace the record's message, traceback and stack with their scrubbed text."""

    def clean(text: str) -> str:
        # Every redactor looks at the same text, so one cannot shred a secret another knows
        # whole; the spans are merged, each named by its longest match.
        return apply_spans(text, merge_spans(s for r in redactors for s in r.spans(text)))

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
