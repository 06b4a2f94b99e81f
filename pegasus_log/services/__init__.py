"""Real external services run as local processes: for tests, CI and the onebox."""
