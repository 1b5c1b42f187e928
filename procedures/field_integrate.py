"""Field-driven integration with SAF reset (paper section 3, before the SOT experiments).

"Prior to SOT-driven integration experiments, we performed the integration using an OOP
magnetic field. Identical to other cases, the reset was achieved through the SAF coupling."
The neuron is driven by Hz pulses instead of current pulses, on its own device (the
simulated lab's ``field-neuron`` preset, 20 x 400 µm²: ``--preset field-neuron``); on the
SOT neuron Hz alone does not move the wall (that is the SOT experiments' control). Per cycle:

- phase 0 (baseline): V_AHE reads with both fields off: the rest level (AP, about -75 µV).
- Hz is set and verified at the hold value (default -1150 Oe, h = H_ex: the exchange field
  balances the applied one and the wall does not move).
- phase 1 (write): N field pulses. Each steps the magnet supply from the hold to the drive
  value (default -1725 Oe, h - H_ex = 575 Oe beyond H_ex, but 25 Oe short of the soft
  layer's nucleation field H1 = H_ex + H_c, so the existing wall creeps -- ~17 µm/s on the
  simulated field neuron -- and nothing nucleates), keeps it there for the pulse width, and steps it back; the field is
  verified back at the hold value and V_AHE read there. One point per pulse.
- phase 2 (reset): the reads run while Hz ramps to zero: below h = H_ex the exchange field
  pushes the wall home (~1.5 mm/s at Hz = 0 on the field neuron), V_AHE returns to rest.

Why a pulse is not ``set_field(drive)``: setting a field waits for the magnet to settle and
verifies it, ~1.7 s after a 575 Oe step (L/R = 0.25 s), and the wall creeps the whole time, so
the settling alone would be a ~15 µm pulse no parameter controls. The pulse instead ramps the
supply at the axis's rate limit (``FieldAxis.ramp_to``: 0.29 s for 575 Oe at 2000 Oe/s, no
settling), holds it for the width, reads the gaussmeter at the end of the hold (the pulse's
field, the ``Hz_Oe`` of its point), and goes back to the hold field. The field is then a
trapezoid rounded by L/R: creep is steep in the drive (at 90 % of 575 Oe it is ~2.5 x slower),
so the wall moves mostly during the hold and about one L/R after it; ``write_width_ms`` records
the hold. An interrupted pulse needs no care of its own: the axis knows the current it last
programmed at every step, and the Runner's ramp to zero starts from the supply's output.

Reads are the 6221's delta mode with the 2182A (``DeltaSense``): +I/-I alternation at the read
current, each reading (V1 - 2 V2 + V3)/4, i.e. V_AHE at +I_read with the thermal EMF and the
2182A offset cancelled; the 6221 timestamps them. No write current flows, so the Joule energy
in the bar is zero (the magnet's energy is not the neuron's and is not counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from dwlab.procedures.analysis.common import flat_summary
from dwlab.procedures.analysis.integrate_reset import IntegrateResetResult, analyze_integrate_reset
from dwlab.procedures.base import LabProcedure, ParameterError, new_figure
from dwlab.procedures.field_sweep import DeltaSense, FieldRecorder
from dwlab.procedures.integrate_reset import COLUMNS, PHASE_COLOURS
from dwlab.procedures.plot_view import CYCLES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BASELINE, WRITE, RESET = 0, 1, 2
READ_MARGIN_S = 0.01  # lab time beyond the last expected delta reading before the first look
# How long (lab time) a read waits beyond the expected readings before it gives up: the 6221
# may start its delta run late (a link or a served lab that handles INIT after a delay).
READ_PATIENCE_S = 10.0


@dataclass(frozen=True)
class FieldIntegrateResult:
    """The integrate/reset cycles, counted in field pulses; no write current, no energy."""

    cycles: IntegrateResetResult

    def summary(self) -> dict[str, float | str]:
        return flat_summary(
            self.cycles, drive="Hz field pulses (no write current)",
            energy_note="0 mJ: no current is driven through the bar; the magnet's energy is "
                        "not the neuron's")


class FieldIntegrate(LabProcedure):
    """Integrate with Hz pulses, reset through the SAF coupling when Hz is removed."""

    NAME = "field-integrate"
    PLOT_VIEW = CYCLES
    VERSION = "1"
    COLUMNS = COLUMNS

    cycles = IntegerParameter("Cycles", minimum=1, maximum=100, default=3)
    baseline_reads = IntegerParameter("Reads before the pulses (fields off)", minimum=1,
                                      maximum=1000, default=10)
    field_pulses = IntegerParameter("Hz pulses per cycle", minimum=1, maximum=1000, default=10)
    reads_per_pulse = IntegerParameter("Delta readings averaged after each pulse", minimum=1,
                                       maximum=100, default=3)
    reset_time_s = FloatParameter("Reads while Hz ramps to zero and after", units="s",
                                  minimum=0.1, maximum=600.0, default=3.0)
    Hz_hold_Oe = FloatParameter("Hold Hz between pulses (about -H_ex, where the wall stays)",
                                units="Oe", minimum=-5000.0, maximum=5000.0, default=-1150.0)
    Hz_drive_Oe = FloatParameter("Pulse Hz (beyond -H_ex, short of -H1)", units="Oe",
                                 minimum=-5000.0, maximum=5000.0, default=-1725.0)
    pulse_width_s = FloatParameter("Pulse width (supply held at the drive value)", units="s",
                                   minimum=0.1, maximum=600.0, default=1.0)
    read_current_uA = FloatParameter("Read current", units="µA", minimum=1.0, maximum=1000.0,
                                     default=100.0)
    nplc = FloatParameter("2182A integration time", units="PLC", minimum=0.01, maximum=10.0,
                          default=1.0)
    full_swing_uV = FloatParameter("V_P - V_AP from a hysteresis run (0 = the largest flat swing "
                                   "in this run)", units="µV", minimum=0.0, maximum=10000.0,
                                   default=0.0)

    def validate_parameters(self):
        values = super().validate_parameters()
        drive, hold = self.Hz_drive_Oe, self.Hz_hold_Oe
        if not abs(drive) > abs(hold) or drive * hold <= 0:
            raise ParameterError(
                f"{self.NAME}: Hz_drive_Oe = {drive:g} Oe must lie beyond Hz_hold_Oe = "
                f"{hold:g} Oe on the same side (|Hz_drive_Oe| > |Hz_hold_Oe|, same sign)")
        return values

    def check_limits(self, lab) -> None:
        lab.check_current("read_current_uA", self.read_current_uA * 1e-6)
        lab.check_field("z", self.Hz_hold_Oe)
        lab.check_field("z", self.Hz_drive_Oe)

    def execute(self) -> None:
        lab = self.lab
        self.sense = DeltaSense(lab.source, lab.voltmeter, self.read_current_uA * 1e-6, self.nplc)
        self.sense.configure(lab.setup.limits.compliance_V)
        for cycle in range(self.cycles):
            self.emit("progress", 100.0 * cycle / self.cycles)
            self.run_cycle(cycle)
        self.emit("progress", 100.0)

    def run_cycle(self, cycle: int) -> None:
        axis = self.lab.field_z
        common = dict(cycle=cycle, I_write_mA=0.0, Hx_Oe=0.0)
        hz_rest = axis.field
        t, v = self.read(self.baseline_reads)
        for pulse, (t_s, v_V) in enumerate(zip(t, v)):
            self.point(t_s=t_s, pulse=pulse, phase=BASELINE, V_uV=v_V * 1e6,
                       write_width_ms=0.0, Hz_Oe=hz_rest, **common)

        axis.set_field(self.Hz_hold_Oe)  # h = H_ex: the wall stays at rest
        for pulse in range(self.field_pulses):
            axis.ramp_to(self.Hz_drive_Oe)  # no settling: the pulse is the hold that follows
            self.sleep(self.pulse_width_s)
            hz_peak = axis.field
            axis.set_field(self.Hz_hold_Oe)  # settled back where the wall does not move
            t, v = self.read(self.reads_per_pulse)
            self.point(t_s=float(np.mean(t)), pulse=pulse, phase=WRITE,
                       V_uV=float(np.mean(v)) * 1e6, write_width_ms=self.pulse_width_s * 1e3,
                       Hz_Oe=hz_peak, **common)

        t, v, hz = self.read_during_reset()
        for pulse, (t_s, v_V, h) in enumerate(zip(t, v, hz)):
            self.point(t_s=t_s, pulse=pulse, phase=RESET, V_uV=v_V * 1e6,
                       write_width_ms=0.0, Hz_Oe=h, **common)
        self.raise_if_stopped()

    def read(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` delta readings (lab-clock times, V) at the present fields.

        Sleeps for the time ``n`` readings take (3 conversions for the first, 1 per reading
        after), then looks at the buffer every conversion until ``n`` are there: the delta run
        starts when the 6221 handles INIT, which a slow link or a served lab can delay. Gives
        up ``READ_PATIENCE_S`` (lab time) after the expected time.
        """
        sense, clock = self.sense, self.lab.clock
        sense.start(clock)
        expected_s = (n + 2) * sense.conversion_s + READ_MARGIN_S
        give_up = clock.now() + expected_s + READ_PATIENCE_S
        self.sleep(expected_s)
        parts = [sense.drain()]
        while sum(len(v) for _, v in parts) < n and clock.now() < give_up:
            self.sleep(sense.conversion_s)
            parts.append(sense.drain())
        parts.append(sense.stop())
        t, v = (np.concatenate(column) for column in zip(*parts))
        if len(v) < n:
            raise RuntimeError(f"{self.NAME}: the 6221 returned {len(v)} delta readings in "
                               f"{expected_s + READ_PATIENCE_S:.3g} s, expected {n}")
        return t[:n], v[:n]

    def read_during_reset(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Delta readings from before Hz starts down until ``reset_time`` later; each with the
        gaussmeter field at its time (the coil lags the supply)."""
        lab, axis = self.lab, self.lab.field_z
        recorder = FieldRecorder(axis, lab.clock)
        recorder.record()
        t_start = lab.clock.now()
        self.sense.start(lab.clock)
        axis.ramp_to_zero(on_step=recorder.record)
        self.sleep(max(0.0, t_start + self.reset_time_s - lab.clock.now()))
        recorder.record()
        t, v = self.sense.stop()
        return t, v, recorder.field_at(t)

    def analyze(self, df, device) -> FieldIntegrateResult:
        """Firing is 90 % of the rest -> fire swing: give ``full_swing`` when the pulses may not
        reach the notch, or the largest swing that ended flat (a stall) would pass for it."""
        return FieldIntegrateResult(analyze_integrate_reset(
            df, device.R_bar_ohm, full_swing_uV=self.full_swing_uV or None))

    def figure(self, df, result, device) -> Figure:
        return field_pulses_figure(df, result.cycles if result is not None else None)


def field_pulses_figure(df, result: IntegrateResetResult | None) -> Figure:
    """V_AHE against field-pulse number, one line per cycle from its rest level, with the level
    after the field is removed (left); the run against time with the pulses' Hz (right)."""
    fig = new_figure(figsize=(11, 4.2), layout="constrained")
    ax_p, ax_t = fig.subplots(1, 2)
    for cycle, part in df.groupby("cycle", sort=True):
        writes = part[part["phase"] == WRITE]
        rest = part.loc[part["phase"] == BASELINE, "V_uV"].mean()
        reset = part.loc[part["phase"] == RESET, "V_uV"].iloc[-10:].mean()
        n = writes["pulse"].to_numpy() + 1
        line, = ax_p.plot(np.r_[0, n], np.r_[rest, writes["V_uV"]], "o-", ms=4,
                          label=f"cycle {int(cycle) + 1}")
        ax_p.plot([n[-1] + 1], [reset], "s", color=line.get_color(), mfc="none")
    writes = df[df["phase"] == WRITE]
    width_s = writes["write_width_ms"].iloc[0] / 1e3
    ax_p.set(xlabel="Hz pulse number (0: rest; □: after Hz is removed)",
             ylabel="V$_{AHE}$ at the read current (µV)",
             title=f"{width_s:g} s Hz pulses to {writes['Hz_Oe'].mean():.0f} Oe")
    if result is not None and result.V_fire_uV is not None:
        ax_p.axhline(result.V_fire_uV, color="k", lw=0.6, ls="--")
        ax_p.text(0.97, 0.6, f"pulses to fire = {result.pulses_to_fire_mean:.1f}\n"
                  "energy in the bar = 0 (no write current)", transform=ax_p.transAxes,
                  fontsize=8, ha="right")
    ax_p.legend(fontsize=8, loc="lower left")

    t0 = df["t_s"].min()
    for phase, label in ((BASELINE, "fields off (rest)"), (WRITE, "after each Hz pulse"),
                         (RESET, "Hz ramped to zero (reset)")):
        part = df[df["phase"] == phase]
        ax_t.plot(part["t_s"] - t0, part["V_uV"], ".", ms=3, color=PHASE_COLOURS[phase],
                  label=label)
    ax_t.set(xlabel="time (s)", ylabel="V$_{AHE}$ (µV)", title="the run, SAF reset")
    ax_t.legend(fontsize=8, loc="center right")
    ax_h = ax_t.twinx()  # the field of each point: pulse peaks, ~0 at rest, the reset ramp
    ax_h.plot(df["t_s"] - t0, df["Hz_Oe"], "_", ms=4, color="0.55")
    ax_h.set_ylim(1.15 * min(df["Hz_Oe"].min(), 0.0) - 50.0, 50.0)
    ax_h.set_ylabel("Hz of each point (Oe, grey)", color="0.4")
    return fig
