"""The model registry: immutable versions and an atomically switched current pointer.

    <root>/versions/v<N>/manifest.json  what made it, and the sha256 of each of its files
    <root>/versions/v<N>/model.joblib   the pipeline (a pickle: loaded only if its hash matches)
    <root>/current.json                 {"version": ..., "history": [...]}, replaced atomically

`root` is a folder or an fsspec URL (`s3://bucket/sectag`); `model/storage.py` makes versions
appear whole on either, so a crash never leaves a half-written version a reader would see.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from . import serving
from .errors import IncompatibleModel, IntegrityError, RegistryError, VersionNotFound
from .storage import CURRENT, MANIFEST, LocalStore, open_store, version_key

ARTIFACT = "model.joblib"
SERVING = "serving.npz"  # the numbers-only form workers load (model/serving.py)
_VERSION = re.compile(r"^v?(\d+)$")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalize_version(version: str) -> str:
    """Accept 'v3' or '3'; return 'v3'."""
    match = _VERSION.match(str(version).strip())
    if not match:
        raise VersionNotFound(f"{version!r} is not a version name (expected v<N>, e.g. v3)")
    return f"v{int(match.group(1))}"


def file_hashes(manifest: dict) -> dict[str, str]:
    """{file name: sha256} of every file of a version (older manifests list the artifact only)."""
    files = manifest.get("files")
    if isinstance(files, dict):
        return {name: entry.get("sha256") for name, entry in files.items()}
    return {ARTIFACT: manifest.get("artifact_sha256")}


class Registry:
    """Versions of trained models under one folder or URL; see the module docstring."""

    def __init__(self, root: str | Path, options: dict | None = None):
        """`options`: fsspec storage options for a URL (None: $SECTAG_REGISTRY_OPTIONS)."""
        self.store = open_store(root, options)
        local = isinstance(self.store, LocalStore)
        self.root = self.store.root if local else self.store.location
        self.location = str(Path(self.root).resolve()) if local else self.store.location
        self.options = {} if local else self.store.options  # for processes opening it again
        if local:
            self.versions_dir = self.store.versions_dir
            self.staging_dir = self.store.staging_dir

    # -- reading -----------------------------------------------------------------------
    def versions(self) -> list[str]:
        """Every complete version (its manifest written), oldest first."""
        return sorted(self.store.complete_versions(), key=lambda v: int(v[1:]))

    def _state(self) -> dict:
        try:
            return json.loads(self.store.read(CURRENT))
        except FileNotFoundError:
            return {"version": None, "history": []}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{CURRENT} in {self.root} is unreadable ({exc}); restore it "
                                "with 'sectag models promote VERSION'") from exc

    def current(self) -> str | None:
        return self._state().get("version")

    def current_stamp(self):
        """What changes when current.json is replaced: one stat, or one HEAD on a store."""
        return self.store.stamp(CURRENT)

    @property
    def poll_seconds(self) -> float:
        """How often a server should look at current.json (0: at every request)."""
        return self.store.poll_seconds

    def history(self) -> list[str]:
        return list(self._state().get("history", []))

    def version_dir(self, version: str) -> Path:
        """The folder of a complete version (local registries only)."""
        version = normalize_version(version)
        self.manifest(version)
        return self.versions_dir / version

    def manifest(self, version: str | None = None) -> dict:
        version = normalize_version(version or self.require_current())
        try:
            data = self.store.read(version_key(version, MANIFEST))
        except FileNotFoundError:
            known = ", ".join(self.versions()) or "none"
            raise VersionNotFound(f"no model version {version} in {self.root} "
                                  f"(known: {known})") from None
        except OSError as exc:
            raise IntegrityError(f"manifest of {version} is unreadable: {exc}") from exc
        try:
            return json.loads(data)
        except ValueError as exc:
            raise IntegrityError(f"manifest of {version} is unreadable: {exc}") from exc

    def require_current(self) -> str:
        version = self.current()
        if not version:
            raise VersionNotFound(f"the registry {self.root} has no current model; train one "
                                  "with 'sectag train --promote'")
        return version

    def verified_file(self, version: str, name: str, manifest: dict | None = None) -> bytes:
        """The bytes of one file of a version, refused unless they match the manifest's sha256."""
        version = normalize_version(version)
        manifest = manifest or self.manifest(version)
        expected = file_hashes(manifest).get(name)
        if not expected:
            raise IntegrityError(f"the manifest of {version} lists no sha256 for {name}")
        try:
            data = self.store.fetch(version_key(version, name), expected)
        except OSError as exc:
            raise IntegrityError(f"{name} of {version} is unreadable: {exc}") from exc
        if sha256_bytes(data) != expected:
            raise IntegrityError(f"{name} of {version} does not match the sha256 in its "
                                 "manifest (tampered or truncated); refusing to load it")
        return data

    def load(self, version: str | None = None):
        """(pipeline, manifest) for a version, after checking every file's hash and the
        library version."""
        import joblib  # scikit-learn and joblib only where a pipeline is unpickled
        import sklearn

        version = normalize_version(version or self.require_current())
        manifest = self.manifest(version)
        files = {name: self.verified_file(version, name, manifest)
                 for name in file_hashes(manifest)}
        made_with = manifest.get("libraries", {}).get("scikit-learn")
        if made_with != sklearn.__version__:
            raise IncompatibleModel(f"{version} was trained with scikit-learn {made_with}; this "
                                    f"process has {sklearn.__version__}, which cannot load it "
                                    "safely: retrain with 'sectag train'")
        try:
            pipeline = joblib.load(io.BytesIO(files[ARTIFACT]))
        except Exception as exc:  # a verified artifact that still fails is a broken install
            raise IntegrityError(f"artifact of {version} failed to load: {exc}") from exc
        return pipeline, manifest

    def serving_bytes(self, version: str | None = None) -> bytes:
        """A version's serving form (`serving.from_bytes` reads it), sha256-checked."""
        version = normalize_version(version or self.require_current())
        manifest = self.manifest(version)
        if SERVING not in file_hashes(manifest):
            raise VersionNotFound(f"{version} has no serving form (made before it existed)")
        return self.verified_file(version, SERVING, manifest)

    # -- writing -----------------------------------------------------------------------
    def add(self, pipeline, manifest: dict, *, promote: bool = False) -> str:
        """Write a new version (never overwriting one) and optionally make it current."""
        try:
            import joblib

            buffer = io.BytesIO()
            joblib.dump(pipeline, buffer, compress=3)
            files = {ARTIFACT: buffer.getvalue()}
            form = serving.derive(pipeline)
            if form.compiled:  # else workers unpickle the pipeline, as before serving forms
                files[SERVING] = serving.to_bytes(form)
                manifest = {**manifest, "serving_format": serving.FORMAT}
            return self._add(files, manifest, promote)
        except (OSError, RegistryError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise RegistryError(f"cannot write a new version into {self.root}: {reason}; "
                                "nothing was added and the current version "
                                f"({self._current_or_unknown()}) is unchanged") from exc

    def _current_or_unknown(self) -> str:
        try:
            return self.current() or "none"
        except RegistryError:
            return "unknown: the registry cannot be read"

    def _add(self, files: dict[str, bytes], manifest: dict, promote: bool) -> str:
        """Store a version made of `files`, each listed with its sha256 in the manifest."""
        listed = {name: {"sha256": sha256_bytes(data), "bytes": len(data)}
                  for name, data in files.items()}

        def manifest_for(version: str) -> bytes:
            full = {"version": version,
                    "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "artifact_sha256": listed[ARTIFACT]["sha256"],
                    "artifact_bytes": listed[ARTIFACT]["bytes"], "files": listed, **manifest}
            return json.dumps(full, indent=2, sort_keys=True).encode("utf-8")

        def after(version: str) -> None:
            if promote:
                self.store.update_current(self._switch(version), locked=True)

        return self.store.add_version(files, manifest_for, after)

    @staticmethod
    def _switch(version: str, history: list[str] | None = None):
        """current.json's new bytes from its old ones: `version` current, history extended."""
        def change(old: bytes | None) -> bytes:
            try:
                state = json.loads(old) if old else {}
            except ValueError:  # an unreadable pointer is what promoting repairs
                state = {}
            new_history = history if history is not None else [*state.get("history", []),
                                                               version]
            payload = {"version": version, "history": new_history,
                       "switched": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            return json.dumps(payload, indent=2).encode("utf-8")
        return change

    def _update_current(self, change) -> None:
        try:
            self.store.update_current(change)
        except OSError as exc:
            raise RegistryError(f"cannot switch the current version in {self.root}: "
                                f"{exc.strerror or exc}; it is unchanged") from exc

    def promote(self, version: str) -> str:
        """Make a version current (after checking it loads)."""
        version = normalize_version(version)
        self.load(version)
        self._update_current(self._switch(version))
        return version

    def rollback(self) -> str:
        """Return to the version that was current before the last promotion."""
        history = self.history()
        if len(history) < 2:
            raise RegistryError("nothing to roll back to: only one version was ever promoted")
        previous = history[-2]
        self.load(previous)

        def change(old: bytes | None) -> bytes:
            if old is None or json.loads(old).get("history") != history:
                raise RegistryError(f"{CURRENT} changed while rolling back; nothing was "
                                    "switched: retry")
            return self._switch(previous, history[:-1])(old)

        self._update_current(change)
        return previous
