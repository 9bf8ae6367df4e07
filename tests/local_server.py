"""The one way the tests serve HTTP on 127.0.0.1: a threaded ``http.server`` in a daemon thread that stops at
once. The fakes (sources, Gemini, webhooks) only write their request handler."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: how often the serving loop looks at its stop flag when nothing arrives (stop() does not wait for it)
POLL_SECONDS = 0.5


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        """Each connection without Nagle's algorithm: a handler writes the headers, then the body, and on a
        kept-alive connection the body would wait for the client's delayed ACK of the headers (40 ms on
        Linux), once per request of every run (a run of the corpus day makes a dozen)."""
        conn, address = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early is normal here: no socketserver traceback on stderr."""


class LocalServer:
    """``handler`` served on an ephemeral port of 127.0.0.1 from ``start()`` to ``stop()``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, name: str = "local-server") -> None:
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(POLL_SECONDS,), name=name, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. ``shutdown()`` waits until the serving loop looks at its flag,
        which it does when a connection arrives or its poll times out: a throwaway connection makes that
        happen now instead of up to :data:`POLL_SECONDS` later (that wait, once per test, added up)."""
        if self._thread.is_alive():
            stopper = threading.Thread(target=self.httpd.shutdown, daemon=True)
            stopper.start()
            while stopper.is_alive():
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                stopper.join(0.01)
            self._thread.join(timeout=5)
        self.httpd.server_close()
