"""A small, independent Federation Server with switchable defects (the "zoo").

It implements the protocol from the reference alone (it imports neither `mockserver` nor
`conformance`), so that the conformance suite can be shown to judge the protocol rather than the
mock: the defect-free server passes every MUST, and each defect in `DEFECTS` makes the
requirements it names FAIL.

    from tests.zoo import ZooServer, DEFECTS
    with ZooServer("manifests.yaml", defects={"accept-alg-none"}) as zoo:
        zoo.url  # http://127.0.0.1:<port>

CLI: `python -m tests.zoo.server --manifests FILE [--defect NAME]...`.
"""

from tests.zoo.defects import DEFECTS, Defect
from tests.zoo.server import ZooServer

__all__ = ["DEFECTS", "Defect", "ZooServer"]
