"""Cache of finished claim measurements, keyed by content hash, written atomically.

A measurement is stored under the hash of (claim id, :class:`~reluthe.claims.Settings`, code
version), where the code version is the SHA-256 of every ``reluthe/**/*.py`` source file. Any edit
to the package therefore starts a fresh cache; a rerun with unchanged code and settings reuses the
stored measurement, so rebuilding the report takes seconds.

Every file is written to a temporary file in the same directory, flushed to disk, then moved into
place with :func:`os.replace`: a crash leaves either the old file or the new one, never half a file.
A file that cannot be read back as a complete entry (truncated, corrupt, wrong key, a missing
field, or a measurement that no longer matches the entry's SHA-256 checksum) is a miss.

The cache lives in ``.reluthe-cache/`` in the current directory unless the environment variable
``RELUTHE_RESULTS_CACHE`` names another directory (``--cache-dir`` overrides both).

Examples
--------
>>> import tempfile
>>> from reluthe._cache import MeasurementCache
>>> from reluthe.claims import Settings
>>> cache = MeasurementCache(tempfile.mkdtemp())
>>> s = Settings(quick=True, seed=0)
>>> cache.load("C01", s, "v1") is None
True
>>> _ = cache.store("C01", s, "v1", {"x": 1.5}, runtime_s=0.1)
>>> cache.load("C01", s, "v1")["measured"]
{'x': 1.5}
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

from reluthe._files import atomic_write_text
from reluthe.claims._base import Settings

__all__ = [
    "CACHE_ENV",
    "MeasurementCache",
    "cache_key",
    "code_version",
    "default_cache_dir",
]

CACHE_ENV = "RELUTHE_RESULTS_CACHE"
_FORMAT = 2  # 2: entries carry the checksum of their measurement
_PACKAGE_DIR = Path(__file__).resolve().parent


def code_version(package_dir: Path | None = None) -> str:
    """SHA-256 of every ``*.py`` file under ``package_dir`` (default: the reluthe package).

    Files are hashed in sorted order of their relative paths, path and content both, so a rename,
    an edit, an added or a removed module all change the version.

    Examples
    --------
    >>> len(code_version())
    64
    """
    root = Path(package_dir) if package_dir is not None else _PACKAGE_DIR
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
        rel = path.relative_to(root).as_posix()
        digest.update(rel.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(claim_id: str, settings: Settings, code: str) -> str:
    """Hex SHA-256 of the claim id, the settings and the code version.

    Examples
    --------
    >>> k = cache_key("C05", Settings(quick=True), "abc")
    >>> k == cache_key("C05", Settings(quick=True), "abc") != cache_key("C05", Settings(), "abc")
    True
    """
    blob = json.dumps({"claim": claim_id, "settings": settings.to_dict(), "code": code},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def default_cache_dir() -> Path:
    """``$RELUTHE_RESULTS_CACHE`` when set, else ``.reluthe-cache`` in the current directory."""
    return Path(os.environ.get(CACHE_ENV) or ".reluthe-cache")


class MeasurementCache:
    """Measurements of claims stored as one JSON file per (claim, settings, code version).

    Entries hold the measured data (NaN and infinities kept, as Python's ``json`` writes them),
    the measure time, the date, the code version, the settings and the toolkit modules that were
    imported when the measurement finished.

    Parameters
    ----------
    directory : str or path-like
        Where entries live; created on the first store.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def path(self, claim_id: str, settings: Settings, code: str) -> Path:
        """The file of an entry (it may not exist)."""
        return self.directory / f"{claim_id}-{cache_key(claim_id, settings, code)}.json"

    def load(self, claim_id: str, settings: Settings, code: str) -> dict | None:
        """The entry for exactly these settings and code version, or ``None`` (a miss).

        A missing, truncated or corrupt file, or one whose key does not match, is a miss.
        """
        path = self.path(claim_id, settings, code)
        entry = _read_entry(path)
        if entry is None or entry["key"] != cache_key(claim_id, settings, code):
            return None
        return entry

    def latest(self, claim_id: str, settings: Settings) -> dict | None:
        """The newest readable entry of ``claim_id`` with these settings, any code version.

        Used to redraw figures after an edit of the code changed the code version; the entry
        records the code version it was measured with.
        """
        if not self.directory.is_dir():
            return None
        wanted = settings.to_dict()
        best = None
        for path in self.directory.glob(f"{claim_id}-*.json"):
            entry = _read_entry(path)
            if entry is None or entry["claim_id"] != claim_id or entry["settings"] != wanted:
                continue
            if entry["key"] != cache_key(claim_id, settings, entry["code_version"]):
                continue
            if best is None or entry["created"] > best["created"]:
                best = entry
        return best

    def store(self, claim_id: str, settings: Settings, code: str, measured: dict, *,
              runtime_s: float, modules: list[str] | None = None) -> Path:
        """Write an entry atomically and return its path.

        Raises
        ------
        TypeError
            If ``measured`` is not JSON-serialisable (the message says where).
        """
        entry = {
            "format": _FORMAT,
            "key": cache_key(claim_id, settings, code),
            "claim_id": claim_id,
            "settings": settings.to_dict(),
            "code_version": code,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "runtime_s": float(runtime_s),
            "modules": sorted(modules or []),
            "measured": measured,
            "checksum": _checksum(measured),
        }
        text = json.dumps(entry, allow_nan=True, sort_keys=True)
        path = self.path(claim_id, settings, code)
        atomic_write_text(path, text)
        return path


_FIELDS = {"format": int, "key": str, "claim_id": str, "settings": dict, "code_version": str,
           "created": str, "runtime_s": float, "modules": list, "measured": dict, "checksum": str}


def _checksum(measured: dict) -> str:
    """SHA-256 of a measurement's canonical JSON: an entry edited or damaged since is a miss."""
    text = json.dumps(measured, allow_nan=True, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_entry(path: Path) -> dict | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != _FORMAT:
        return None
    for name, kind in _FIELDS.items():
        if not isinstance(entry.get(name), kind):
            return None
    if entry["checksum"] != _checksum(entry["measured"]):
        return None
    return entry
