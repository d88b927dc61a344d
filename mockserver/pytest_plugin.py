"""pytest plugin (entry point ``pytest11``): fixtures for tests that use the mock."""
