"""Query round trips per second to the simulated lab: in process and over loopback TCP.

Run on purpose (not a test): ``.venv/bin/python benchmarks/bench_sim_io.py``. Both paths send
the same driver queries to the same simulated 6221 and 2182A, so the ratio shows what the
socket costs. Device-model steps per second are in ``bench_device_model.py``.
"""

from __future__ import annotations

import time

import pyvisa

from dwlab.clock import VirtualClock
from dwlab.instruments.keithley2182 import Keithley2182A
from dwlab.instruments.keithley6221 import Keithley6221
from dwlab.instruments.sim.adapter import SimAdapter
from dwlab.instruments.sim.lab import SimLab
from dwlab.instruments.sim.server import SimServer

N = 3000


def rate(query, n=N) -> float:
    query()  # warm up
    t0 = time.perf_counter()
    for _ in range(n):
        query()
    return n / (time.perf_counter() - t0)


def main() -> None:
    sim = SimLab(seed=0, clock=VirtualClock())
    responders = sim.responders()
    source = Keithley6221(SimAdapter(responders["source"]))
    meter = Keithley2182A(SimAdapter(responders["voltmeter"]))
    results = {"in-process 6221 SOUR:CURR?": rate(lambda: source.source_current),
               "in-process 2182A READ?": rate(lambda: meter.voltage)}
    with SimServer(responders) as server:
        res = server.resources()
        rm = pyvisa.ResourceManager("@py")
        tcp_source = Keithley6221(res["source"], read_termination="\n", write_termination="\n")
        tcp_meter = Keithley2182A(res["voltmeter"], read_termination="\n", write_termination="\n")
        results["tcp 6221 SOUR:CURR?"] = rate(lambda: tcp_source.source_current, N // 3)
        results["tcp 2182A READ?"] = rate(lambda: tcp_meter.voltage, N // 3)
        tcp_source.adapter.close()
        tcp_meter.adapter.close()
        rm.close()
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:{width}s} {value:10.0f} queries/s")
    ratio = results["in-process 6221 SOUR:CURR?"] / results["tcp 6221 SOUR:CURR?"]
    print(f"in-process / tcp (6221) {ratio:.1f}x")


if __name__ == "__main__":
    main()
