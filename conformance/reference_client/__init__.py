"""A reference client of the Federation protocol with esi-cli's documented federation flags.

It stands alone: it imports neither `mockserver` nor the rest of `conformance`, so what it does
is what any client could do with the standard library. See docs/reference-client.md.
"""
