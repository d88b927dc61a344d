"""A mock plus a bare Flask endpoint on the same server stack, for the request benchmark.

Prints one JSON line (URLs, the caller's token and body) and serves until stdin closes.
"""

from __future__ import annotations

import json
import sys
import tempfile

from flask import Flask, Response

from mockserver.runtime import MockServer
from mockserver.serving import Listener


def bare_app() -> Flask:
    app = Flask("bench.bare")

    @app.post("/secretstore/<store>/secrets/<key>")
    def bare(store: str, key: str) -> Response:
        return Response(b'"hello"\n', content_type="application/json")

    return app


def main() -> None:
    import base64

    with tempfile.TemporaryDirectory(prefix="esi-bench-") as state:
        server = MockServer(state_dir=state, refresh_volumes=False).start()
        bare = Listener(bare_app(), name="bare").start()
        alpha = server.clusters["alpha"]
        print(
            json.dumps(
                {
                    "federation_url": server.federation_url,
                    "bare_url": bare.url,
                    "token": alpha.mint("team-a/web", duration=7200),
                    "body": json.dumps({"ca.crt": base64.b64encode(alpha.ca.cert_pem).decode()}),
                    "okta_token": server.admin.idp_token(
                        "okta", subject="0oa-esi-ci-client", duration=7200
                    ),
                }
            ),
            flush=True,
        )
        sys.stdin.read()
        bare.stop()
        server.stop()


if __name__ == "__main__":
    main()
