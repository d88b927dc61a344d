"""The Federation protocol: authenticate, authorize, answer, keep books."""
