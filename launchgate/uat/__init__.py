"""`launchgate uat --target T [--port P]`: the sign-off page for human testers (UAT, framework §5)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from launchgate import paths
from launchgate.targets import TargetError, load_target

DEFAULT_PORT = 18360


def register(subparsers: Any) -> None:
    uat = subparsers.add_parser("uat", help="serve the UAT sign-off page (127.0.0.1) for human testers")
    uat.add_argument("--target", default="reference", help="the target profile the testers try")
    uat.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    uat.add_argument("--run-dir", help="where answers go (default reports/<stamp>-<target>-uat)")
    uat.add_argument("--features", default=str(paths.FEATURES), help="directory of *.feature files")
    uat.set_defaults(func=cmd_uat)


def cmd_uat(args: argparse.Namespace) -> int:
    # Imported here: the other subcommands need none of it.
    from launchgate.uat.scenarios import FeatureFileError, uat_scenarios
    from launchgate.uat.server import UatSite, make_server

    try:
        target = load_target(args.target)
        scenarios = uat_scenarios(Path(args.features))
    except (TargetError, FeatureFileError) as exc:
        print(f"launchgate: {exc}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"launchgate: --port must be 0-65535, found {args.port}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.run_dir or Path("reports") / f"{stamp}-{target.name}-uat").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    site = UatSite(scenarios, run_dir, target.name)
    try:
        server = make_server(site, args.port)
    except OSError as exc:
        print(f"launchgate: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"launchgate: UAT sign-off for target {target.name}: http://{host}:{port}/ "
          f"({len(scenarios)} scenario(s); answers go to {run_dir})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
