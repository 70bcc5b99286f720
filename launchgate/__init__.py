"""launchgate: release-readiness harness for 371OS."""

import sys

# httpx imports its own command-line client (click, rich, pygments) whenever they are installed, which is a sixth
# of every launchgate process's start-up (the services', the CLI's, each pytest run's). Nothing here uses that
# client; with its module marked absent httpx falls back to the stub it has for that case.
sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]
