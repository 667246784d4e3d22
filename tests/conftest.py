"""Shared test configuration: the --runslow switch and an isolated data cache."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _data_cache(tmp_path_factory):
    """Keep generated datasets out of the user's home during tests."""
    if "RELUTHE_CACHE" not in os.environ:
        os.environ["RELUTHE_CACHE"] = str(tmp_path_factory.mktemp("reluthe-cache"))
    yield
