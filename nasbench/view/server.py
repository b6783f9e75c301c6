"""optuna-dashboard over the runs' storage, served on 127.0.0.1 unless told otherwise.

optuna-dashboard (Shibata, github.com/optuna/optuna-dashboard) is a WSGI app; a threaded
``wsgiref`` server serves it (every page and API request in its own thread, so a slow
drawing holds up nothing else), and a poller thread reads each run's new history rows
every ``interval`` seconds, so a run still being written shows its new trials on reload.
"""
from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from typing import Any, Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from nasbench.core.errors import UsageError, first_line
from nasbench.view.runs import RunsView, RunView

LOG = logging.getLogger("nasbench.dashboard")
LOOPBACK = "127.0.0.1"
INSTALL = ("optuna-dashboard is not installed; install it with: pip install 'nasbench[dashboard]' "
           "(from a checkout: pip install '.[dashboard]')")


class DashboardMissingError(UsageError):
    """The optional optuna-dashboard package is not installed."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the base class's parameter name
        LOG.debug("%s " + format, self.address_string(), *args)


def dashboard_app(view: RunsView) -> Any:
    """optuna-dashboard's WSGI app over the view's storage and cell artifacts."""
    try:
        import optuna_dashboard
    except ImportError:
        raise DashboardMissingError(INSTALL) from None
    return optuna_dashboard.wsgi(view.storage, artifact_store=view.artifacts)


class DashboardServer:
    """Serves ``view`` at ``url`` from ``start`` until ``stop`` (a ``with`` block does both);
    ``port`` 0 takes a free port."""

    def __init__(self, view: RunsView, host: str = LOOPBACK, port: int = 0, interval: float = 2.0,
                 on_new_run: Callable[[RunView], None] | None = None):
        self.view = view
        self.interval = interval
        self.on_new_run = on_new_run
        try:
            self.server = make_server(host, port, dashboard_app(view), server_class=_ThreadingServer,
                                      handler_class=_QuietHandler)
        except (OSError, OverflowError) as exc:  # taken, not this machine's address, not a port
            reason = getattr(exc, "strerror", None) or first_line(exc)
            raise UsageError(f"cannot listen on {host}:{port} ({reason})") from None
        self._stopped = threading.Event()
        self._threads = [threading.Thread(target=self.server.serve_forever, name="dashboard-http", daemon=True),
                         threading.Thread(target=self._poll_forever, name="dashboard-poll", daemon=True)]
        self._failed: set[str] = set()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/dashboard/"

    def start(self) -> "DashboardServer":
        for thread in self._threads:
            thread.start()
        return self

    def poll(self) -> int:
        """Read every run's new rows now; the trials added. A run whose history cannot be
        read is reported once and skipped (the others go on)."""
        added = 0
        try:
            for run in self.view.discover():
                if self.on_new_run is not None:
                    self.on_new_run(run)
        except OSError as exc:  # a folder gone or unreadable: the runs known so far go on
            LOG.warning("looking for new runs: %s", first_line(exc))
        for run in self.view.runs:
            try:
                added += len(run.poll())
            except Exception as exc:  # noqa: BLE001 - one unreadable run must not stop the view
                if run.name not in self._failed:
                    self._failed.add(run.name)
                    LOG.warning("%s: history.jsonl unreadable past byte %d (%s); its later rows are not shown",
                                run.run_dir, run.offset, first_line(exc))
        return added

    def _poll_forever(self) -> None:
        while not self._stopped.wait(self.interval):
            self.poll()

    def stop(self) -> None:
        self._stopped.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> "DashboardServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
