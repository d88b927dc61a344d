"""A reference client of the Federation protocol with esi-cli's documented federation flags.

It stands alone: it imports neither `mockserver` nor the rest of `conformance`, so what it does
is what any client could do with the standard library (and click for its command line). See
docs/reference-client.md.
"""

__version__ = "0.1.0"
