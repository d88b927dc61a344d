"""The web console: the admin API's pages (journal, state, faults and modes, conformance results).

A Flask blueprint the admin app registers at its root. The pages are plain HTML and JavaScript
shipped in the wheel; they call the admin API with `fetch()` and need no network beyond it.
"""

from mockserver.console.views import CONSOLE_GUARD, CONSOLE_RESULTS, console

__all__ = ["CONSOLE_GUARD", "CONSOLE_RESULTS", "console"]
