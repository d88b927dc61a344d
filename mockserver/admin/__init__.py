"""The admin side of the mock: request journal, redaction, faults, admin API and its client.

`MockServer` wires these together; `MockControl` is the in-process API the HTTP admin API and the
pytest plugin share; `AdminClient` speaks the HTTP admin API for the CLI and other processes.
"""

from mockserver.admin.control import AdminError, MockControl, MockThreadError
from mockserver.admin.redaction import Redactor, fingerprint

__all__ = ["AdminError", "MockControl", "MockThreadError", "Redactor", "fingerprint"]
