"""A stand-in for `ssh` whose "remote" host is this machine: put first on PATH (as `ssh`), it records its
arguments and runs the remote command through `sh -c`, as sshd would, with the caller's stdin and stdout.

So the execution-node path (orchestrator/run/remote.py) runs for real in unit tests, with ansible-runner's
worker as a local process, while the options it hands ssh are still checked. Environment:
SSH_HERE_LOG: a file that gets one JSON line per call (its argv).
SSH_HERE_FAIL: when set, print it on stderr and exit 255 as ssh does when it cannot connect.
"""

from __future__ import annotations

import json
import os
import sys

# ssh's options that take a value (ssh(1)).
WITH_VALUE = set("BbcDEeFIiJLlmOopQRSWw")


def main(argv: list[str]) -> int:
    log = os.environ.get("SSH_HERE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps(argv) + "\n")
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        i += 2 if len(argv[i]) == 2 and argv[i][1] in WITH_VALUE else 1
    if i < len(argv) and argv[i] == "--":
        i += 1
    command = argv[i + 1:]  # after the destination
    if os.environ.get("SSH_HERE_FAIL"):
        sys.stderr.write(os.environ["SSH_HERE_FAIL"] + "\n")
        return 255
    os.execvp("sh", ["sh", "-c", " ".join(command)])
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
