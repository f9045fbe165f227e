"""docker/ tests: the compose file and the image checked against the code (no Docker engine
here), and the same topology run as real processes on loopback."""

from tests.scheduler.processes import processes  # noqa: F401  (a fixture)
