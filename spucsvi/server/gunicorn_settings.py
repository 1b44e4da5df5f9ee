"""gunicorn settings for SPUCSVi, shared by the top-level gunicorn.conf.py,
the container image and `spucsvi serve` / `spucsvi demo`.

Server settings and the banner only: the app is correct without this file.
"""

import sys

from spucsvi.server.banner import banner
from spucsvi.settings import SettingsError, from_env, server_from_env
from spucsvi.web.logs import ACCESS_LOG_FORMAT

_server = server_from_env()
bind = _server.bind
# gthread, with slow clients waited for in the poller instead of in a thread
# (spucsvi/server/worker.py): a request reaches a thread only once it has arrived.
worker_class = "spucsvi.server.worker.PatientWorker"
workers = _server.workers
threads = _server.threads
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = ACCESS_LOG_FORMAT
control_socket_disable = True
# No request header may set SCRIPT_NAME or PATH_INFO, whoever sends it: gunicorn
# trusts them by default from forwarded_allow_ips (127.0.0.1, or `*` as many
# containers set FORWARDED_ALLOW_IPS), and a `SCRIPT_NAME: //evil.example` header
# made the page's links point to another site. A path prefix is set by the
# SCRIPT_NAME environment variable; SPUCSVI_FORWARDER_HEADERS names headers to
# trust from a proxy in forwarded_allow_ips (e.g. SCRIPT_NAME), when one sets them.
forwarder_headers = _server.forwarder_headers
# Bounded request size: SPUC itself stops at 256 KB of headers.
limit_request_line = 8190
limit_request_fields = 100


def on_starting(server):
    """Once per server, before workers fork: check settings, greet."""
    try:
        from_env()
    except SettingsError as exc:
        sys.exit(f"spucsvi: {exc}")
    host, _, port = str(server.cfg.bind[0]).rpartition(":")
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1", "[::]", "") else host  # noqa: S104
    print(banner(shown, int(port) if port.isdigit() else 8322), flush=True)
