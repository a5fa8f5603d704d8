"""A worker that fails before it listens."""

raise SystemExit("sdk_failing_worker: cannot start (on purpose)")
