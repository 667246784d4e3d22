"""The bad-input catalogues' one check: the call raises the named reluthe error and its message
holds every fragment."""

from __future__ import annotations

import pytest

from reluthe.errors import ReluTheError


def assert_named_error(fn, kwargs, err, fragments) -> None:
    with pytest.raises(err) as info:
        fn(**kwargs)
    assert isinstance(info.value, ReluTheError)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def add_case(cases: list, fn, kwargs, err, *fragments) -> None:
    """Append one call to ``cases``, named by the function and its position."""
    cases.append(pytest.param(fn, kwargs, err, fragments, id=f"{fn.__name__}-{len(cases)}"))
