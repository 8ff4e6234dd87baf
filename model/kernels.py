"""The compiled kernels a process calls: an ahead-of-time build of them when one matches
their source, else numba's JIT.

Why: a worker that imports numba maps LLVM (libllvmlite.so, 170 MB on disk, 68-104 MB of
it resident by how much of it the page cache holds) only to load kernels numba compiled
before the worker started. `build` exports the same kernels, with the signatures numba
compiled them for, into one extension module (numba.pycc), which a worker imports like any
other: no numba, no LLVM. Both are compiled by numba from the same functions;
`tests/model/test_kernels.py` checks that their outputs are identical.

The built wrappers do not check their arguments' types: callers pass the dtypes, dimensions
and C layout the build saw. Every caller makes its arrays itself (`code_points`,
`pack_tables`, `evidence_tables`, `ActorMatcher.code_tables`), never from user input.

SECTAG_KERNELS=jit makes a process use numba's JIT even where a build exists.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.machinery
import importlib.util
import logging
import os
import platform
import shutil
import stat
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

from .disk_cache import cache_dirs

_log = logging.getLogger(__name__)

# What callers call, and the module defining it.
ENTRY_POINTS = {
    "count_features": "featurizer_kernels",
    "sigmoid_exponents": "featurizer_kernels",
    "fill_table": "featurizer_kernels",
    "token_hashes": "featurizer_kernels",
    "token_slots": "featurizer_kernels",
    "evidence_words": "evidence_kernels",
    "simple_codes": "actor_kernels",
}
# The build is valid for exactly these sources (with the numba and Python that built it).
SOURCES = ("featurizer_kernels", "evidence_kernels", "actor_kernels", "kernel_constants")
MODULE_NAME = "sectag_kernels"


class KernelBuildError(RuntimeError):
    """The ahead-of-time build could not be made; the JIT kernels still work."""


def source_key() -> str:
    """What a build is valid for: the kernels' source, numba's version, the interpreter and
    the machine type (read without importing numba)."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((Path(__file__).parent / f"{name}.py").read_bytes())
    digest.update(f"{metadata.version('numba')} {sys.implementation.cache_tag} "
                  f"{platform.machine()}".encode())
    return digest.hexdigest()[:16]


def built_path(folder: Path) -> Path:
    """Where the build for this source lives in a cache folder."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return folder / f"kernels-{source_key()}" / f"{MODULE_NAME}{suffix}"


@functools.cache
def kernels() -> SimpleNamespace:
    """This process's kernels (`ENTRY_POINTS` as attributes; `origin` says which: a built
    module's path, or "jit")."""
    if os.environ.get("SECTAG_KERNELS", "").lower() != "jit":
        for folder in cache_dirs():
            path = built_path(folder)
            if not path.exists():
                continue
            if not _trusted(path):
                _log.warning('{"event": "kernels_build_not_trusted", "path": "%s"}', path)
                continue
            try:
                return load_built(path)
            except (ImportError, OSError, AttributeError) as exc:
                _log.warning('{"event": "kernels_build_unusable", "path": "%s", '
                             '"reason": "%s"}', path, exc)
    return jit_kernels()


def _trusted(path: Path) -> bool:
    """A build is code: load one only if this user owns it and its folder, and nobody else
    can write either (a shared temp dir must not hand another user's code to a worker)."""
    try:
        for item in (path, path.parent):
            info = item.stat()
            if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return False
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def load_built(path: Path) -> SimpleNamespace:
    """The kernels of a built module (imported from its file, not from sys.path)."""
    loader = importlib.machinery.ExtensionFileLoader(MODULE_NAME, str(path))
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return SimpleNamespace(origin=str(path), **{n: getattr(module, n) for n in ENTRY_POINTS})


def jit_kernels() -> SimpleNamespace:
    """The numba dispatchers themselves (compiled, or loaded from numba's cache, on first
    call)."""
    modules = {m: importlib.import_module(f".{m}", __package__)
               for m in set(ENTRY_POINTS.values())}
    return SimpleNamespace(origin="jit",
                           **{n: getattr(modules[m], n) for n, m in ENTRY_POINTS.items()})


def build(folder: Path | None = None) -> Path:
    """Export every entry point, with the one signature this process's JIT compiled it for,
    into an extension module for this source; returns its path (in `folder`, else the first
    writable cache folder). Call it after tagging once (`Tagger.warm_up` calls every entry
    point), so the build's signatures are the ones the tagger calls them with.
    """
    try:
        with warnings.catch_warnings():  # pending deprecation since numba 0.57, still shipped
            warnings.simplefilter("ignore")
            from numba.pycc import CC
    except ImportError as exc:
        raise KernelBuildError(f"numba.pycc is not available: {exc}") from exc
    jit = jit_kernels()
    compiled = {name: list(getattr(jit, name).overloads.values()) for name in ENTRY_POINTS}
    wrong = [f"{name}: {len(c)} signatures" for name, c in compiled.items() if len(c) != 1]
    if wrong:
        raise KernelBuildError("the build exports each kernel for the one signature this "
                               f"process compiled it for; {', '.join(wrong)}")
    signatures = {name: c[0].signature for name, c in compiled.items()}
    for target in [folder] if folder else cache_dirs():
        try:
            target.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(dir=target, prefix=".kernels-"))
        except OSError:
            continue
        try:
            cc = CC(MODULE_NAME)
            cc.output_dir = str(scratch)
            cc.verbose = False
            for name, signature in signatures.items():
                cc.export(name, signature)(getattr(jit, name).py_func)
            with _arrays_boxed_from_environment(), contextlib.redirect_stdout(sys.stderr):
                cc.compile()
            made = scratch / built_path(target).name
            final = built_path(target)
            final.parent.mkdir(exist_ok=True)
            os.chmod(final.parent, 0o755)  # see _trusted
            os.chmod(made, 0o755)
            os.replace(made, final)  # whole or not at all: a loader never sees half a file
            return final
        except Exception as exc:  # the compiler's errors are of many kinds: say which
            raise KernelBuildError(f"building the kernels in {target} failed: {exc!r}") from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    raise KernelBuildError(f"no writable cache folder among {cache_dirs()}")


@contextlib.contextmanager
def _arrays_boxed_from_environment():
    """Box returned arrays with the ndarray type read from the module's environment.

    numba's own boxing embeds that type as a pickle and unpickles it at every return, which
    the JIT memoises and an ahead-of-time module cannot: measured, 0.33 us per returned
    array, 2.5 us on a one-sentence call. The environment holds the type once, as it holds
    the dtype already.
    """
    from llvmlite import ir
    from numba.core import boxing, cgutils, pythonapi, types  # noqa: F401 (registers boxers)
    from numba.np import numpy_support

    def box_array(typ, val, c):
        dtype = c.env_manager.read_const(c.env_manager.add_const(
            numpy_support.as_dtype(typ.dtype)))
        box_type = c.env_manager.read_const(c.env_manager.add_const(typ.box_type))
        api = c.pyapi
        fnty = ir.FunctionType(api.pyobj, [api.voidptr, api.pyobj, ir.IntType(32),
                                           ir.IntType(32), api.pyobj])
        adapt = api._get_function(fnty, name="NRT_adapt_ndarray_to_python_acqref")
        ndim = c.context.get_constant(types.int32, typ.ndim)
        writable = c.context.get_constant(types.int32, int(typ.mutable))
        pointer = cgutils.alloca_once_value(c.builder, val)
        boxed = c.builder.call(adapt, [c.builder.bitcast(pointer, api.voidptr), box_type,
                                       ndim, writable, dtype])
        c.context.nrt.decref(c.builder, typ, val)  # the adapter took its own reference
        return boxed

    boxers = pythonapi._boxers.functions
    original = boxers[types.Array]
    boxers[types.Array] = box_array
    try:
        yield
    finally:
        boxers[types.Array] = original
