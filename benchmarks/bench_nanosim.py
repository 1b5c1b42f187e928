"""Seconds for the nanoscale model's scans on this machine: the full 0 K H_ex scan (21 fields)
and the 300 K scan (21 fields x 10 seeds), plus one numpy-per-step run of the same equations
for the ratio that justifies the compiled kernel.

    .venv/bin/python benchmarks/bench_nanosim.py
"""

from __future__ import annotations

import time

import numpy as np

from dwlab.nanosim import experiments, model
from dwlab.nanosim.parameters import PAPER_J, Strip, oe

FIELDS = np.arange(0, 2001, 100.0)


def timed(label: str, fn) -> float:
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"{label:48s} {seconds:8.2f} s")
    return seconds


def numpy_steps_per_second(n_steps: int = 2000) -> float:
    """The same Heun step written with numpy over 21 lanes, per lane-step."""
    strip = Strip()
    c = model.constants(strip)
    q = np.full(21, strip.roi_start)
    phi = np.zeros(21)
    H = oe(FIELDS)
    start = time.perf_counter()
    for _ in range(n_steps):
        rates = np.vectorize(lambda qq, pp, hh: model._rates.py_func(
            c, qq, pp, 0.0, hh, PAPER_J, 0.0, 0.0))
        k1q, k1p = rates(q, phi, H)
        k2q, k2p = rates(q + 1e-12 * k1q, phi + 1e-12 * k1p, H)
        q, phi = q + 0.5e-12 * (k1q + k2q), phi + 0.5e-12 * (k1p + k2p)
    return n_steps * 21 / (time.perf_counter() - start)


def main() -> None:
    strip = Strip()
    experiments.hex_scan(strip, [1000.0], experiments.ScanSettings(t_off_max=1e-9))  # compile
    experiments.hex_scan(strip, [1000.0], experiments.ScanSettings(T=300, t_off_max=1e-9))
    zero = timed("0 K scan, 21 fields", lambda: experiments.hex_scan(strip, FIELDS))
    warm = timed("300 K scan, 21 fields x 10 seeds",
                 lambda: experiments.hex_scan(strip, FIELDS,
                                              experiments.ScanSettings(T=300.0, seeds=10)))
    timed("LIF sequence (384 nm ROI, 0 K)", lambda: experiments.lif_sequence(strip))
    trace = np.zeros((1, 0, 3))
    n = 200_000
    start = time.perf_counter()
    model.forward_and_back(model.constants(Strip(roi_length=1e-3)), np.array([oe(1000.0)]),
                           PAPER_J, 0.0, np.array([0]), 1e-12, n * 1e-12, 0.0, 1, trace)
    compiled = n / (time.perf_counter() - start)
    interpreted = numpy_steps_per_second()
    print(f"compiled kernel: {compiled:,.0f} wall-steps/s; the same step interpreted: "
          f"{interpreted:,.0f} wall-steps/s ({compiled / interpreted:,.0f}x)")
    print(f"summary: 0 K scan {zero:.1f} s, 300 K scan {warm:.1f} s")


if __name__ == "__main__":
    main()
