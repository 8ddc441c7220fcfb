"""base_server's hardening controls, one test per control, as the role's manifest says they stand: applied ones
are checked, skipped ones are skipped with the role's reason (what this host cannot do), off ones with the level."""

from __future__ import annotations

import pytest

from orchestrator.validation import hardening


@pytest.mark.severity("medium")
@pytest.mark.parametrize("name", list(hardening.CONTROLS))
def test_hardening_control(host, name):
    """The hardening control is in place (see orchestrator/validation/hardening.py for what each checks)."""
    why_not = hardening.verify(host, name)
    if why_not is not None:
        pytest.skip(why_not)
