"""The platform the fuzzing tests drive: one per module, on a database of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.fuzz.platform import Platform, running_platform


@pytest.fixture(scope="module")
def platform(make_database: Callable[[], str]) -> Iterator[Platform]:
    with running_platform(make_database()) as running:
        yield running
