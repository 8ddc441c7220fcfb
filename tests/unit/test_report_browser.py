"""The HTML report as a client sees it: rendered by headless Chromium from the file, with nothing fetched.

The screenshot is kept in $AIDEVOPS_TEST_ARTIFACTS (default build/test-artifacts/) for a human to look at.
"""

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.unit.test_report import PHASES, SECRETS, fill, inv, render, store  # noqa: F401  (fixtures)

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/install-system-deps.sh)")


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    # Quiet and offline: no first-run, sync, component updates or background requests.
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", *args], check=False, capture_output=True,
                          text=True, timeout=120)


def artifacts_dir() -> Path:
    path = Path(os.environ.get("AIDEVOPS_TEST_ARTIFACTS") or ROOT / "build/test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_the_html_report_renders_in_a_browser(store, inv, tmp_path):  # noqa: F811
    html = render(store, inv, fill(store, inv)).html
    source = html.read_text()
    # Self-contained: no stylesheet, script, image or font from anywhere.
    assert not re.search(r"<(script|link|img|iframe)\b|@import|url\(", source)

    dom = chromium(tmp_path / "profile", "--dump-dom", html.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    assert '<a href="https://flows.client.example/">https://flows.client.example/</a>' in page
    assert "Deployment report" in page and "Certificate chain not trusted" in page
    assert len(re.findall(r'<rect class="bar"', page)) == len(PHASES)
    assert "Maintenance guide" in page and "certbot renew --dry-run" in page
    assert not any(s in page for s in SECRETS.values())

    shot = artifacts_dir() / "report.png"
    shot.unlink(missing_ok=True)
    r = chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2400", html.as_uri())
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1280, 2400)
    assert shot.stat().st_size > 50_000  # a page with content, not a blank one
    shutil.copy(html, artifacts_dir() / "report.html")
