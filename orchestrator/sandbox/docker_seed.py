"""A Docker volume that holds the app images already loaded, to start a sandbox host's /var/lib/docker from.

Loading the n8n and PostgreSQL archives into a host's Docker takes 2-3 minutes (FACTS.md: the load, not the
copy, is the cost). A test session that deploys a stack on a fresh host starts the host from a copy of this
volume instead, as a VPS made from a provider image with the images pre-pulled would start; the n8n role then
finds its images and loads nothing. Loading archives stays tested where it is the subject (Molecule's n8n
and supabase scenarios converge from archives).

The seed is keyed by its recipe, the host image and the app images' ids, and kept in the machine's Docker
engine, as the images it holds are. It is made once: a container of the host image installs the distribution's
Docker, loads the archives with no network or iptables set up, and stops; a marker file says it finished.
"""

from __future__ import annotations

import hashlib
import json

from orchestrator.sandbox import docker as d

SEED_RECIPE = "1"
LABEL = "org.aidevops.docker-seed"
MARKER = ".aidevops-seed-complete"
# Made by the seed's Docker and meaningless in a copy (the daemon's identity); removed from each copy.
PER_HOST_FILES = (MARKER, "engine-id")

_BUILD = r"""set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends docker.io >/dev/null
command -v docker >/dev/null || apt-get install -y -q --no-install-recommends docker-cli >/dev/null  # Debian 13+
dockerd --iptables=false --ip6tables=false --bridge=none >/tmp/dockerd.log 2>&1 &
dockerd=$!
for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
for archive in "$@"; do docker load -q -i "/archives/$archive"; done
kill $dockerd; wait $dockerd || true
touch /var/lib/docker/""" + MARKER + "\n"


def seed_volume(os_image: str, images: list[str]) -> str:
    """The seed volume's name for these app images on this host image (it may not exist yet)."""
    ids = [d.docker("image", "inspect", "--format", "{{.Id}}", ref).strip() for ref in [os_image, *images]]
    key = hashlib.sha256(json.dumps([SEED_RECIPE, ids]).encode()).hexdigest()[:12]
    return f"aidevops-docker-seed-{key}"


def _marker_found(volume: str, os_image: str) -> bool:
    out = d.docker("run", "--rm", "--network", "none", "-v", f"{volume}:/seed:ro", os_image,
                   "sh", "-c", f"test -f /seed/{MARKER} && echo yes", check=False, timeout=120)
    return out.strip() == "yes"


def ensure_seed(os_image: str, images: dict[str, str], flags: list[str], log=print) -> str:
    """The seed volume for `images` (image -> its archive on this machine), made when missing (2-4 min)."""
    volume = seed_volume(os_image, list(images))
    if d.inspect("volume", volume) is not None and _marker_found(volume, os_image):
        return volume
    d.docker("volume", "rm", "-f", volume, check=False)  # an unfinished one
    _remove_older_seeds()
    log(f"preparing {volume}: {', '.join(images)} loaded into the host's Docker (once per image version)")
    d.docker("volume", "create", "--label", f"{LABEL}={SEED_RECIPE}", volume)
    mounts = []
    for i, archive in enumerate(images.values()):
        mounts += ["-v", f"{archive}:/archives/{i}.tar.gz:ro"]
    d.docker("run", "--rm", *flags, "-v", f"{volume}:/var/lib/docker", *mounts, "--entrypoint", "bash", os_image,
             "-c", _BUILD, "seed", *[f"{i}.tar.gz" for i in range(len(images))], timeout=1800)
    if not _marker_found(volume, os_image):
        raise d.DockerError(f"the Docker seed volume {volume} was not completed",
                            hint=f"remove it (docker volume rm {volume}) and try again")
    return volume


def _remove_older_seeds() -> None:
    """Seeds of other image versions (about 4 GB each): one seed is kept, the one in use."""
    for old in d.docker("volume", "ls", "-q", "--filter", f"label={LABEL}").split():
        d.docker("volume", "rm", old, check=False)


def copy_seed(volume: str, target: str, os_image: str) -> None:
    """Fill the (new, empty) volume `target` with a copy of the seed."""
    drop = " ".join(f"/to/{f}" for f in PER_HOST_FILES)
    d.docker("run", "--rm", "--network", "none", "-v", f"{volume}:/from:ro", "-v", f"{target}:/to", os_image,
             "sh", "-c", f"cp -a /from/. /to/ && rm -f {drop}", timeout=900)
