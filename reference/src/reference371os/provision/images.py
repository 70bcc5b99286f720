"""Container images for the stack's dependencies: which to use, and building them where no registry is.

The defaults are the official images (`postgres`, `ghcr.io/foundry-rs/foundry`, `prom/prometheus`). Where no
registry can be reached, `python -m reference371os.provision.images` builds stand-ins locally, with nothing but
the Debian mirror apt already uses: a Debian bookworm root file system made by `debootstrap` (with
PostgreSQL and Prometheus from Debian), imported with `docker import`, and one small image per dependency
on top of it (anvil is the binary the npm package ships). Each stand-in keeps its official image's
interface (entrypoint, environment), so the provisioner runs either the same way.

Builds are cached: an image whose tag exists with the current recipe label is not built again.
Redis has no image here: the reference stack keeps all its state in PostgreSQL (or SQLite) and uses no Redis.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker
import httpx
from docker.errors import APIError, BuildError, DockerException, ImageNotFound

from reference371os.paths import PROJECT_ROOT
from reference371os.provision.engine import find_engine, mounts_under
from reference371os.tools import anvil_binary

SUITE = "bookworm"
PACKAGES = ("postgresql", "prometheus", "ca-certificates")
IMAGES_DIR = PROJECT_ROOT / ".launchgate" / "images"
BASE_REPO = "launchgate/bookworm-base"
RECIPE_LABEL = "org.launchgate.recipe"
RECIPE_VERSION = "1"  # bump when the build steps below change in a way the hashed inputs do not show
MIRROR_TIMEOUT_S = 10.0
DEBOOTSTRAP_TIMEOUT_S = 600.0  # a stalled mirror must not eat the CI budget
DEPENDENCIES = ("postgres", "anvil", "prometheus")

# The official images, used when present or pullable.
DEFAULT_IMAGES = {
    "postgres": "postgres",
    "anvil": "ghcr.io/foundry-rs/foundry",
    "prometheus": "prom/prometheus",
}
# The stand-ins this module builds.
LOCAL_IMAGES = {
    "postgres": "launchgate/postgres:bookworm",
    "anvil": "launchgate/anvil:bookworm",
    "prometheus": "launchgate/prometheus:bookworm",
}
BUILD_HINT = (
    "build local stand-ins with `python -m reference371os.provision.images` (Debian bookworm via debootstrap, a few "
    "minutes once), or point to another image with `--image {name}=REF` (or LAUNCHGATE_IMAGE_{upper})"
)

# The official postgres image's interface (PGDATA, POSTGRES_USER, POSTGRES_HOST_AUTH_METHOD,
# POSTGRES_INITDB_ARGS, `postgres ...` as the command), without its extras.
POSTGRES_ENTRYPOINT = r"""#!/bin/sh
set -eu
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
export PATH="$bindir:$PATH"
if [ "${1:-}" = "postgres" ]; then
  : "${PGDATA:=/var/lib/postgresql/data}"
  export PGDATA
  if [ "$(id -u)" = "0" ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres {} +
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    # shellcheck disable=SC2086
    initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --auth="${POSTGRES_HOST_AUTH_METHOD:-trust}" \
      ${POSTGRES_INITDB_ARGS:---encoding=UTF8 --locale=C.UTF-8}
  fi
fi
exec "$@"
"""

DOCKERFILES = {
    "postgres": """FROM {base}
ENV LANG=C.UTF-8 PGDATA=/var/lib/postgresql/data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
""",
    # The official foundry image runs its command through a shell; so does this one.
    "anvil": """FROM {base}
COPY anvil /usr/local/bin/anvil
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["anvil --host 127.0.0.1"]
""",
    "prometheus": """FROM {base}
USER nobody
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
""",
}

Log = Callable[[str], None]


class ImageBuildError(Exception):
    """A local image could not be built; the message says which step failed and what to do."""


# -- which image -------------------------------------------------------------------------------------------
def configured_image(name: str, images: dict[str, str]) -> str | None:
    """The image asked for: `--image name=REF` (stored in the stack options), else LAUNCHGATE_IMAGE_<NAME>."""
    return images.get(name) or os.environ.get(f"LAUNCHGATE_IMAGE_{name.upper()}") or None


def image_exists(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except ImageNotFound:
        return False


def _label(client: docker.DockerClient, ref: str) -> str | None:
    try:
        return (client.images.get(ref).labels or {}).get(RECIPE_LABEL)
    except ImageNotFound:
        return None


# -- recipes -----------------------------------------------------------------------------------------------
def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def base_tag() -> str:
    return f"{BASE_REPO}:{SUITE}-{_digest(RECIPE_VERSION, SUITE, *PACKAGES)}"


def _context_files(name: str) -> dict[str, Path | str]:
    """Files next to each Dockerfile: text, or a path copied in."""
    if name == "postgres":
        return {"docker-entrypoint.sh": POSTGRES_ENTRYPOINT}
    if name == "anvil":
        binary = anvil_binary()
        if binary is None:
            raise ImageBuildError("anvil not found (npm package @foundry-rs/anvil): run `make bootstrap` first")
        return {"anvil": binary}
    return {}


def recipe(name: str) -> str:
    parts: list[str] = [base_tag(), DOCKERFILES[name]]
    for file_name, content in sorted(_context_files(name).items()):
        parts += [file_name, _file_digest(content) if isinstance(content, Path) else content]
    return _digest(*parts)


# -- building ----------------------------------------------------------------------------------------------
def apt_mirror() -> str:
    """The Debian mirror apt already uses (deb822 .sources or sources.list), else deb.debian.org."""
    override = os.environ.get("LAUNCHGATE_DEBIAN_MIRROR")
    if override:
        return override.rstrip("/")
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        stanzas = path.read_text(errors="replace").split("\n\n")
        for stanza in stanzas:
            fields = _deb822(stanza)
            if SUITE in fields.get("suites", "").split() and fields.get("uris"):
                return fields["uris"].split()[0].rstrip("/")
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            words = [w for w in line.split() if not w.startswith("[")]
            if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                return words[1].rstrip("/")
    return "http://deb.debian.org/debian"


def _deb822(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if line.startswith("#") or ":" not in line or line[:1].isspace():
            continue
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return fields


def check_mirror(mirror: str, timeout: float = MIRROR_TIMEOUT_S) -> None:
    """Fails fast, naming the mirror, where debootstrap would otherwise retry for minutes."""
    url = f"{mirror}/dists/{SUITE}/Release"
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise ImageBuildError(
            f"cannot reach the Debian mirror {mirror} ({type(exc).__name__}: {exc}); the local images are built "
            "from it. Set LAUNCHGATE_DEBIAN_MIRROR to a reachable mirror, or point --image NAME=REF at images "
            "you already have"
        ) from exc
    if response.status_code != 200:
        raise ImageBuildError(f"the Debian mirror {mirror} answered {response.status_code} for {url}")


def _remove_rootfs(root: Path) -> None:
    """debootstrap mounts /proc and /sys inside the root; a killed run can leave them: unmount, never delete
    through a mount."""
    for point in sorted(mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    left = mounts_under(root)
    if left:
        raise ImageBuildError(f"cannot remove {root}: still mounted there: {', '.join(left)}")
    if root.exists():
        shutil.rmtree(root)


def debootstrap(root: Path, mirror: str, log: Log, timeout: float = DEBOOTSTRAP_TIMEOUT_S) -> None:
    binary = shutil.which("debootstrap")
    if binary is None:
        raise ImageBuildError("debootstrap is not installed: apt-get install -y debootstrap")
    if os.geteuid() != 0:
        raise ImageBuildError("debootstrap needs root")
    check_mirror(mirror)
    _remove_rootfs(root)
    cache = IMAGES_DIR / "debs"  # downloaded packages survive a rebuild
    cache.mkdir(parents=True, exist_ok=True)
    log_file = IMAGES_DIR / "debootstrap.log"
    cmd = [binary, "--variant=minbase", f"--include={','.join(PACKAGES)}", f"--cache-dir={cache}",
           SUITE, str(root), mirror]
    log(f"images: debootstrap {SUITE} from {mirror} (log: {log_file})")
    with log_file.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            _remove_rootfs(root)
            raise ImageBuildError(f"debootstrap did not finish within {timeout:.0f} s; log: {log_file}") from None
    if code != 0:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-5:]
        _remove_rootfs(root)
        raise ImageBuildError(f"debootstrap failed (exit {code}): {' | '.join(tail)} (log: {log_file})")
    _slim(root)


def _slim(root: Path) -> None:
    """What an image does not need: package caches, docs, and the cluster Debian's postinst created (the
    entrypoint makes its own in PGDATA)."""
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
                    "usr/share/doc/*", "usr/share/man/*", "var/lib/postgresql/*/main", "etc/postgresql/*/main",
                    "var/log/*.log"):
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)


def ensure_base(client: docker.DockerClient, log: Log, force: bool = False) -> str:
    tag = base_tag()
    if not force and image_exists(client, tag):
        return tag
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    root = IMAGES_DIR / "rootfs"
    started = time.monotonic()
    debootstrap(root, apt_mirror(), log)
    log(f"images: debootstrap done in {time.monotonic() - started:.0f} s; importing {tag}")
    tarball = IMAGES_DIR / "rootfs.tar"
    try:
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tarball), "."], check=True,
                       capture_output=True)
        repository, _, version = tag.partition(":")
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version)
    except subprocess.CalledProcessError as exc:
        raise ImageBuildError(f"tar of the root file system failed: {exc.stderr.decode(errors='replace')}") from exc
    except (APIError, DockerException) as exc:
        raise ImageBuildError(f"docker import of {tag} failed: {exc}") from exc
    finally:
        tarball.unlink(missing_ok=True)
        _remove_rootfs(root)
    return tag


def build_image(client: docker.DockerClient, name: str, base: str, log: Log) -> str:
    tag = LOCAL_IMAGES[name]
    with tempfile.TemporaryDirectory(prefix=f"lg-image-{name}-", dir=IMAGES_DIR) as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(DOCKERFILES[name].format(base=base))
        for file_name, content in _context_files(name).items():
            target = context / file_name
            if isinstance(content, Path):
                shutil.copy2(content, target)
            else:
                target.write_text(content)
            target.chmod(0o755)
        try:
            # The classic builder: no RUN step, so no network is needed, and no registry either.
            client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, pull=False,
                                labels={RECIPE_LABEL: recipe(name)}, network_mode="none")
        except (BuildError, APIError) as exc:
            raise ImageBuildError(f"building {tag} failed: {exc}") from exc
    log(f"images: built {tag}")
    return tag


def build_images(
    client: docker.DockerClient, names: tuple[str, ...] = DEPENDENCIES, *, force: bool = False, log: Log = print
) -> dict[str, str]:
    """The local stand-in image per dependency, built when missing or out of date."""
    stale = [n for n in names if force or _label(client, LOCAL_IMAGES[n]) != recipe(n)]
    for name in names:
        if name not in stale:
            log(f"images: {LOCAL_IMAGES[name]} is up to date")
    if stale:
        base = ensure_base(client, log, force=force)
        for name in stale:
            build_image(client, name, base, log)
    return {n: LOCAL_IMAGES[n] for n in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference371os.provision.images", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(DEPENDENCIES)}; default: all")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in DEPENDENCIES]
    if unknown:
        parser.error(f"unknown image {', '.join(unknown)}: known are {', '.join(DEPENDENCIES)}")
    engine = find_engine()
    if not engine.ok:
        print(f"images: no Docker engine: {engine.reason}", file=sys.stderr)
        return 1
    started = time.monotonic()
    client = docker.DockerClient(base_url=engine.host, timeout=600)
    try:
        build_images(client, tuple(args.names) or DEPENDENCIES, force=args.force)
    except ImageBuildError as exc:
        print(f"images: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"images: ready in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
