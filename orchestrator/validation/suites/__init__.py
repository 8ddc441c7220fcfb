"""testinfra suites, one per agent (test_<agent>.py), run by the validator with its pytest plugin."""
