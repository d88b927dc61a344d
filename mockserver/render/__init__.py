"""`esi-mock render`: what Secret an External Secrets Enterprise controller would write.

Client-side manifests (`kinds`) are reconciled as ESO does (`externalsecret`) through the
`externalsecrets` provider and the `Federation` generator (`clients`), correct or as released,
against a Federation Server; the result is printed as manifests (`secret`).
"""

from .environment import Environment, from_mock, from_state_dir
from .render import RenderResult, diff, load, render

__all__ = ["Environment", "RenderResult", "diff", "from_mock", "from_state_dir", "load", "render"]
