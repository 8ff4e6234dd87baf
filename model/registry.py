"""The model registry: immutable versions on disk and an atomically switched current pointer.

    <root>/versions/v<N>/model.joblib   the pipeline (a pickle: loaded only if its hash matches)
    <root>/versions/v<N>/serving.npz    its serving form (arrays only; see model/serving.py)
    <root>/versions/v<N>/manifest.json  what made it, and the artifact's sha256
    <root>/current.json                 {"version": ..., "history": [...]}, replaced atomically
    <root>/.staging/                    versions being written; never read as versions
    <root>/.lock                        serialises writers (flock)

A version directory appears by one rename after its files are complete, so a
crash leaves at most an orphan in .staging/, never a half-written version.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from . import serving
from .atomic import write_atomic
from .errors import IncompatibleModel, IntegrityError, RegistryError, VersionNotFound

ARTIFACT = "model.joblib"
SERVING = "serving.npz"
MANIFEST = "manifest.json"
CURRENT = "current.json"
_VERSION = re.compile(r"^v?(\d+)$")
STALE_STAGING_SECONDS = 24 * 3600


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalize_version(version: str) -> str:
    """Accept 'v3' or '3'; return 'v3'."""
    match = _VERSION.match(str(version).strip())
    if not match:
        raise VersionNotFound(f"{version!r} is not a version name (expected v<N>, e.g. v3)")
    return f"v{int(match.group(1))}"


class Registry:
    """Versions of trained models under one directory; see the module docstring."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.versions_dir = self.root / "versions"
        self.staging_dir = self.root / ".staging"

    # -- reading -----------------------------------------------------------------------
    def versions(self) -> list[str]:
        """Every complete version, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        found = [p.name for p in self.versions_dir.iterdir()
                 if _VERSION.match(p.name) and (p / MANIFEST).is_file()]
        return sorted(found, key=lambda v: int(v[1:]))

    def _state(self) -> dict:
        path = self.root / CURRENT
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": None, "history": []}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{path} is unreadable ({exc}); restore it with "
                                "'sectag models promote VERSION'") from exc

    def current(self) -> str | None:
        return self._state().get("version")

    def history(self) -> list[str]:
        return list(self._state().get("history", []))

    def version_dir(self, version: str) -> Path:
        version = normalize_version(version)
        path = self.versions_dir / version
        if not (path / MANIFEST).is_file():
            known = ", ".join(self.versions()) or "none"
            raise VersionNotFound(f"no model version {version} in {self.root} (known: {known})")
        return path

    def manifest(self, version: str | None = None) -> dict:
        version = version or self.require_current()
        path = self.version_dir(version) / MANIFEST
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"manifest of {version} is unreadable: {exc}") from exc

    def require_current(self) -> str:
        version = self.current()
        if not version:
            raise VersionNotFound(f"the registry {self.root} has no current model; train one "
                                  "with 'sectag train --promote'")
        return version

    def _verified(self, version: str, name: str, sha256: str | None, what: str) -> bytes:
        """A file of a version, after checking its bytes against the sha256 its manifest lists."""
        try:
            data = (self.version_dir(version) / name).read_bytes()
        except OSError as exc:
            raise IntegrityError(f"{what} of {version} is unreadable: {exc}") from exc
        if sha256_bytes(data) != sha256:
            raise IntegrityError(f"{what} of {version} does not match the sha256 in its "
                                 "manifest (tampered or truncated); refusing to load it")
        return data

    def load(self, version: str | None = None):
        """(pipeline, manifest) for a version, after checking its hash and library version."""
        import joblib  # scikit-learn and joblib only where a pipeline is unpickled
        import sklearn

        version = normalize_version(version or self.require_current())
        manifest = self.manifest(version)
        data = self._verified(version, ARTIFACT, manifest.get("artifact_sha256"), "artifact")
        made_with = manifest.get("libraries", {}).get("scikit-learn")
        if made_with != sklearn.__version__:
            raise IncompatibleModel(f"{version} was trained with scikit-learn {made_with}; this "
                                    f"process has {sklearn.__version__}, which cannot load it "
                                    "safely: retrain with 'sectag train'")
        try:
            pipeline = joblib.load(io.BytesIO(data))
        except Exception as exc:  # a verified artifact that still fails is a broken install
            raise IntegrityError(f"artifact of {version} failed to load: {exc}") from exc
        return pipeline, manifest

    def serving_bytes(self, version: str | None = None) -> bytes:
        """A version's serving form (`serving.from_bytes` reads it), sha256-checked."""
        version = normalize_version(version or self.require_current())
        sha256 = self.manifest(version).get("serving_sha256")
        if sha256 is None:
            raise VersionNotFound(f"{version} has no serving form (made before it existed)")
        return self._verified(version, SERVING, sha256, "serving form")

    # -- writing -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _clean_stale_staging(self) -> None:
        if not self.staging_dir.is_dir():
            return
        for entry in self.staging_dir.iterdir():
            if time.time() - entry.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)

    def add(self, pipeline, manifest: dict, *, promote: bool = False) -> str:
        """Write a new version (never overwriting one) and optionally make it current."""
        try:
            return self._add(pipeline, manifest, promote)
        except OSError as exc:
            raise RegistryError(f"cannot write a new version into {self.root}: "
                                f"{exc.strerror or exc}; nothing was added and the current "
                                f"version ({self.current() or 'none'}) is unchanged") from exc

    def _add(self, pipeline, manifest: dict, promote: bool) -> str:
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        self._clean_stale_staging()
        stage = Path(tempfile.mkdtemp(dir=self.staging_dir))
        try:
            import joblib

            buffer = io.BytesIO()
            joblib.dump(pipeline, buffer, compress=3)
            data = buffer.getvalue()
            write_atomic(stage / ARTIFACT, data)
            listed = {}
            form = serving.derive(pipeline)
            if form.compiled:  # else workers unpickle the pipeline, as before serving forms
                served = serving.to_bytes(form)
                write_atomic(stage / SERVING, served)
                listed = {"serving_sha256": sha256_bytes(served), "serving_bytes": len(served),
                          "serving_format": serving.FORMAT}
            with self._locked():
                taken = [int(m.group(1)) for p in self.versions_dir.iterdir()
                         if (m := _VERSION.match(p.name))]
                version = f"v{max(taken, default=0) + 1}"
                full = {"version": version,
                        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "artifact_sha256": sha256_bytes(data),
                        "artifact_bytes": len(data), **manifest, **listed}
                write_atomic(stage / MANIFEST,
                              json.dumps(full, indent=2, sort_keys=True).encode("utf-8"))
                os.rename(stage, self.versions_dir / version)
                _fsync_dir(self.versions_dir)
                if promote:
                    self._set_current(version)
            return version
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _set_current(self, version: str, history: list[str] | None = None) -> None:
        state = self._state()
        if history is None:
            history = [*state.get("history", []), version]
        payload = {"version": version, "history": history,
                   "switched": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_atomic(self.root / CURRENT, json.dumps(payload, indent=2).encode("utf-8"))

    def verify(self, version: str) -> None:
        """Check that a version loads: its pipeline, and its serving form's hash if listed."""
        self.load(version)
        if self.manifest(version).get("serving_sha256"):
            self.serving_bytes(version)

    def promote(self, version: str) -> str:
        """Make a version current (after checking it loads)."""
        version = normalize_version(version)
        self.verify(version)
        try:
            with self._locked():
                self._set_current(version)
        except OSError as exc:
            raise RegistryError(f"cannot switch the current version in {self.root}: "
                                f"{exc.strerror or exc}; it is unchanged") from exc
        return version

    def rollback(self) -> str:
        """Return to the version that was current before the last promotion."""
        with self._locked():
            history = self.history()
            if len(history) < 2:
                raise RegistryError("nothing to roll back to: only one version was ever "
                                    "promoted")
            previous = history[-2]
            self.verify(previous)
            self._set_current(previous, history[:-1])
        return previous
