"""A stand-in for SPUC, faithful to its HTTP contract (docs/spuc.md).

Two uses: `spucsvi demo` / `spucsvi emulator` run SPUCSVi without Docker
against it, and the test-suite uses it as the backend over real HTTP on
127.0.0.1. It deliberately shares no code with the rest of spucsvi: it is
built from the contract alone, so a misreading of the contract in SPUCSVi
cannot be mirrored here and hidden from the tests.

Faithful includes SPUC's flaws. The running count is kept without a lock, and
the first writers truncate each other's file (mode "w" while the file does
not exist yet), exactly as SPUC does, so a test can show that SPUCSVi never
sends SPUC concurrent submissions while that can lose sightings.
`write_delay` widens that race window so the test does not depend on luck.

SPUC writes its clock's time without a zone (`str(datetime.now())`); `zone`
(an IANA name) sets that clock, to stand in for a SPUC whose container does
not run on UTC. Unset, it is this machine's local clock, as SPUC's is.

Faithful at the edges too: a request line and headers of up to 256 KB in all
are read (SPUC's waitress, max_request_header_size), 431 beyond.
"""

from __future__ import annotations

import email.parser
import http.client
import io
import ipaddress
import logging
import threading
import time
import zlib
from datetime import datetime
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

import flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from spucsvi.spuc.records import HEADER

log = logging.getLogger(__name__)

MISSING_DATA = "Missing data: Need location and brightness."


def _count_from_lines(data_file: Path) -> int:
    """SPUC's count when its first sighting after a start finds the file there:
    the file's lines less the header, as Python's text mode counts them (a
    newline, a carriage return or both end a line). A record broken across
    lines by its location counts once per line, so the count jumps after it."""
    with data_file.open(encoding="utf-8", errors="replace") as lines:
        return sum(1 for _ in lines) - 1


class _Sightings:
    """SPUC's recording logic, race included (see the module docstring)."""

    def __init__(self, data_file: Path, units: str, write_delay: float, zone: str | None):
        self.data_file = data_file
        self.units = units
        self.write_delay = write_delay
        self.zone = None if zone is None else ZoneInfo(zone)
        self.count: int | None = None  # shared by all threads, no lock: as SPUC

    def record(self, location: str, brightness: str) -> int:
        exists = self.data_file.exists()
        if not exists:
            self.count = 0
        elif self.count is None:  # the first sighting since the start
            self.count = _count_from_lines(self.data_file)
        count = self.count + 1
        time.sleep(self.write_delay)
        self.count = count
        line = f"{count},{self.now()},{location},{brightness},{self.units}\n"
        if exists:
            with self.data_file.open("a", encoding="utf-8", newline="") as f:
                f.write(line)
        else:
            with self.data_file.open("w", encoding="utf-8", newline="") as f:
                f.write(HEADER + "\n")
                f.write(line)
        return count

    def now(self) -> datetime:
        """SPUC's clock: its local time, with no zone."""
        if self.zone is None:
            return datetime.now()
        return datetime.now(self.zone).replace(tzinfo=None)


def create_emulator_app(
    data_file: Path,
    *,
    export_enabled: bool = True,
    units: str = "iuhc",
    write_delay: float = 0.0,
    zone: str | None = None,
) -> flask.Flask:
    """A Flask app answering like SPUC, storing sightings in `data_file`.

    `export_enabled` mirrors SPUC's EXPORT variable: when off, /export is not
    a route at all (Flask's HTML 404). `write_delay` seconds are slept between
    SPUC's "does the file exist" check and its write, to widen the race.
    `zone` is the IANA name of SPUC's clock (this machine's when None).
    """
    # send_file resolves relative paths against the app's root, not the cwd.
    data_file = Path(data_file).resolve()
    sightings = _Sightings(data_file, units, write_delay, zone)
    app = flask.Flask(__name__)

    @app.put("/unicorn_spotted")
    def unicorn_spotted() -> tuple[dict[str, str], int]:
        location = flask.request.args.get("location")
        brightness = flask.request.args.get("brightness")
        if not location or not brightness:
            return {"ERROR": MISSING_DATA}, 400
        count = sightings.record(location, brightness)
        log.info("Unicorn sighting %d recorded at %r, brightness %r", count, location, brightness)
        return {"message": "Unicorn sighting recorded!"}, 200

    if export_enabled:

        @app.get("/export")
        def export() -> flask.Response | dict[str, str]:
            if not data_file.exists():
                return {"message": "No unicorn sightings yet!"}
            # Read into memory: werkzeug abandons an open file unclosed when it
            # answers 304 or 416. The ETag has the shape Flask gives a path.
            stat = data_file.stat()
            return flask.send_file(
                io.BytesIO(data_file.read_bytes()),
                mimetype="text/plain",
                as_attachment=True,
                download_name="unicorn_sightings.txt",
                etag=f"{stat.st_mtime}-{stat.st_size}-{zlib.adler32(bytes(data_file))}",
                last_modified=stat.st_mtime,
            )

    return app


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# SPUC runs waitress, whose max_request_header_size is 262,144 bytes: a request
# line and headers up to that are read, beyond it SPUC answers 431.
MAX_REQUEST_HEAD = 256 * 1024


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without its one log line per request (errors still log),
    reading a request line and headers of up to MAX_REQUEST_HEAD bytes in all, as
    SPUC's waitress does (http.server stops at 64 KB per line and 100 headers)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            lines = self._read_head()
            if lines is None:
                self.requestline, self.request_version, self.command = "", "", ""
                self.close_connection = True
                self.send_error(431, "Request Header Fields Too Large")
                return
            if not lines:
                self.close_connection = True
                return
            self.raw_requestline = lines[0]
            connection, self.rfile = self.rfile, io.BytesIO(b"\r\n")
            try:  # the request line only: the headers are parsed below, without a line limit
                parsed = self.parse_request()
            finally:
                self.rfile = connection
            if not parsed:
                return
            text = b"".join(lines[1:]).decode("iso-8859-1")
            self.headers = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
            kind = self.headers.get("Connection", "").lower()
            if kind == "close":
                self.close_connection = True
            elif kind == "keep-alive" and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            getattr(self, "do_" + self.command)()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def _read_head(self) -> list[bytes] | None:
        """The request line and header lines, or None past MAX_REQUEST_HEAD bytes."""
        lines: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(MAX_REQUEST_HEAD + 1 - size)
            if not line:
                return lines
            size += len(line)
            if size > MAX_REQUEST_HEAD:
                return None
            lines.append(line)
            if line in (b"\r\n", b"\n") and len(lines) > 1:
                return lines


class EmulatorServer:
    """The emulator on a real threaded HTTP server (threads, like SPUC's waitress).

    `start()` binds and serves in a daemon thread; `port=0` picks a free port,
    read the result from `.url`. Only loopback addresses are accepted unless
    `allow_public=True`: the emulator has no protection and loses data on
    purpose, so it must not end up on a network by accident.
    """

    def __init__(
        self,
        data_file: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        export_enabled: bool = True,
        units: str = "iuhc",
        write_delay: float = 0.0,
        zone: str | None = None,
        allow_public: bool = False,
    ):
        if not allow_public and not _is_loopback(host):
            raise ValueError(
                f"refusing to bind the SPUC emulator to {host!r}: not a loopback address "
                "(pass --allow-public to do it anyway)"
            )
        self.data_file = Path(data_file)
        self.host = host
        self.port = port
        self.export_enabled = export_enabled
        self.units = units
        self.write_delay = write_delay
        self.zone = zone
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL without trailing slash; the real port once bound."""
        port = self._server.server_port if self._server else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    def _bind(self) -> BaseWSGIServer:
        self.data_file.parent.mkdir(parents=True, exist_ok=True)
        app = create_emulator_app(
            self.data_file,
            export_enabled=self.export_enabled,
            units=self.units,
            write_delay=self.write_delay,
            zone=self.zone,
        )
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=_QuietRequestHandler
        )
        return self._server

    def start(self) -> EmulatorServer:
        server = self._bind()
        # A short poll interval so stop() returns quickly, test after test.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"spuc-emulator-{self.url}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self._server = None

    def run(self) -> None:
        """Serve in the calling thread until Ctrl-C."""
        server = self._bind()
        log.info("SPUC emulator serving on %s, data file %s", self.url, self.data_file)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.info("SPUC emulator stopped")
        finally:
            self.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str,
    port: int,
    data_file: Path,
    *,
    export_enabled: bool,
    units: str,
    allow_public: bool = False,
) -> None:
    """Run the emulator in the foreground until Ctrl-C (`spucsvi emulator`)."""
    EmulatorServer(
        data_file,
        host=host,
        port=port,
        export_enabled=export_enabled,
        units=units,
        allow_public=allow_public,
    ).run()
