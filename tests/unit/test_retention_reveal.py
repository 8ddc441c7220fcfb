"""The revealed report `aidevops report --reveal` writes is what retention finds and deletes once it is older
than `retention.revealed_hours`; the masked report beside it stays."""

import os
from datetime import UTC, datetime, timedelta

from orchestrator.request import load_request
from orchestrator.run.retention import REVEALED, prune
from orchestrator.state import StateDir
from tests.unit.test_report import fill, inv, render, store  # noqa: F401 (inv, store: fixtures)


def test_a_revealed_report_written_by_the_report_code_goes_after_a_day(store, inv):  # noqa: F811
    run_id = fill(store, inv)
    render(store, inv, run_id)  # the masked report, as the run writes it
    files = render(store, inv, run_id, reveal=True)
    assert load_request(inv).retention.revealed_hours == 24
    state = StateDir(inv)
    assert prune(store, state, load_request(inv).retention).items == []  # just written: kept

    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    for f in (files.html, files.markdown):
        os.utime(f, (two_days_ago, two_days_ago))
    done = prune(store, state, load_request(inv).retention)

    assert sorted(i.path for i in done.items if i.kind == REVEALED) == sorted([files.html, files.markdown])
    assert not files.html.exists() and not files.markdown.exists()
    assert (files.folder / "report.html").exists() and (files.folder / "report.md").exists()
    assert run_id in store.run_ids()  # the run itself is a recent one
