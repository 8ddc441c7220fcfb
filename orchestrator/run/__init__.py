"""One recorded run: its session (id, folder, store record, log, redactor), the scheduler over the plan's phases,
the ansible-runner adapter, the typed events on one bus, and recovery after a failed phase."""
