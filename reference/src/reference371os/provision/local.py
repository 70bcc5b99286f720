"""`--provision local`: anvil, PostgreSQL and Prometheus as processes on 127.0.0.1, each by PID."""

from __future__ import annotations

import os

import httpx

from reference371os import procs
from reference371os.manager import CHAIN_ID
from reference371os.provision import Provisioner
from reference371os.provision.prometheus import INSTALL_HINT, prometheus_binary, write_config
from reference371os.tools import BOOTSTRAP_HINT, anvil_binary

# Chain state survives `stack down`/`up` (anvil writes it on SIGTERM too), so earlier anchors stay verifiable; a
# crash loses at most the last minute. The whole state, blocks and transactions included, is rewritten at each
# interval, so its cost grows with the chain: every 5 s it took 50 MB of JSON after ten gate runs.
# The states of the last 256 blocks only (--prune-history 256), enough to replay a recent transaction for its revert
# reason: anvil otherwise kept one per block in memory (3 GB after ten gate runs) and wrote those past its window
# to ~/.foundry/anvil/tmp, left behind when it is killed. Blocks, receipts and logs all stay.
ANVIL_STATE_FLAGS = ("--prune-history", "256", "--state-interval", "60", "--state")


class LocalProvisioner(Provisioner):
    kind = "local"

    def preflight(self) -> None:
        if anvil_binary() is None:
            raise procs.StackError(f"anvil not found (npm package @foundry-rs/anvil): {BOOTSTRAP_HINT}")
        if self.stack.options.prometheus and prometheus_binary() is None:
            raise procs.StackError(f"prometheus not found: {INSTALL_HINT}, or start the stack with --no-prometheus")

    def start(self, name: str) -> None:
        if name == "postgres":
            self.stack.postgres.start()
        elif name == "anvil":
            self._start_anvil()
        elif name == "prometheus":
            self._start_prometheus()
        else:
            raise procs.StackError(f"no dependency {name!r}")

    def _start_anvil(self) -> None:
        stack = self.stack
        binary = anvil_binary()
        assert binary is not None
        cmd = [
            str(binary), "--host", "127.0.0.1", "--port", str(stack.ports.anvil), "--chain-id", str(CHAIN_ID),
            *ANVIL_STATE_FLAGS, str(stack.data / "anvil-state.json"),
        ]
        stack._children["anvil"] = procs.start(
            cmd, env=os.environ, log=stack.logs / "anvil.log", pidfile=stack.pids / "anvil.pid"
        )
        stack._await("anvil", stack._anvil_ready)

    def _start_prometheus(self) -> None:
        stack = self.stack
        binary = prometheus_binary()
        assert binary is not None
        root = stack.state_dir / "prometheus"
        config = write_config(root / "config", stack.ports, stack.options.scrape_interval)
        cmd = [
            str(binary), f"--config.file={config}", f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{stack.ports.prometheus}", "--log.level=warn",
        ]
        stack._children["prometheus"] = procs.start(
            cmd, env=os.environ, log=stack.logs / "prometheus.log", pidfile=stack.pids / "prometheus.pid"
        )
        stack._await("prometheus", lambda: prometheus_ready(stack.prometheus_url))


def prometheus_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
