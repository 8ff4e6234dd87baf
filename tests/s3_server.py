"""A real S3-compatible server (moto) on a loopback port, with a log of the requests it got."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

import pytest

from conftest import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class S3Server:
    """moto's S3 behind a WSGI wrapper that records (method, path, query) of every request."""

    port: int
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def options(self) -> dict:
        return {"endpoint_url": self.endpoint}

    def record(self, app):
        def wrapped(environ, start_response):
            self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                                  environ.get("QUERY_STRING", "")))
            return app(environ, start_response)
        return wrapped

    def requests_for(self, bucket: str) -> list[tuple[str, str, str]]:
        return [r for r in self.requests if r[1].startswith(f"/{bucket}")]

    def new_bucket(self) -> str:
        import boto3

        name = f"sectag-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server():
    """moto[server] in a thread of the test process: started here, stopped at the end."""
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # the test keeps its own log
            pass

    with pytest.MonkeyPatch.context() as env:
        for name, value in CREDENTIALS.items():
            env.setenv(name, value)
        server = S3Server(free_port())
        httpd = make_server("127.0.0.1", server.port,
                            server.record(DomainDispatcherApplication(create_backend_app)),
                            threaded=True, request_handler=Quiet)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            httpd.shutdown()
            thread.join()


@pytest.fixture
def s3_url(s3_server) -> str:
    """A registry URL in a fresh bucket, under a prefix."""
    return f"s3://{s3_server.new_bucket()}/sectag"
