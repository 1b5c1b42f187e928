"""A loopback TCP server that exposes each simulated instrument as a raw SCPI socket.

Real VISA clients (pyvisa with pyvisa-py) open ``TCPIP::127.0.0.1::PORT::SOCKET`` with ``\\n``
terminations both ways, exactly as they would a 6221 on its LAN port. Every instrument gets its
own port; all ports share one ``SimLab``, so the 6221's current, the magnets' fields, the
gaussmeter and the 2182A voltage stay coupled through one device model, whichever client talks.
Binds 127.0.0.1 only.

Robust as an instrument's LAN port must be: bad input never drops a connection (it is the
instrument's to refuse, with its SCPI error); a line longer than ``MAX_LINE_BYTES`` is refused
whole with -363 "Input buffer overrun" and never buffered; at most ``MAX_CONNECTIONS`` clients
at a time per instrument, each on one thread, a further one is closed at once.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from collections.abc import Mapping

from dwlab.instruments.sim.adapter import Responder
from dwlab.instruments.sim.scpi import INPUT_BUFFER_OVERRUN, INTERNAL_ERROR

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# (unconfirmed: stricter reading) the manuals give no input-buffer size or client count for
# the raw socket; 16 KiB holds the longest message dwlab sends (100 ARB points, 100-entry lists)
MAX_LINE_BYTES = 16384
MAX_CONNECTIONS = 4


def resource_string(port: int) -> str:
    return f"TCPIP::{HOST}::{port}::SOCKET"


#: Linux delays the ACK of a line that needs no reply by up to 40 ms, and a client without
#: TCP_NODELAY (pyvisa-py's default) holds its next line until that ACK: 45 ms per write +
#: query instead of 1.5 ms, 2 s of lab time per message at --speed 50. An instrument's network
#: stack answers at once; so does this server.
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class _LineHandler(socketserver.StreamRequestHandler):
    """One client connection: a line in, the instrument's reply (if any) out."""

    disable_nagle_algorithm = True  # replies leave at once

    def _ack_at_once(self) -> None:
        if _QUICKACK is not None:  # the kernel resets it after each delayed ACK: set per read
            self.connection.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    def handle(self) -> None:
        responder: Responder = self.server.responder  # type: ignore[attr-defined]
        self._ack_at_once()
        while raw := self.rfile.readline(MAX_LINE_BYTES + 1):
            self._ack_at_once()
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                self._discard_rest_of_line()
                _post(responder, INPUT_BUFFER_OVERRUN)
                continue
            line = raw.decode("ascii", errors="replace").strip("\r\n")
            if not line:
                continue
            try:
                reply = responder.handle(line)
            except Exception:  # noqa: BLE001 - a simulator bug must not drop the client
                log.exception("simulated instrument failed on %r", line[:200])
                _post(responder, INTERNAL_ERROR)
                continue
            if reply is not None:
                self.wfile.write(reply.encode("ascii", errors="replace") + b"\n")
                self.wfile.flush()

    def _discard_rest_of_line(self) -> None:
        """Read on, in bounded pieces, up to the end of an over-long line."""
        while chunk := self.rfile.readline(MAX_LINE_BYTES):
            if chunk.endswith(b"\n"):
                return


def _post(responder: Responder, error: tuple[int, str]) -> None:
    post = getattr(responder, "post_error", None)
    if post is not None:
        with responder.lab.lock:  # type: ignore[attr-defined]
            post(*error)


class _InstrumentServer(socketserver.ThreadingTCPServer):
    """One instrument's port: a thread per client, at most ``MAX_CONNECTIONS`` of them."""

    daemon_threads = True
    block_on_close = False  # keep no list of client threads: a finished one is gone
    allow_reuse_address = True

    def __init__(self, port: int, responder: Responder):
        self.responder = responder
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__((HOST, port), _LineHandler)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("%s: %d clients already; closing the connection from %s",
                        type(self.responder).__name__, MAX_CONNECTIONS, client_address)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class SimServer:
    """Serve every responder of a simulated lab on its own loopback port.

    ``ports`` maps instrument names to fixed ports; names not given get a free port.
    Use as a context manager, or ``start()`` / ``stop()``.
    """

    def __init__(self, responders: Mapping[str, Responder], ports: Mapping[str, int] | None = None):
        ports = dict(ports or {})
        unknown = set(ports) - set(responders)
        if unknown:
            raise ValueError(f"ports given for unknown instruments {sorted(unknown)}; "
                             f"instruments are {sorted(responders)}")
        self._servers = {name: _InstrumentServer(ports.get(name, 0), responder)
                         for name, responder in responders.items()}
        self._threads: list[threading.Thread] = []

    def resources(self) -> dict[str, str]:
        """Instrument name -> the VISA resource string a client opens."""
        return {name: resource_string(server.server_address[1])
                for name, server in self._servers.items()}

    def start(self) -> "SimServer":
        for name, server in self._servers.items():
            thread = threading.Thread(target=server.serve_forever, name=f"sim-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        # shutdown() waits up to a poll interval (0.5 s) per port: ask every port at once
        stopping = [threading.Thread(target=server.shutdown) for server in self._servers.values()]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        for server in self._servers.values():
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
