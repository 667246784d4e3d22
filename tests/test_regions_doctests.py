"""The examples in the docstrings of reluthe.nets and reluthe.regions run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["reluthe.nets", "reluthe.regions", "reluthe.regions._line", "reluthe.regions._plane",
           "reluthe.regions._box", "reluthe.regions._patterns"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
