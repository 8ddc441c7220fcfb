"""Loopback stand-ins for the remote APIs the roles talk to (never reachable from the tests)."""
