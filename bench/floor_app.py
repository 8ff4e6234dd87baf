"""The smallest WSGI app: what the HTTP server itself costs per request on this machine.

The benchmark serves it with the same server settings as sectag, so the service's
latency can be read against the server's own floor measured in the same run.
"""


def app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]
