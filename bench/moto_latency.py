"""moto's server with the network between a user and AWS STS put back in.

Run as `python bench/moto_latency.py PORT DELAY_MS`. On loopback a moto STS call costs
only CPU (a few ms, shared with the client on the same two cores); a real AssumeRole
spends most of its time on the network and in AWS, 50–150 ms from the same continent.
Each STS request here waits DELAY_MS before moto answers it (IAM calls, used only to set
the benchmark up, do not), so the refresh figure measures what running role refreshes
side by side buys a user, not how two Python processes share two cores.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def with_latency(app: Any, delay: float) -> Callable[..., Iterable[bytes]]:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # SigV4's credential scope names the service: .../us-east-1/sts/aws4_request.
        if "/sts/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
            time.sleep(delay)  # sleeps without the GIL: requests wait side by side
        result: Iterable[bytes] = app(environ, start_response)
        return result

    return wrapped


def main() -> None:
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    app = with_latency(DomainDispatcherApplication(create_backend_app), delay_ms / 1000)
    server = make_server("127.0.0.1", port, app, True, request_handler=MotoRequestHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
