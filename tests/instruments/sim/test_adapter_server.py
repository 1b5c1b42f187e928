"""The in-process adapter and the loopback server carry SCPI as a real link would."""

import pytest
import pyvisa
from pymeasure.instruments import Instrument
from pyvisa.errors import VisaIOError

from dwlab.instruments.sim.adapter import SimAdapter
from dwlab.instruments.sim.server import SimServer


class Counter:
    """A minimal responder: `INC` adds one, `VAL?` answers the count."""

    def __init__(self):
        self.count = 0
        self.seen = []

    def handle(self, message):
        self.seen.append(message)
        if message == "INC":
            self.count += 1
            return None
        if message == "VAL?":
            return str(self.count)
        return "ERR"


def test_adapter_passes_messages_and_replies():
    responder = Counter()
    inst = Instrument(SimAdapter(responder), "counter", includeSCPI=False)
    inst.write("INC")
    inst.write("INC")
    assert inst.ask("VAL?") == "2"
    assert responder.seen == ["INC", "INC", "VAL?"]


def test_read_with_nothing_to_read_times_out_like_visa():
    inst = Instrument(SimAdapter(Counter()), "counter", includeSCPI=False)
    with pytest.raises(VisaIOError):
        inst.read()


def test_injected_timeout_swallows_writes_and_times_out_reads():
    responder = Counter()
    adapter = SimAdapter(responder)
    adapter.inject_fault("timeout", after_messages=1)
    inst = Instrument(adapter, "counter", includeSCPI=False)
    inst.write("INC")  # still delivered
    inst.write("INC")  # lost
    with pytest.raises(VisaIOError):
        inst.ask("VAL?")
    assert responder.count == 1


def test_transient_fault_clears_after_its_duration():
    responder = Counter()
    adapter = SimAdapter(responder)
    adapter.inject_fault("disconnect", after_messages=0, lasting_messages=2)
    inst = Instrument(adapter, "counter", includeSCPI=False)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            inst.write("INC")
    inst.write("INC")
    assert inst.ask("VAL?") == "1"


def test_injected_disconnect_raises_at_once():
    adapter = SimAdapter(Counter())
    adapter.inject_fault("disconnect")
    inst = Instrument(adapter, "counter", includeSCPI=False)
    with pytest.raises(ConnectionError):
        inst.write("INC")


def test_unknown_fault_is_refused():
    with pytest.raises(ValueError, match="fault kind"):
        SimAdapter(Counter()).inject_fault("melt")


def test_pyvisa_py_client_over_loopback_shares_one_responder():
    responder = Counter()
    with SimServer({"counter": responder}) as server:
        resource = server.resources()["counter"]
        assert resource.startswith("TCPIP::127.0.0.1::") and resource.endswith("::SOCKET")
        rm = pyvisa.ResourceManager("@py")
        try:
            clients = [rm.open_resource(resource, read_termination="\n",
                                        write_termination="\n", timeout=2000) for _ in range(2)]
            clients[0].write("INC")
            assert clients[0].query("VAL?") == "1"
            clients[1].write("INC")
            assert clients[1].query("VAL?") == "2"
            assert clients[0].query("VAL?") == "2"  # the second client's write is seen
            for c in clients:
                c.close()
        finally:
            rm.close()


def test_ports_for_unknown_instruments_are_refused():
    with pytest.raises(ValueError, match="unknown instruments"):
        SimServer({"a": Counter()}, ports={"b": 5025})
