"""Run an ASGI app with uvicorn on a free loopback port, in a daemon thread, for tests that
need a real HTTP server (the browser tests)::

    with LiveServer(app) as server:
        page.goto(server.url + "/")

The listening socket is bound here before uvicorn starts (port 0: the OS picks a free port),
so there is no race between choosing a port and binding it.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class LiveServer:
    def __init__(self, app, *, host: str = "127.0.0.1", port: int = 0, lifespan: str = "on",
                 startup_timeout: float = 15.0, shutdown_timeout: float = 10.0,
                 log_level: str = "warning") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._config = uvicorn.Config(app, host=host, port=port, lifespan=lifespan,
                                      log_level=log_level, loop="asyncio", http="h11",
                                      ws="none", access_log=False)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        if self._socket is None:
            raise RuntimeError("LiveServer is not running")
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            assert self._server is not None and self._socket is not None
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc

    def start(self) -> LiveServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        sock.set_inheritable(True)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._run, name=f"live-server-{self.port}",
                                        daemon=True)
        self._thread.start()

        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._close_socket()
                raise RuntimeError(
                    f"LiveServer: uvicorn exited during startup: {self._error!r}"
                ) from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"LiveServer: not started within {self.startup_timeout}s"
                )
            time.sleep(0.02)
        # Started: the socket accepts connections (checked, so a caller never races it).
        with socket.create_connection((self.host, self.port), timeout=self.startup_timeout):
            pass
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(self.shutdown_timeout)
            if self._thread.is_alive():  # open keep-alive connections: stop harder
                self._server.force_exit = True
                self._thread.join(self.shutdown_timeout)
            alive = self._thread.is_alive()
            self._thread = None
            self._close_socket()
            if alive:
                raise RuntimeError("LiveServer: uvicorn did not shut down in time")
        else:
            self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class RestartableServer:
    """A fake platform's server (tests/fake_wechat.py, tests/fake_wecom.py): ``self.app`` served on a
    loopback port by ``start()``, unreachable after ``stop()``, and back on the same port after
    another ``start()`` — like a platform that went away for a while; a context manager."""

    app = None  # set by the subclass before start()

    def __init__(self) -> None:
        self._server: LiveServer | None = None
        self._port = 0

    def start(self):
        self._server = LiveServer(self.app, port=self._port, lifespan="off").start()
        self._port = self._server.port  # the same port after a stop, like a server coming back
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
