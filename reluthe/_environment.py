"""Where a run happened: versions, platform, device and threads, for the provenance of results.

Examples
--------
>>> from reluthe._environment import environment
>>> env = environment("cpu")
>>> env["device"], env["torch_threads"] >= 1, "sympy" in env["packages"]
('cpu', True, True)
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

__all__ = ["TOOL_PACKAGES", "environment", "tools_imported"]

# Libraries beyond PyTorch that reluthe uses or offers, by import name -> distribution name.
TOOL_PACKAGES = {
    "sympy": "sympy",
    "networkx": "networkx",
    "regioncam": "regioncam",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "mnist1d": "mnist1d",
    "matplotlib": "matplotlib",
    "joblib": "joblib",
    "ray": "ray",
    "dask": "dask",
}


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment(device: str) -> dict:
    """Versions and machine facts that a recorded result needs for its provenance.

    Parameters
    ----------
    device : {"cpu", "cuda"}
        The device the measurements ran on; with "cuda" the GPU's name is added.

    Returns
    -------
    dict
        ``python``, ``torch``, ``numpy``, ``platform``, ``device``, ``cpu_count``,
        ``torch_threads``, ``gpu`` (name or None) and ``packages`` (installed version, or None,
        of each library in :data:`TOOL_PACKAGES`).
    """
    import numpy
    import torch

    gpu = torch.cuda.get_device_name() if device == "cuda" and torch.cuda.is_available() else None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "device": device,
        "gpu": gpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "packages": {name: _version(dist) for name, dist in TOOL_PACKAGES.items()},
    }


def tools_imported() -> list[str]:
    """Import names of :data:`TOOL_PACKAGES` already imported in this process, sorted.

    Examples
    --------
    >>> import sympy
    >>> "sympy" in tools_imported()
    True
    """
    return sorted(name for name in TOOL_PACKAGES if name in sys.modules)
