"""Running the app: one process, or several sharing the port.

With ``workers > 1`` each worker process binds its own listening socket with ``SO_REUSEPORT``
and the kernel spreads incoming connections over them. uvicorn's own ``--workers`` shares one
socket instead, and whichever process is awake first accepts a whole burst of connections:
Telegram keeps up to 40 webhook connections open, and in our benchmark every one of them
landed in the same process while the other sat idle (bench/results/telegram_throughput.md).

The supervisor restarts a worker that dies and stops them all on SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time

log = logging.getLogger(__name__)

RESTART_WINDOW = 30.0  # seconds: a worker dying this soon after its start counts as a crash loop
MAX_QUICK_DEATHS = 5


def _bound_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def worker_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to the shared port (``SO_REUSEPORT``), not yet listening: uvicorn
    listens once the app has started, so the kernel sends no connection to a worker that is
    still loading its models."""
    return _bound_socket(host, port, reuse_port=True)


def run_worker(host: str, port: int, log_level: str) -> None:
    """One worker process: its own socket on the shared port, its own app and runtime."""
    import uvicorn

    from tongban.app import create_app
    from tongban.logs import configure_logging
    from tongban.settings import get_settings

    configure_logging(log_level)
    config = uvicorn.Config(create_app(get_settings()), host=host, port=port, log_config=None, backlog=2048)
    uvicorn.Server(config).run(sockets=[worker_socket(host, port)])


def _check_port(host: str, port: int) -> None:
    """Fail at once if something already listens on the port (without SO_REUSEPORT, a bind
    fails where it would otherwise silently share the port with another program)."""
    _bound_socket(host, port, reuse_port=False).close()


def supervise(host: str, port: int, workers: int, log_level: str) -> int:
    """Start ``workers`` processes and keep them running until SIGINT/SIGTERM; 0 on a clean stop.

    The cores are not split between the workers: each worker's sentence encoder takes, call by
    call, its own thread and the cores idle at that instant (nlu/embedding.py ``_Cores``), so one
    parent's question on a quiet server gets every core and a busy server one core per text."""
    _check_port(host, port)
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes: list[tuple[multiprocessing.Process, float]] = []

    def start() -> tuple[multiprocessing.Process, float]:
        process = context.Process(target=run_worker, args=(host, port, log_level), name="tongban-worker")
        process.start()
        return process, time.monotonic()

    quick_deaths = 0
    status = 0
    try:
        processes = [start() for _ in range(workers)]
        log.info("started %d worker processes on %s:%d", workers, host, port)
        while not stopping:
            time.sleep(0.5)
            for index, (process, started) in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                quick_deaths = quick_deaths + 1 if time.monotonic() - started < RESTART_WINDOW else 0
                if quick_deaths >= MAX_QUICK_DEATHS:
                    log.error("worker processes keep exiting at start (last code %s); stopping", process.exitcode)
                    stopping, status = True, 1
                    break
                log.warning("worker %s exited (code %s); starting another", process.pid, process.exitcode)
                processes[index] = start()
    finally:
        for process, _ in processes:
            if process.is_alive():
                process.terminate()  # uvicorn shuts down gracefully on SIGTERM
        deadline = time.monotonic() + 30
        for process, _ in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
