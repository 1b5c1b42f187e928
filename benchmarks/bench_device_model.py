"""How fast the device model runs: step calls per second and Kerr frames per second.

Run on purpose: ``.venv/bin/python benchmarks/bench_device_model.py``.
"""

import time

import numpy as np

from dwlab.instruments.sim.device import DeviceParams, SafHallBar
from dwlab.instruments.sim.kerr_image import render_kerr_image


def rate(label: str, n: int, call) -> None:
    t0 = time.perf_counter()
    for _ in range(n):
        call()
    per_s = n / (time.perf_counter() - t0)
    print(f"{label:<44s} {per_s:12,.0f} /s")


def main() -> None:
    rng = np.random.default_rng(0)
    bar = SafHallBar(DeviceParams(), rng)

    def pulse():  # 20 mA / 0.5 ms write pulse at the operating point; keep the wall mid-span
        bar.x_um = 5.0
        bar.step(0.5e-3, -1725.0, 1000.0, 20e-3)

    rate("SafHallBar.step, 0.5 ms pulse", 50_000, pulse)
    rate("SafHallBar.step, 1 ms idle (Hz on, I = 0)",
         50_000, lambda: bar.step(1e-3, -1725.0, 1000.0, 0.0))
    rate("SafHallBar.v_ahe_V reading", 50_000, lambda: bar.v_ahe_V(100e-6, 0.0))
    for pixel_um in (1.0, 0.5):
        rate(f"render_kerr_image, {pixel_um} um/px", 300,
             lambda pixel_um=pixel_um: render_kerr_image(bar, rng, pixel_um=pixel_um))


if __name__ == "__main__":
    main()
