"""The shell runs real processes as tests/operations/ does."""

from tests.operations.conftest import serving  # noqa: F401 - the fixture that stops what a test started
