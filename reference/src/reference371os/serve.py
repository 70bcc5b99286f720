"""Process entry point: `python -m reference371os.serve NAME` runs one reference-stack service."""

from __future__ import annotations

import importlib
import os
import sys

import uvicorn

from reference371os.config import ServiceConfig
from reference371os.layout import SERVICE_NAMES


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in SERVICE_NAMES:
        sys.exit(f"usage: python -m reference371os.serve {{{'|'.join(SERVICE_NAMES)}}}")
    config = ServiceConfig.from_env(name)
    module = importlib.import_module(f"reference371os.{name}.app")
    app = module.build_app(config)
    uvicorn.run(
        app,
        host="127.0.0.1",
        # LG_PORT: a release slot's extra process (reference371os/slots.py) listens beside the original.
        port=int(os.environ.get("LG_PORT") or config.ports.service(name)),
        log_config=None,
        access_log=config.log_level == "DEBUG",
        timeout_graceful_shutdown=3,
        # Idle connections are closed by their clients, never under them: uvicorn's default of 5 s is shorter than
        # the gateway's upstream pool keeps them (30 s), and a request sent on a connection the service was closing
        # came back as a 502 (seen once in a soak: "upstream platform failed on POST /api/social/posts: ReadError").
        timeout_keep_alive=75,
        # The gateway is the edge: a client's X-Forwarded-For must not choose its rate-limit bucket.
        # Services behind it keep trusting loopback, where the gateway sets that header itself.
        proxy_headers=name != "gateway",
    )


if __name__ == "__main__":
    main()
