"""The validator agent: testinfra suites per deployed agent and security audits, turned into findings and metrics."""
