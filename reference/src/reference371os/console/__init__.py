"""The reference console: server-rendered pages over the public 371OS API, served by the gateway at /console."""

from reference371os.console.routes import console_router

__all__ = ["console_router"]
