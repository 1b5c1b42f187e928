"""Seconds per training epoch of the spiking network on the 5,000-digit MNIST set (4,000
training images, then the 1,000-image test pass), on this machine's CPU in one thread.

    .venv/bin/python benchmarks/bench_snn.py [--steps 20] [--epochs 1]

Table-1 neurons and the measured-device kind (quantised, pinned, with threshold spread) are
timed separately, and the plain (non-spiking) reference beside them. Needs the [snn] extra.
The machine's other load counts: read the load average printed with the result.
"""

from __future__ import annotations

import argparse
import os
import time

from dwlab.snn import data, neuron, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=train.TrainConfig.steps)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    t0 = time.perf_counter()
    dataset = data.load("mnist5k")
    print(f"mnist5k loaded in {time.perf_counter() - t0:.1f} s "
          f"({len(dataset.y_train)} train / {len(dataset.y_test)} test)")
    device = neuron.NeuronModel(tau_int_ms=58, tau_leak_ms=80, V_th_uV=-120, V_reset_uV=-75,
                                dt_ms=10, sigma_pct=1.0, pulses_to_fire=11.6, pinned=True,
                                source="device-like")
    config = train.TrainConfig(epochs=args.epochs, steps=args.steps)
    for label, model in (("Table 1", neuron.table1()), ("device-like", device),
                         ("plain reference", None)):
        result = train.train(dataset, config, model)
        per_epoch = sum(e.seconds for e in result.epochs) / len(result.epochs)
        print(f"{label:16s} T = {args.steps:3d}: {per_epoch:7.1f} s/epoch  "
              f"(test {result.final.test_acc_pct:.1f} % after {args.epochs} epoch(s))  "
              f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
