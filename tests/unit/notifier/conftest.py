"""Fixtures shared by the notifier's rendering tests."""

import pytest

from services.notifier.rendering.templates import Templates


@pytest.fixture(scope="session")
def templates() -> Templates:
    return Templates()
