"""Where the registry's bytes live: a local folder, or an object store through fsspec.

Both stores hold the same keys (`versions/v<N>/<file>`, `current.json`) and give the
registry the same guarantees, each by the means its medium has:

    LocalStore   a version is staged in .staging/ and appears by one rename; current.json
                 is replaced by rename; writers hold a file lock (flock)
    ObjectStore  a version number is claimed by an exclusive create (`.claim`), its files are
                 uploaded, and its manifest last: a version without a manifest does not exist
                 for readers. current.json is replaced by one PUT (readers see old or new),
                 conditional on the ETag read (If-Match) so racing promoters are detected

Stores move bytes and never judge them: the registry checks every sha256.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

from .atomic import write_atomic
from .errors import RegistryError

CURRENT = "current.json"
MANIFEST = "manifest.json"
CLAIM = ".claim"
VERSION_NAME = re.compile(r"^v(\d+)$")
STALE_STAGING_SECONDS = 24 * 3600
OPTIONS_ENV = "SECTAG_REGISTRY_OPTIONS"
# Object stores are polled at most this often per worker (a local stat is free: every request).
OBJECT_POLL_SECONDS = 1.0


class ConcurrentUpdate(RegistryError):
    """Another writer changed current.json between our read and our write."""


def version_key(version: str, name: str) -> str:
    return f"versions/{version}/{name}"


def parse_options(text: str | None, source: str = OPTIONS_ENV) -> dict:
    """fsspec storage options from JSON text (empty means none), with an error naming `source`."""
    if not text or not text.strip():
        return {}
    try:
        options = json.loads(text)
    except ValueError as exc:
        raise RegistryError(f"{source} is not valid JSON ({exc}); expected an object such as "
                            '{"endpoint_url": "http://127.0.0.1:9000"}') from exc
    if not isinstance(options, dict):
        raise RegistryError(f"{source} must be a JSON object of fsspec storage options, "
                            f"not {type(options).__name__}")
    return options


def open_store(root: str | Path, options: dict | None = None):
    """A LocalStore for a path or file:// URL, an ObjectStore for any other fsspec URL.

    `options=None` reads the storage options from $SECTAG_REGISTRY_OPTIONS."""
    text = str(root)
    protocol, sep, rest = text.partition("://")
    if not sep or protocol == "file":
        return LocalStore(Path(rest if sep else text))
    if options is None:
        options = parse_options(os.environ.get(OPTIONS_ENV))
    return ObjectStore(protocol, rest.strip("/"), options)


def taken_numbers(names) -> list[int]:
    return [int(m.group(1)) for n in names if (m := VERSION_NAME.match(n))]


class LocalStore:
    """A registry folder on a local or shared filesystem (see the module docstring)."""

    poll_seconds = 0.0

    def __init__(self, root: Path):
        self.root = root
        self.location = str(root)
        self.versions_dir = root / "versions"
        self.staging_dir = root / ".staging"

    def read(self, key: str) -> bytes:
        """The bytes at `key`; FileNotFoundError when absent."""
        return (self.root / key).read_bytes()

    def fetch(self, key: str, sha256: str) -> bytes:
        return self.read(key)

    def write(self, key: str, data: bytes) -> None:
        write_atomic(self.root / key, data)

    def stamp(self, key: str) -> tuple | None:
        """What changes whenever `key` is replaced: one stat."""
        try:
            st = os.stat(self.root / key)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def complete_versions(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        return [p.name for p in self.versions_dir.iterdir()
                if VERSION_NAME.match(p.name) and (p / MANIFEST).is_file()]

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
        for entry in self.staging_dir.iterdir():
            if time.time() - entry.stat().st_mtime > STALE_STAGING_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)

    def add_version(self, files: dict[str, bytes], manifest_for: Callable[[str], bytes],
                    after: Callable[[str], None]) -> str:
        """Stage every file, then under the lock: number, manifest, one rename, `after`."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        self._clean_stale_staging()
        stage = Path(tempfile.mkdtemp(dir=self.staging_dir))
        try:
            for name, data in files.items():
                write_atomic(stage / name, data)
            with self._locked():
                taken = taken_numbers(p.name for p in self.versions_dir.iterdir())
                version = f"v{max(taken, default=0) + 1}"
                write_atomic(stage / MANIFEST, manifest_for(version))
                os.rename(stage, self.versions_dir / version)
                _fsync_dir(self.versions_dir)
                after(version)
            return version
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def update_current(self, change: Callable[[bytes | None], bytes], *,
                       locked: bool = False) -> None:
        """Replace current.json with `change(old bytes)`, atomically, under the lock."""
        with contextlib.nullcontext() if locked else self._locked():
            try:
                old = self.read(CURRENT)
            except FileNotFoundError:
                old = None
            self.write(CURRENT, change(old))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _error_code(exc: BaseException) -> str | None:
    """The S3 error code behind an fsspec error (s3fs keeps botocore's error as the cause)."""
    while exc is not None:
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            return response.get("Error", {}).get("Code")
        exc = exc.__cause__ or exc.__context__
    return None


class ObjectStore:
    """A registry under `protocol://bucket/prefix` in an object store (see the module docstring)."""

    poll_seconds = OBJECT_POLL_SECONDS

    def __init__(self, protocol: str, path: str, options: dict):
        import fsspec

        self.protocol = protocol
        self.path = path
        self.location = f"{protocol}://{path}"
        self.options = dict(options)
        try:
            self.fs = fsspec.filesystem(protocol, skip_instance_cache=True,
                                        use_listings_cache=False,
                                        **{**self._defaults(protocol), **self.options})
        except (ImportError, ValueError, TypeError) as exc:
            raise RegistryError(f"cannot open the registry {self.location}: {exc} (install the "
                                f"fsspec backend for {protocol}://, e.g. s3fs, and check "
                                f"{OPTIONS_ENV})") from exc
        self.conditional = protocol in ("s3", "s3a")

    @staticmethod
    def _defaults(protocol: str) -> dict:
        # A registry that cannot be reached must fail in seconds, not after minutes of retries.
        if protocol in ("s3", "s3a"):
            return {"config_kwargs": {"connect_timeout": 5, "read_timeout": 30,
                                      "retries": {"max_attempts": 2}}}
        return {}

    def _url(self, key: str) -> str:
        return f"{self.path}/{key}"

    @contextlib.contextmanager
    def _errors(self, doing: str, missing_ok: bool = False):
        """Translate the backend's errors into RegistryError saying what to check."""
        where = self.location
        endpoint = self.options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")
        at = f" at {endpoint}" if endpoint else ""
        try:
            yield
        except (RegistryError, FileExistsError):  # FileExistsError: an exclusive create lost
            raise
        except FileNotFoundError as exc:
            code = _error_code(exc)
            if code == "NoSuchBucket" or (code is None and "bucket" in str(exc).lower()):
                raise RegistryError(f"cannot {doing}: the bucket of {where} does not exist"
                                    f"{at}; create it or correct --registry") from exc
            if missing_ok:
                raise
            raise RegistryError(f"cannot {doing}: {exc} is missing in {where}") from exc
        except PermissionError as exc:
            raise RegistryError(f"cannot {doing}: access to {where}{at} was denied ({exc}); "
                                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the "
                                f"credentials in {OPTIONS_ENV} / --registry-options") from exc
        except Exception as exc:  # network down, timeouts, bad credentials: any backend error
            raise RegistryError(f"cannot {doing} in {where}{at}: {type(exc).__name__}: {exc}"
                                ) from exc

    def read(self, key: str) -> bytes:
        with self._errors(f"read {key}", missing_ok=True):
            return self.fs.cat_file(self._url(key))

    def fetch(self, key: str, sha256: str) -> bytes:
        """The bytes at `key`, from the local cache when a file with this sha256 is there."""
        cached = _cache_path(sha256)
        with contextlib.suppress(OSError):
            data = cached.read_bytes()
            if hashlib.sha256(data).hexdigest() == sha256:
                return data
        data = self.read(key)
        if hashlib.sha256(data).hexdigest() == sha256:
            with contextlib.suppress(OSError):  # a cache that cannot be written is no error
                write_atomic(cached, data)
        return data

    def write(self, key: str, data: bytes, **conditions) -> None:
        with self._errors(f"write {key}"):
            self.fs.pipe_file(self._url(key), data, **conditions)

    def _require_bucket(self) -> None:
        """Nothing found: say so plainly if the reason is that the bucket does not exist."""
        bucket = self.path.split("/")[0]
        with self._errors("find the bucket"):
            if not self.fs.exists(bucket):
                raise FileNotFoundError(f"the bucket {bucket} does not exist")

    def _info(self, key: str) -> dict | None:
        with self._errors(f"look at {key}", missing_ok=True):
            try:
                return self.fs.info(self._url(key), refresh=True)
            except FileNotFoundError:
                self._require_bucket()
                return None

    def stamp(self, key: str) -> tuple | None:
        """One HEAD request: the object's ETag and size (None when absent)."""
        info = self._info(key)
        if info is None or info.get("type") == "directory":
            return None
        return (info.get("ETag") or info.get("etag") or info.get("mtime")
                or info.get("LastModified"), info.get("size"))

    def _keys(self) -> list[str]:
        """Every key under versions/, relative to the registry root (one listing)."""
        base = self._url("versions")
        with self._errors("list the versions"):
            try:
                found = self.fs.find(base)
            except FileNotFoundError:
                found = []
        if not found:
            self._require_bucket()
        prefix = self.fs._strip_protocol(base).rstrip("/") + "/"
        return [k[len(prefix):] for k in found if k.startswith(prefix)]

    def complete_versions(self) -> list[str]:
        return [k.split("/")[0] for k in self._keys()
                if k.endswith("/" + MANIFEST) and VERSION_NAME.match(k.split("/")[0])]

    def _claim(self) -> str:
        """A version number nobody else holds: exclusive create of versions/v<N>/.claim."""
        taken = taken_numbers({k.split("/")[0] for k in self._keys()})
        number = max(taken, default=0) + 1
        token = uuid.uuid4().hex.encode()
        for _ in range(100):
            version = f"v{number}"
            try:
                if self.conditional:
                    with self._errors(f"claim {version}", missing_ok=True):
                        self.fs.pipe_file(self._url(version_key(version, CLAIM)), token,
                                          mode="create")
                elif self._info(version_key(version, CLAIM)) is not None:
                    raise FileExistsError(version)
                else:  # no exclusive create here: last writer wins, as documented
                    self.write(version_key(version, CLAIM), token)
                return version
            except FileExistsError:
                number += 1
        raise RegistryError(f"cannot claim a version number in {self.location}: 100 numbers "
                            "after the last one are taken")

    def add_version(self, files: dict[str, bytes], manifest_for: Callable[[str], bytes],
                    after: Callable[[str], None]) -> str:
        """Claim a number, upload every file, then the manifest (which makes it visible)."""
        version = self._claim()
        for name, data in files.items():
            self.write(version_key(version, name), data)
        self.write(version_key(version, MANIFEST), manifest_for(version))
        after(version)
        return version

    def update_current(self, change: Callable[[bytes | None], bytes], *,
                       locked: bool = False) -> None:
        """One PUT of `change(old bytes)`, refused if current.json changed since it was read."""
        info = self._info(CURRENT)
        old = None if info is None else self.read(CURRENT)
        conditions = {}
        if self.conditional:
            etag = info and (info.get("ETag") or info.get("etag"))
            conditions = {"IfMatch": etag} if etag else {"mode": "create"}
        try:
            with self._errors(f"write {CURRENT}", missing_ok=True):
                self.fs.pipe_file(self._url(CURRENT), change(old), **conditions)
        except (FileExistsError, RegistryError) as exc:
            if isinstance(exc, FileExistsError) or _error_code(exc) == "PreconditionFailed":
                raise ConcurrentUpdate(f"{CURRENT} in {self.location} was changed by another "
                                       "promotion at the same time; nothing was switched: "
                                       "look at 'sectag models list' and retry") from exc
            raise


def _cache_path(sha256: str) -> Path:
    """Downloaded registry files by sha256, in the featurizer's cache folder convention."""
    from .disk_cache import cache_dirs

    return cache_dirs()[0] / "registry" / sha256
