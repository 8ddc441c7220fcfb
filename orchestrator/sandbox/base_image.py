"""The sandbox base image: a Debian rootfs with systemd and sshd, made without any registry.

`docker pull` is tried first (a machine with a registry gets the official image and adds what a
server needs); where no registry answers, debootstrap builds the rootfs from the machine's own
Debian mirror and `docker import` turns it into an image. Images are tagged by OS and recipe
version, so a built image is reused until the recipe changes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import BadInput, EnvironmentProblem
from orchestrator.sandbox.docker import DockerError, docker, image_exists

# Bump when the recipe below changes: the tag changes and the image is rebuilt.
RECIPE_VERSION = "1"


@dataclass(frozen=True)
class OsRelease:
    name: str  # what users type: debian13
    suite: str  # Debian suite: trixie
    docker_ref: str  # official image, when a registry is reachable


SUPPORTED_OS = {
    "debian13": OsRelease("debian13", "trixie", "debian:trixie"),
    "debian12": OsRelease("debian12", "bookworm", "debian:bookworm"),
}

# What a fresh VPS has: systemd, sshd, Python for Ansible, sudo; dbus for timedatectl/hostnamectl.
PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-apt", "sudo",
    "ca-certificates", "iproute2", "procps", "gnupg", "curl",
]

# The machine's extra CA certificates (a TLS-intercepting proxy's, in some networks) go into the image,
# so that hosts can fetch over HTTPS through it as the machine does.
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")

_SSH_KEYGEN_DROPIN = """[Service]
# Each sandbox host makes its own host keys at first boot (the image carries none).
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
"""


def image_name(os_name: str) -> str:
    return f"aidevops-sandbox:{os_name}-r{RECIPE_VERSION}"


def release(os_name: str) -> OsRelease:
    try:
        return SUPPORTED_OS[os_name]
    except KeyError:
        raise BadInput(
            f"unknown sandbox OS '{os_name}'", hint=f"expected one of {', '.join(SUPPORTED_OS)}"
        ) from None


def ensure_image(os_name: str, log=print) -> str:
    """Return the image name for OS, building it when it is missing."""
    rel = release(os_name)
    name = image_name(os_name)
    if image_exists(name):
        return name
    log(f"building sandbox image {name} (once; cached by the Docker engine)")
    if not _build_from_registry(rel, name):
        _build_with_debootstrap(rel, name, log)
    return name


def _build_from_registry(rel: OsRelease, name: str) -> bool:
    try:
        docker("pull", rel.docker_ref, timeout=300)
    except (DockerError, subprocess.TimeoutExpired):
        return False
    with tempfile.TemporaryDirectory(prefix="aidevops-image-") as ctx:
        Path(ctx, "ssh-keygen.conf").write_text(_SSH_KEYGEN_DROPIN)
        Path(ctx, "Dockerfile").write_text(
            f"FROM {rel.docker_ref}\n"
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            + " ".join(PACKAGES)
            + " && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_* && : > /etc/machine-id\n"
            "COPY ssh-keygen.conf /etc/systemd/system/ssh.service.d/keygen.conf\n"
            'STOPSIGNAL SIGRTMIN+3\nCMD ["/lib/systemd/systemd"]\n'
        )
        docker("build", "-t", name, ctx, timeout=1200)
    return True


def debian_mirrors() -> tuple[str, str]:
    """The machine's own Debian mirror and security mirror, read from its apt sources."""
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.is_file() and path.suffix in (".list", ".sources", ""):
            texts.append(path.read_text(errors="replace"))
    uris = re.findall(r"(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", "\n".join(texts), re.MULTILINE)
    main = next((u for u in uris if "security" not in u and "debian" in u), "http://deb.debian.org/debian")
    security = next((u for u in uris if "security" in u), "http://deb.debian.org/debian-security")
    return main.rstrip("/"), security.rstrip("/")


def _sources(rel: OsRelease, mirror: str, security: str) -> str:
    return (
        f"Types: deb\nURIs: {mirror}\nSuites: {rel.suite} {rel.suite}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {security}\nSuites: {rel.suite}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


def _build_with_debootstrap(rel: OsRelease, name: str, log) -> None:
    if shutil.which("debootstrap") is None:
        raise EnvironmentProblem(
            "no registry is reachable and debootstrap is not installed", hint="apt-get install debootstrap"
        )
    mirror, security = debian_mirrors()
    with tempfile.TemporaryDirectory(prefix="aidevops-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"debootstrap {rel.suite} from {mirror} (about a minute)")
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", rel.suite, str(rootfs), mirror],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise EnvironmentProblem(f"debootstrap {rel.suite} failed: {' / '.join(tail)}")
        _configure_rootfs(rootfs, rel, mirror, security)
        log(f"importing {name}")
        # docker import refuses STOPSIGNAL (20.10): hosts get --stop-signal when they start.
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.Popen(
            [shutil.which("docker") or "docker", "import",
             "-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "-c", "ENV container=docker",
             "-c", 'CMD ["/lib/systemd/systemd"]',
             "-c", f"LABEL org.aidevops.recipe={RECIPE_VERSION}",
             "-", name],
            stdin=tar.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        tar.stdout.close()  # so tar gets SIGPIPE, not a hang, if the import fails
        _, err = imp.communicate()
        tar.wait()
        if imp.returncode != 0:
            raise DockerError(f"docker import failed: {err.strip()}")


def _configure_rootfs(rootfs: Path, rel: OsRelease, mirror: str, security: str) -> None:
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    (rootfs / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(_sources(rel, mirror, security))
    if EXTRA_CA_DIR.is_dir():
        dest = rootfs / EXTRA_CA_DIR.relative_to("/")
        dest.mkdir(parents=True, exist_ok=True)
        for cert in EXTRA_CA_DIR.glob("*.crt"):
            shutil.copy2(cert, dest / cert.name)
        subprocess.run(["chroot", str(rootfs), "update-ca-certificates"], capture_output=True, check=False)
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    dropin = rootfs / "etc/systemd/system/ssh.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "keygen.conf").write_text(_SSH_KEYGEN_DROPIN)
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "etc/hostname").write_text("sandbox\n")
    # Units that wait for hardware a container does not have.
    for unit in ("getty@tty1.service", "systemd-udevd.service", "systemd-networkd-wait-online.service"):
        mask = rootfs / "etc/systemd/system" / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
