"""How long the orchestrator waits before retrying a failed phase.

The decision (offline or a model) gives the base wait for its kind of failure; the wait grows exponentially
with the attempt (base, 2x, 4x ...), is jittered so that phases failing together do not retry in step, never
exceeds the cap, and is at least what a server asked for in a `Retry-After` found in the failure's message
(still within the cap: a longer wait is a run nobody is watching).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from typing import Any

# `Retry-After: 120`, `"retry_after": 30`, `retry after 45 seconds`: seconds only (an HTTP date is rare here).
_RETRY_AFTER = re.compile(r"retry[-_ ]after[\"']?\s*[:=]?\s*[\"']?(\d{1,6})\b", re.IGNORECASE)


def retry_after(failures: Iterable[dict[str, Any]]) -> float | None:
    """The longest `Retry-After` (seconds) any failed task's message carries, or None."""
    found = [float(m) for f in failures for m in _RETRY_AFTER.findall(str(f.get("message") or ""))]
    return max(found) if found else None


def wait_seconds(base: float, attempt: int, cap: float, *, asked: float | None = None,
                 rand: Callable[[], float] = random.random) -> float:
    """The wait before retry number `attempt` (1, 2, ...): base * 2^(attempt-1), the upper half of it jittered
    ("equal jitter": between half and all of it), at least `asked` (a Retry-After), at most `cap`."""
    if base <= 0 and not asked:
        return 0.0
    grown = min(cap, base * 2 ** (attempt - 1))
    wait = grown / 2 + rand() * grown / 2
    return min(cap, max(wait, asked or 0.0))
