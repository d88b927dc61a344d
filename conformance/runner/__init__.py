"""The server runner: drives a Federation Server through the scenario catalogue.

`conformance.runner.api.run_server_suite` is the entry point; `api.EmbeddedMock` starts the mock
as a target with every hook; `conformance.bundle.BundleClusters` starts the fake clusters of a
vendor bundle. This package file imports nothing, so `conformance.bundle` can use
`conformance.runner.clusters` without a cycle through the runner.
"""
