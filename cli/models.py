"""`sectag models list|show|promote|rollback`: the versions in the registry."""

from __future__ import annotations

import json

from .common import add_common, open_registry


def cmd_list(args) -> int:
    registry = open_registry(args)
    current = registry.current()
    versions = registry.versions()
    if not versions:
        print(f"no versions in {args.registry}")
    for version in versions:
        m = registry.manifest(version)
        mark = "*" if version == current else " "
        print(f"{mark} {version:6s} {m.get('created', '?'):25s} rows {m['counts']['rows']:5d}  "
              f"macro-F1 {m['cv']['macro_f1']:.3f}  data {m['data_sha256'][:12]}")
    return 0


def cmd_show(args) -> int:
    print(json.dumps(open_registry(args).manifest(args.version), indent=2))
    return 0


def cmd_promote(args) -> int:
    print(f"current is now {open_registry(args).promote(args.version)}")
    return 0


def cmd_rollback(args) -> int:
    print(f"rolled back; current is now {open_registry(args).rollback()}")
    return 0


def register(sub) -> None:
    models = sub.add_parser("models", help="list and switch model versions")
    models_sub = models.add_subparsers(dest="action", required=True)
    for name, func, text, takes_version in [
            ("list", cmd_list, "list versions (* marks current)", False),
            ("show", cmd_show, "print a version's manifest", True),
            ("promote", cmd_promote, "make a version current", True),
            ("rollback", cmd_rollback, "return to the previously current version", False)]:
        p = models_sub.add_parser(name, help=text)
        add_common(p)
        if takes_version:
            p.add_argument("version", nargs="?" if name == "show" else None,
                           help="version, e.g. v3" + (" (default: current)"
                                                       if name == "show" else ""))
        p.set_defaults(func=func)
