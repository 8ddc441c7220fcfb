"""orchestrator.atomic: a file is the old content or the new one, never half of either, and keeps its mode."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator import atomic
from tests.conftest import ROOT


def test_replaces_content_and_keeps_the_mode(tmp_path):
    path = tmp_path / "vault_n8n.yml"
    path.write_text("old\n")
    path.chmod(0o640)
    atomic.write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault_n8n.yml"]


def test_new_file_is_private_unless_a_mode_is_given(tmp_path):
    assert atomic.write_text(tmp_path / "a", "x").stat().st_mode & 0o777 == 0o600
    assert atomic.write_bytes(tmp_path / "b", b"x", mode=0o644).stat().st_mode & 0o777 == 0o644


def test_a_failure_between_write_and_rename_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "report.md"
    path.write_text("old report\n")
    path.chmod(0o600)

    def crash(src, dst):
        assert Path(src).read_text() == "new report\n"  # written in full, then the rename fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        atomic.write_text(path, "new report\n")
    assert path.read_text() == "old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


WRITER = """
import sys
from pathlib import Path
from orchestrator import atomic
path, i = Path(sys.argv[1]), 0
print("ready", flush=True)
while True:
    i += 1
    atomic.write_text(path, (str(i % 2) * 1_000_000) + "\\n")
"""


def test_a_process_killed_while_writing_leaves_a_whole_file(tmp_path):
    """A real writer SIGKILLed at 20 moments: the file is always one whole version."""
    path = tmp_path / "hosts.yml"
    atomic.write_text(path, "0" * 1_000_000 + "\n")
    whole = {"0" * 1_000_000 + "\n", "1" * 1_000_000 + "\n"}
    for n in range(20):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                  text=True)
        assert writer.stdout.readline() == "ready\n"
        time.sleep(0.01 + (n % 7) * 0.013)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        assert path.read_text() in whole
        assert path.stat().st_mode & 0o777 == 0o600
