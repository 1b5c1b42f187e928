"""The served simulators over real TCP on 127.0.0.1: bad input gets the instrument's SCPI error,
never a dropped connection; lines and clients are bounded."""

import math
import socket
import threading
import time

import pytest

from dwlab.instruments.sim.lab import SimLab
from dwlab.instruments.sim.scpi import Num, ScpiError
from dwlab.instruments.sim.server import MAX_CONNECTIONS, MAX_LINE_BYTES, SimServer

# (argument, SCPI error code) for an integer 0..255 setting such as *ESE
MALFORMED = [("1e400", -222), ("-1e400", -222), ("1e99999999999", -222), ("256", -222),
             ("nan", -104), ("NaN", -104), ("inf", -104), ("-inf", -104), ("1.5", -104),
             ("0x10", -104), ("garbage", -104), ("1e", -104), ("--1", -104), ("", -109),
             ("1,2", -108)]


@pytest.fixture(scope="module")
def served():
    lab = SimLab()
    with SimServer(lab.responders()) as server:
        yield {role: int(resource.split("::")[2]) for role, resource in
               server.resources().items()}


class Client:
    """A raw line client, as a VISA socket session is."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rwb")

    def send(self, line: bytes | str) -> None:
        self.file.write((line.encode() if isinstance(line, str) else line) + b"\n")
        self.file.flush()

    def ask(self, line: str) -> str:
        self.send(line)
        reply = self.file.readline()
        assert reply.endswith(b"\n"), f"no reply to {line!r}: connection dropped?"
        return reply.decode().strip()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def source(served):
    client = Client(served["source"])
    client.send("*CLS")
    yield client
    client.close()


@pytest.mark.parametrize("value,code", MALFORMED)
def test_a_malformed_number_posts_its_scpi_error_and_keeps_the_link(source, value, code):
    source.send(f"*ESE {value}")
    assert source.ask("SYST:ERR?").startswith(f"{code},")
    assert source.ask("*ESE?") == "0"  # refused: nothing changed
    assert "MODEL 6221" in source.ask("*IDN?")


@pytest.mark.parametrize("value,code", [("1e400", -222), ("-1e999", -222), ("nan", -104),
                                        ("1e400mA", -222), ("1e-400", 0)])
def test_a_current_beyond_any_number_is_out_of_range(source, value, code):
    source.send(f"SOUR:CURR {value}")
    assert source.ask("SYST:ERR?").startswith(f"{code},")


def test_a_lakeshore_instrument_flags_it_in_its_status_register(served):
    client = Client(served["gaussmeter_z"])
    try:
        client.send("*ESR?")
        client.file.readline()
        unit = client.ask("UNIT?")
        client.send("UNIT 1e400")
        assert int(client.ask("*ESR?")) & 16  # execution error: out of range
        client.send("UNIT nan")
        assert int(client.ask("*ESR?")) & 32  # command error: not a number
        assert client.ask("UNIT?") == unit
    finally:
        client.close()


def test_binary_garbage_is_an_undefined_header(source):
    source.send(b"\xff\xfe\x00\x01 \x80")
    assert source.ask("SYST:ERR?").startswith("-113,")
    assert "MODEL 6221" in source.ask("*IDN?")


def test_an_over_long_line_is_refused_whole_and_the_link_stays(source):
    source.send("*ESE 1" + "0" * (3 * MAX_LINE_BYTES) + "1")
    assert source.ask("SYST:ERR?").startswith("-363,")
    assert source.ask("SYST:ERR?").startswith("0,")  # one error for the whole line
    assert source.ask("*ESE?") == "0"
    source.send("*ESE 4")  # the next line is read from its start
    assert source.ask("*ESE?") == "4"


def test_a_line_at_the_limit_is_still_taken(source):
    padding = MAX_LINE_BYTES - len("*ESE 8\n")
    source.send("*ESE " + "0" * padding + "8")
    assert source.ask("*ESE?") == "8"


def test_every_numeric_setting_of_every_instrument_survives_malformed_numbers(served):
    """Each command of each instrument, with numbers no instrument can hold: the reply is an
    error in the queue or status register, never a dropped link or a simulator failure."""
    lab = SimLab()  # for the command trees only
    for role, responder in lab.responders().items():
        client = Client(served[role])
        try:
            for command in responder.tree.commands:
                if command.setter is None or command.nodes[0].long.startswith("*"):
                    continue
                header = ":".join(node.long for node in command.nodes)
                for value in ("1e400", "nan", "-1e99999", "1" * 400):
                    client.send(f"{header} {value}")
                    if hasattr(responder, "errors"):
                        error = client.ask("SYST:ERR?")
                        assert not error.startswith("-300,"), (role, header, value)
                assert client.ask("*IDN?"), role
        finally:
            client.close()


def test_connections_are_limited_per_instrument(served):
    port = served["voltmeter"]
    threads_before = threading.active_count()
    clients = [Client(port) for _ in range(MAX_CONNECTIONS)]
    try:
        for client in clients:
            assert "MODEL 2182A" in client.ask("*IDN?")
        extra = socket.create_connection(("127.0.0.1", port), timeout=10)
        extra.sendall(b"*IDN?\n")
        assert extra.recv(100) == b""  # closed at once, no thread started for it
        extra.close()
        assert threading.active_count() <= threads_before + MAX_CONNECTIONS
    finally:
        for client in clients:
            client.close()
    deadline = time.monotonic() + 10  # the slots come back as the handlers see the close
    while True:
        again = Client(port)
        try:
            again.send("*IDN?")
            if again.file.readline():
                break
        except OSError:
            pass
        finally:
            again.close()
        assert time.monotonic() < deadline, "slots not released after the clients closed"
        time.sleep(0.05)


def test_num_refuses_non_finite_values_in_process():
    for text in ("1e400", "-1e400"):
        with pytest.raises(ScpiError) as info:
            Num(-math.inf, math.inf).parse(text)
        assert info.value.code == -222
