"""Kerr imaging during integration: the wall seen in images and in V_AHE at the same moments.

A reference frame is taken at rest (wall at the A/B junction) with the fields already on; then
each step is a few instrument-timed write + read periods (the shared 6221 list-sweep train,
``dwlab.procedures.pulse_train``), a differential image (stored with the run), and a short
read-only train for V_AHE right after the image. The wall's position comes from each image
(``lab.kerr.dw_position_um``) and from V_AHE (step neuron: x = span (V - V_AP)/(V_P - V_AP)),
compared by ``dwlab.procedures.analysis.kerr_tracking``. V_AP is the rest level before the
first write; V_P is read at the end with the soft layer saturated (Hz_saturate_Oe).

Hz sits at the integrate-reset operating point (h - H_ex = 575 Oe): the wall must stand
still while it is imaged, and there the sample's creep under Hz alone is ~0.05 µm/s (0.01 µm
per image), while Hz + SOT during a 20 mA write at Hx = 1000 Oe moves it ~1.2 µm per 0.5 ms
pulse, so one pulse per step resolves the integration in ~16 steps. With the fields off it
creeps home in ~120 ms.

Positions are in device coordinates (µm from the junction): the microscope's ``x0_um`` (the
setup's ``camera.x0_um``; the simulated camera knows its own) places the image's first pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.instruments.kerr import NoWallError
from dwlab.procedures.analysis import AnalysisError
from dwlab.procedures.analysis.common import flat_summary, require_columns
from dwlab.procedures.analysis.kerr_tracking import (
    PositionComparison,
    compare_positions,
    vahe_to_position_um,
)
from dwlab.procedures.base import LabProcedure, ParameterError, new_figure
from dwlab.procedures.integrate_reset import TrainParameters
from dwlab.procedures.plot_view import PlotView
from dwlab.procedures.pulse_train import TRAIN_PERIODS_MAX, PulseTrain

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REST, WRITTEN, SATURATED = 0, 1, 2  # the ``state`` column


@dataclass(frozen=True)
class KerrIntegrateResult:
    """Positions per step from both records, their comparison, and the V_AHE levels used."""

    V_AP_uV: float
    V_P_uV: float
    span_um: float
    pulses: tuple[int, ...]
    x_kerr_um: tuple[float, ...]
    x_vahe_um: tuple[float, ...]
    comparison: PositionComparison

    def summary(self) -> dict[str, float | str]:
        return flat_summary(self, **self.comparison.summary(), n_steps=float(len(self.pulses)))


def analyze_kerr_integrate(df, span_um: float) -> KerrIntegrateResult:
    """V_AP from the rest rows, V_P from the saturated rows, then both positions per step."""
    require_columns(df, ("state", "pulses", "V_uV", "x_kerr_um"), "kerr-integrate")
    levels = {}
    for state, name in ((REST, "rest (V_AP)"), (SATURATED, "saturated (V_P)")):
        rows = df[df["state"] == state]
        if rows.empty:
            raise AnalysisError(f"kerr-integrate: no {name} reading in the run")
        levels[state] = float(rows["V_uV"].mean())
    steps = df[df["state"] == WRITTEN].sort_values("pulses", kind="stable")
    x_vahe = vahe_to_position_um(steps["V_uV"], levels[REST], levels[SATURATED], span_um)
    x_kerr = steps["x_kerr_um"].to_numpy(dtype=float)
    return KerrIntegrateResult(
        V_AP_uV=levels[REST], V_P_uV=levels[SATURATED], span_um=span_um,
        pulses=tuple(int(p) for p in steps["pulses"]), x_kerr_um=tuple(x_kerr),
        x_vahe_um=tuple(float(x) for x in x_vahe), comparison=compare_positions(x_kerr, x_vahe))


class KerrIntegrate(TrainParameters, LabProcedure):
    """Integrate in steps of a few write pulses; image and read V_AHE after each step."""

    NAME = "kerr-integrate"
    PLOT_VIEW = PlotView(images=True)
    VERSION = "1"
    FIGURE_SHOWS_IMAGES = True
    COLUMNS = {"t_s": "s", "step": "", "pulses": "", "state": "", "V_uV": "µV",
               "x_kerr_um": "µm", "Hz_Oe": "Oe", "Hx_Oe": "Oe"}

    steps = IntegerParameter("Write steps (one image each)", minimum=1, maximum=200, default=16)
    pulses_per_step = IntegerParameter("Write pulses per step", minimum=1,
                                       maximum=TRAIN_PERIODS_MAX, default=1)
    write_current_mA = FloatParameter("Write current", units="mA", minimum=-105.0,
                                      maximum=105.0, default=20.0)
    reads = IntegerParameter("Read-only periods averaged per V_AHE level", minimum=1,
                             maximum=TRAIN_PERIODS_MAX, default=5)
    Hx_Oe = FloatParameter("In-plane field Hx", units="Oe", minimum=-5000.0, maximum=5000.0,
                           default=1000.0)
    Hz_Oe = FloatParameter("Out-of-plane field Hz while writing and imaging", units="Oe",
                           minimum=-5000.0, maximum=5000.0, default=-1725.0)
    Hz_saturate_Oe = FloatParameter("Hz that saturates the soft layer (V_P)", units="Oe",
                                    minimum=-5000.0, maximum=5000.0, default=-2200.0)
    frames = IntegerParameter("Frames averaged per image", minimum=1, maximum=256, default=4)
    reference_frames = IntegerParameter("Frames averaged in the reference", minimum=1,
                                        maximum=256, default=16)

    def validate_parameters(self):
        values = super().validate_parameters()
        for width in (self.write_width_ms, 0.0):
            self.train_timing(width)
        if not abs(self.Hz_saturate_Oe) > abs(self.Hz_Oe) or self.Hz_saturate_Oe * self.Hz_Oe <= 0:
            raise ParameterError(
                f"kerr-integrate: Hz_saturate_Oe = {self.Hz_saturate_Oe:g} Oe must be beyond "
                f"Hz = {self.Hz_Oe:g} Oe, on the same side")
        return values

    def check_limits(self, lab) -> None:
        write_A = self.write_current_mA * 1e-3
        lab.check_current("write_current_mA", write_A)
        lab.check_current("read_current_uA", self.read_current_uA * 1e-6)
        lab.check_field("x", self.Hx_Oe)
        lab.check_field("z", self.Hz_Oe)
        lab.check_field("z", self.Hz_saturate_Oe)
        if lab.kerr is None:
            raise ParameterError("kerr-integrate needs a Kerr camera: the setup's camera.driver "
                                 "is 'none'")

    # ---- measurement ---------------------------------------------------------------------------
    def execute(self) -> None:
        lab, kerr = self.lab, self.lab.kerr
        trains = PulseTrain(lab, self.sleep)
        trains.prepare(lab.setup.limits.compliance_V)
        self._t_start = lab.clock.now()
        hx = lab.field_x.set_field(self.Hx_Oe)  # Hx alone does not move the wall: first
        hz = lab.field_z.set_field(self.Hz_Oe)
        fields = dict(Hz_Oe=hz, Hx_Oe=hx)

        reference = kerr.take_reference(self.reference_frames)
        self.store_image(reference.astype(np.float32), self._t(kerr.last_time_s),
                         {"kind": "reference", "step": 0})
        self.point(t_s=self._t(kerr.last_time_s), step=0, pulses=0, state=REST,
                   V_uV=self._read_level(trains), x_kerr_um=float("nan"), **fields)

        writes = self.train_timing(self.write_width_ms)
        for step in range(1, self.steps + 1):
            self.emit("progress", 100.0 * (step - 1) / self.steps)
            trains.run(self.pulses_per_step, writes, self.write_current_mA * 1e-3,
                       self.read_current_uA * 1e-6)
            diff = kerr.differential(self.frames)
            t_image = self._t(kerr.last_time_s)
            try:
                x_kerr = kerr.dw_position_um(diff)
            except NoWallError:
                x_kerr = float("nan")  # recorded as such; the comparison leaves it out
            pulses = step * self.pulses_per_step
            self.store_image(diff.astype(np.float32), t_image,
                             {"kind": "differential", "step": step, "pulses": pulses,
                              "x_kerr_um": x_kerr})
            self.point(t_s=t_image, step=step, pulses=pulses, state=WRITTEN,
                       V_uV=self._read_level(trains), x_kerr_um=x_kerr, **fields)

        hz_sat = lab.field_z.set_field(self.Hz_saturate_Oe)
        self.point(t_s=self._t(lab.clock.now()), step=self.steps + 1,
                   pulses=self.steps * self.pulses_per_step, state=SATURATED,
                   V_uV=self._read_level(trains), x_kerr_um=float("nan"), Hz_Oe=hz_sat, Hx_Oe=hx)
        self.emit("progress", 100.0)

    def _t(self, clock_s: float) -> float:
        return float(clock_s - self._t_start)

    def _read_level(self, trains: PulseTrain) -> float:
        """V_AHE at the read current now: the mean of a short read-only train (µV)."""
        _, v_uV = trains.run(self.reads, self.train_timing(0.0), 0.0, self.read_current_uA * 1e-6)
        return float(np.mean(v_uV))

    # ---- analysis and figure -------------------------------------------------------------------
    def analyze(self, df, device) -> KerrIntegrateResult:
        return analyze_kerr_integrate(df, span_um=device.x_notch_um)

    def figure(self, df, result: KerrIntegrateResult | None, device, images=None) -> Figure:
        """Differential images (when given, as ``store.images(run)`` lists them) above the wall
        position from Kerr and from V_AHE against the number of write pulses."""
        diffs = [(meta, img) for _, img, meta in (images or [])
                 if meta.get("kind") == "differential"]
        fig = new_figure(figsize=(8, 7 if diffs else 4), layout="constrained")
        if diffs:
            strips, ax = fig.subfigures(2, 1, height_ratios=[1.2, 1])
            shown = diffs[:: max(1, len(diffs) // 8)][:8]
            axes = strips.subplots(len(shown), 1, sharex=True)
            for ax_img, (meta, img) in zip(np.atleast_1d(axes), shown):
                ax_img.imshow(img, cmap="gray", aspect="auto")
                ax_img.set_yticks([])
                ax_img.set_ylabel(f"{meta['pulses']}", rotation=0, ha="right", va="center")
            strips.suptitle("differential Kerr images (write pulses at left)")
            ax = ax.subplots()
        else:
            ax = fig.subplots()
        steps = df[df["state"] == WRITTEN]
        ax.plot(steps["pulses"], steps["x_kerr_um"], "s", mfc="none", label="Kerr image")
        if result is not None:
            ax.plot(result.pulses, result.x_vahe_um, ".-", label="V_AHE")
            ax.set_title(f"Kerr - V_AHE: rms {result.comparison.rms_difference_um:.2f} µm, "
                         f"max {result.comparison.max_abs_difference_um:.2f} µm")
        ax.axhline(device.x_notch_um, color="0.6", ls="--", lw=1, label="notch")
        ax.set_xlabel("write pulses")
        ax.set_ylabel("DW position (µm)")
        ax.legend(fontsize=8)
        return fig
