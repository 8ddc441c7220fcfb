"""What an operator would check on a server after base_server ran (molecule verify, testinfra).

Runs on Debian 13 and Debian 12 (MOLECULE_DISTRO=debian12); where the two differ, each gets its own
expectation (Debian 12's OpenSSH 9.2 and its archive without compose v2)."""

import pytest

ADMIN = "deploy"
ADMIN_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIKxEIQ4sRc2ojS6eQ8TwCuT6HaIT3AxvIWhy3yhRGwRt"


def debian_major(host):
    return int(host.system_info.release.split(".")[0])


def sshd_settings(host):
    out = host.check_output("sshd -T")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_sshd_runs_with_hardened_settings(host):
    assert host.service("ssh").is_running
    s = sshd_settings(host)
    # Molecule connects as root, so root keeps key login; the admin has a key, so passwords are off.
    assert s["permitrootlogin"] == "without-password"  # how sshd -T spells prohibit-password
    assert s["passwordauthentication"] == "no"
    assert s["kbdinteractiveauthentication"] == "no"
    assert s["x11forwarding"] == "no"
    assert s["allowtcpforwarding"] == "local"
    assert s["maxauthtries"] == "3"
    assert int(s["maxsessions"]) >= 10
    assert s["logingracetime"] == "30"
    assert "hmac-sha1" not in s["macs"] and s["macs"].startswith("hmac-sha2-512-etm@openssh.com")
    assert s["kexalgorithms"].split(",")[0] in ("mlkem768x25519-sha256", "sntrup761x25519-sha512")
    assert "cbc" not in s["ciphers"]
    if debian_major(host) >= 13:
        assert s.get("persourcepenaltyexemptlist") == "192.0.2.10/32"
    else:  # PerSourcePenalties came with OpenSSH 9.8: Debian 12's 9.2 has no such setting to exempt from
        assert "persourcepenaltyexemptlist" not in s and "persourcepenalties" not in s
    # Only ed25519 and RSA host keys: ssh-audit fails the NIST P-256 ECDSA key.
    host_keys = [line.split(" ", 1)[1] for line in host.check_output("sshd -T").splitlines()
                 if line.startswith("hostkey ")]
    assert host_keys == ["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key"]


def test_admin_user_has_key_and_passwordless_sudo(host):
    user = host.user(ADMIN)
    assert user.exists and "sudo" in user.groups and "docker" in user.groups
    assert ADMIN_KEY in host.file(f"/home/{ADMIN}/.ssh/authorized_keys").content_string
    assert host.run(f"runuser -u {ADMIN} -- sudo -n true").rc == 0
    assert host.run("visudo -c").rc == 0


def test_ufw_denies_incoming_and_allows_ssh_and_web(host):
    out = host.check_output("ufw status verbose")
    assert "Status: active" in out
    assert "deny (incoming)" in out and "allow (outgoing)" in out
    for port in ("22/tcp", "80/tcp", "443/tcp"):
        assert any(line.startswith(port) and "ALLOW" in line for line in out.splitlines()), port
    assert any(line.startswith("8443/tcp") and "192.0.2.0/24" in line for line in out.splitlines())


def test_fail2ban_sshd_jail_is_active(host):
    assert host.service("fail2ban").is_running
    out = host.check_output("fail2ban-client status sshd")
    assert "Journal matches" in out  # the systemd backend: Debian 13 has no auth.log
    conf = host.check_output("fail2ban-client get sshd ignoreip")
    assert "192.0.2.10" in conf and "127.0.0.0/8" in conf


def test_docker_and_compose_v2_work(host):
    assert host.service("docker").is_running and host.service("docker").is_enabled
    if debian_major(host) >= 13:
        assert "version" in host.check_output("docker compose version").lower()
    else:
        # Debian 12's archive has no compose v2: with base_server_docker_require_compose_v2 false (the
        # scenario sets it there) the role installs docker.io without it and says so.
        assert host.run("docker compose version").rc != 0


@pytest.fixture(scope="module")
def busybox_image(host):
    """A tiny local image (no registry here): busybox from Debian's busybox-static, imported with docker."""
    host.run_test("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static")
    host.run_test(
        "d=$(mktemp -d) && cp /bin/busybox $d/busybox && tar -C $d -c . | docker import - base-server-test:busybox"
    )
    yield "base-server-test:busybox"
    host.run("docker rmi -f base-server-test:busybox")


def test_docker_runs_a_container(host, busybox_image):
    assert host.run(f"docker run --rm {busybox_image} /busybox true").rc == 0


def test_unattended_upgrades_install_security_updates(host):
    assert host.package("unattended-upgrades").is_installed
    dump = host.check_output("apt-config dump")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dump
    origins = [line for line in dump.splitlines() if line.startswith("Unattended-Upgrade::Origins-Pattern::")]
    assert origins and all("Debian-Security" in line for line in origins)


def test_timezone_and_sysctl(host):
    assert host.check_output("readlink -f /etc/localtime").endswith("/UTC")
    assert "net.ipv4.ip_forward = 1" in host.file("/etc/sysctl.d/60-base-server.conf").content_string


def test_apt_listbugs_is_absent(host):
    assert not host.package("apt-listbugs").is_installed
