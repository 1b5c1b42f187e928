"""A loopback TCP server that exposes each simulated instrument as a raw SCPI socket.

Real VISA clients (pyvisa with pyvisa-py) open ``TCPIP::127.0.0.1::PORT::SOCKET`` with ``\\n``
terminations both ways, exactly as they would a 6221 on its LAN port. Every instrument gets its
own port; all ports share one ``SimLab``, so the 6221's current, the magnets' fields, the
gaussmeter and the 2182A voltage stay coupled through one device model, whichever client talks.
Binds 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Mapping

from dwlab.instruments.sim.adapter import Responder

HOST = "127.0.0.1"


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
        for raw in iter(self.rfile.readline, b""):
            self._ack_at_once()
            line = raw.decode("ascii", errors="replace").strip("\r\n")
            if not line:
                continue
            reply = responder.handle(line)
            if reply is not None:
                self.wfile.write(reply.encode("ascii") + b"\n")
                self.wfile.flush()


class _InstrumentServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, responder: Responder):
        self.responder = responder
        super().__init__((HOST, port), _LineHandler)


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
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
