"""The sandbox's fixed local ports: the same for a prefix, kept once chosen, and a taken port said in one line."""

import os
import socket
from pathlib import Path

import pytest

from orchestrator.sandbox import ports as p
from orchestrator.sandbox.services import merge_roots


def test_preferred_ports_are_the_same_for_a_prefix_and_below_the_ephemeral_range():
    for prefix in ("aidevops-sandbox", "aidevops-e2e", "x"):
        first = p.preferred_port(prefix, 0)
        assert first == p.preferred_port(prefix, 0)
        assert p.FIRST_PORT <= first and p.preferred_port(prefix, p.BLOCK - 1) < 32768
    assert p.preferred_port("aidevops-e2e", 0) != p.preferred_port("aidevops-it", 0)
    # Host 9's three ports end before the services' slots begin.
    assert p.host_slot(9) + 2 < min(p.SERVICE_SLOTS.values())


def test_the_book_keeps_the_ports_it_chose(tmp_path):
    book = p.PortBook(tmp_path / "ports.json", "aidevops-unit-ports")
    first = book.ports("c-1", 0, ["22/tcp", "80/tcp", "443/tcp"], log=lambda m: None)
    assert len(set(first.values())) == 3
    again = p.PortBook(tmp_path / "ports.json", "aidevops-unit-ports").ports("c-1", 0, ["22/tcp", "80/tcp", "443/tcp"])
    assert again == first
    other = book.ports("c-2", 3, ["22/tcp", "80/tcp", "443/tcp"])
    assert not set(other.values()) & set(first.values())
    assert p.publish_args({"22/tcp": first["22/tcp"]}) == ["-p", f"127.0.0.1:{first['22/tcp']}:22/tcp"]


def test_a_port_held_by_another_process_is_replaced_when_first_chosen(tmp_path):
    wanted = p.preferred_port("aidevops-unit-busy", 0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", wanted))
        s.listen()
        said = []
        chosen = p.PortBook(tmp_path / "ports.json", "aidevops-unit-busy").ports("c-1", 0, ["22/tcp"], log=said.append)
    assert chosen["22/tcp"] != wanted
    assert said and f"127.0.0.1:{wanted} is taken by" in said[0]


def test_a_kept_port_taken_later_is_one_clear_error_naming_the_holder():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(p.PortTaken) as err:
            p.check_free("aidevops-x-1", {"443/tcp": port})
    me = f"{Path('/proc/self/comm').read_text().strip()} (pid {os.getpid()})"  # python, or pytest's own script
    assert f"127.0.0.1:{port}, where aidevops-x-1 publishes its 443/tcp, is taken by {me}" in err.value.message
    p.check_free("aidevops-x-1", {"443/tcp": port})  # free again once closed


def test_random_bindings_of_an_older_container_are_recognised():
    assert p.random_bindings({"HostConfig": {"PortBindings": {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}}})
    assert not p.random_bindings({"HostConfig": {"PortBindings": {"22/tcp": [{"HostIp": "127.0.0.1",
                                                                              "HostPort": "10022"}]}}})


def pem(n: str) -> str:
    return f"-----BEGIN CERTIFICATE-----\n{n}\n-----END CERTIFICATE-----\n"


def test_pebble_roots_are_kept_across_its_restarts():
    assert merge_roots("", pem("A")) == pem("A")
    assert merge_roots(pem("A"), pem("B")) == pem("A") + pem("B")
    assert merge_roots(pem("A") + pem("B"), pem("A")) == pem("A") + pem("B")


def test_a_container_bound_before_the_book_was_lost_keeps_its_ports(tmp_path):
    info = {"HostConfig": {"PortBindings": {"22/tcp": [{"HostIp": "127.0.0.1", "HostPort": "10122"}],
                                            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "10123"}]}}}
    bound = p.fixed_bindings(info)
    assert bound == {"22/tcp": 10122, "80/tcp": 10123}
    book = p.PortBook(tmp_path / "ports.json", "aidevops-unit-lost")
    assert book.ports("c-1", 0, ["22/tcp", "80/tcp"], bound=bound) == bound
    assert book.ports("c-1", 0, ["22/tcp", "80/tcp"]) == bound  # now kept
