"""The public surface: lazy submodules, one error hierarchy, symbolic without torch."""

from __future__ import annotations

import subprocess
import sys

import reluthe
from reluthe import errors


def test_error_hierarchy():
    for cls in (errors.InvalidInputError, errors.UnsupportedNetworkError, errors.RegionLimitError,
                errors.DatasetUnavailableError):
        assert issubclass(cls, reluthe.ReluTheError)
    assert issubclass(errors.InvalidInputError, ValueError)
    assert errors.RegionLimitError("x", found=3).found == 3


def test_import_reluthe_does_not_import_torch():
    code = "import reluthe, sys; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_claims_registry_lists_all_24_ids_in_order():
    from reluthe.claims import registry

    ids = [c.id for c in registry()]
    assert ids == [f"C{i:02d}" for i in range(1, 25)]


def test_every_lazy_submodule_imports_by_attribute():
    for name in reluthe._SUBMODULES:
        assert getattr(reluthe, name).__name__ == f"reluthe.{name}"
    assert "protocol" in dir(reluthe)
