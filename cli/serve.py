"""`sectag serve`: the HTTP API and web page under granian."""

from __future__ import annotations

import os

from .common import add_common, add_review_db


def cmd_serve(args) -> int:
    import logging
    import tempfile

    # prometheus_client picks its storage when first imported: workers must share files.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="sectag-prom-"))
    from service.server import serve

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = {"REGISTRY": str(args.registry), "REGISTRY_OPTIONS": args.registry_options}
    if args.review_db:
        config["REVIEW_DB"] = str(args.review_db)
    serve(config, host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    return 0


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the HTTP API and web page with granian")
    add_common(p)
    p.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    p.add_argument("--threads", type=int, default=4,
                   help="request threads per worker (default: %(default)s)")
    # Unset: the workers read SECTAG_REVIEW_DB themselves. Reviewers' tokens come from
    # SECTAG_REVIEW_TOKENS or SECTAG_REVIEW_TOKENS_FILE.
    add_review_db(p, default=None)
    p.set_defaults(func=cmd_serve)
