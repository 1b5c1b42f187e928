"""The simulated SAF domain-wall neuron: one Hall bar, its hard layer and one soft-layer DW.

This is docs/physics.md sections 1-3 as code; it knows nothing of SCPI. The simulated instruments
of one lab share one ``SafHallBar`` and call ``step`` with the inputs they hold constant
(out-of-plane field Hz, in-plane field Hx, bar current) for as long as they hold them.

Sign conventions (fixed here, used everywhere):

- ``m_hard`` is the hard-layer direction along z (starts -1). The field along the hard layer
  is ``h = Hz * m_hard``, so with the hard layer down ``h = -Hz`` (docs/physics.md section 2).
- AP (antiparallel, the rest state) and P (parallel, "fired") are relative to the hard layer.
  The DW sits at ``x_um`` in region B; ``[0, x]`` is P and ``[x, x_notch]`` is AP. ``x = 0``
  is the rest state, ``x = x_notch`` fully P.
- The forward drive on the DW (positive grows P) is
  ``H_drive = (h - H_ex) + H_SOT``. The SOT term acts like an out-of-plane field set by the
  sign of ``J * Hx`` (Hx sets the wall chirality, ``g = clip(Hx / H_DMI, -1, 1)``), so its
  forward component flips with the hard layer exactly as Hz does; with the hard layer down,
  positive current and positive Hx drive forward. ``sot_knee`` > 0 rounds the clip's corner.

Switching (hysteresis) and creep are one consistent picture:

- Uniform switching (nucleation) happens when the drive exceeds ``+H_c`` (AP -> P, the whole
  soft layer becomes P, DW parked at the notch) or falls below ``-H_c`` (P -> AP, DW back at
  ``x = 0``). Without current these are h = H1 = H_ex + H_c and h = H2 = H_ex - H_c. Each event
  draws its threshold with a thermal spread ``switch_sigma_Oe``. Because the SOT enters the
  drive, a DC current shifts both switching fields by ``-H_SOT`` (loop shift, Pai et al.).
- Nucleation happens in the large film beyond the notch (the bar, its pads), where defects
  that nucleate are found, not in the 100 um^2 of region B. So P -> AP nucleation needs that
  film to be P (after a saturation), AP -> P needs it AP. After *integration* the wall sits at
  the notch with the film beyond still AP, so removing the fields lets it creep home (the
  self-reset, ~120 ms on the SOT neuron) instead of resetting by nucleation; after *saturation* the film is P, and
  h < H2 resets the whole soft layer to AP with the DW at x = 0.
- Nucleation needs the over-threshold drive to persist for ``nucleation_time_s`` (the time a
  reversed nucleus needs to grow past its critical size). A 0.5 ms write pulse is shorter, so
  pulses move the existing wall but do not nucleate; a DC current or a field sweep (which
  spends seconds near H1) does. At 100 Oe/s the delay costs 0.5 Oe.
- Joule heating narrows the loop: the thresholds scale as ``(T0 / T)**4``, the temperature
  dependence that keeps the creep barrier ``alpha(T) |H|^(-1/4)`` at a switching field fixed.
  A 20 mA current (~3 K) narrows H_c by ~4 %.
- Below the nucleation thresholds the existing DW creeps. On a sample whose wall creeps fast
  near H_c (the field-driven neuron) a fast sweep (100 Oe/s) leaves it time to cross only part
  of the sense span before nucleation (a rounded corner before the jump), and a slow sweep
  lets creep finish first, so the loop narrows; on the SOT neuron (0.1 um/s near H_c) the
  switching is nucleation at H1/H2 = H_ex +/- H_c (single loops scatter by the 3 Oe spread;
  average a few for 1 % on H2 = 550 Oe). ``Hc_soft_Oe`` is therefore the coercivity seen at
  the default 100 Oe/s sweep, the ground truth for recovery.
- The hard layer reverses when the field against it exceeds ``Hc_hard_Oe`` (with the same
  spread). The soft layer, saturated along that large field, is then P relative to the new
  hard direction.

Creep: ``v = sign(H) v0 exp(-alpha(T) |H|^(-1/4))`` (flow above H_dep), ``alpha(T) =
alpha300 * 300 K / T``, ``T = T0 + R_th I^2 R_bar``; H in Oe, v in um/s. The wall moves in
Barkhausen hops of ``hop_um``, a Poisson process in time: each hop comes when the
accumulated rate |v| / hop_um has used up an exponentially distributed budget, drawn afresh
after every hop. The wall's path therefore depends on the lab clock alone, not on how often
the instruments ask (``step`` may be split anywhere and the hops land at the same times),
and the ends are absorbing (notch pins forward motion, x = 0 is the nucleation site).
Randomness of the device (hops, switching thresholds) and of its readout (the voltmeter's
noise) come from separate generators, so extra readings never change the wall's path.

Creep constants are per sample (``ln_v0``, ``alpha300``; PHYSICS.md section 3): these
defaults are the SOT neuron's (ln v0 = 47.9, alpha300 = 249.3, U_c/kT ~ 34); the presets give
the return-velocity samples and the field-driven neuron their own.

Checked calibration of the SOT neuron (heating on, R_th = 15 K/W so 20 mA heats 3 K): under
Hz alone at the operating point (575 Oe beyond H_ex) 0.05 um/s; during a 20 mA pulse at
Hx = 1000 Oe (drive 1437 Oe, 303 K) ~2.45 mm/s, so twenty 0.5 ms pulses one per 10 ms reach
the notch after ~16 (14-19); ~140 pulses at Hx = 700 Oe, ~700 at 500 Oe, ~5 at 1500 Oe; the
controls (current or Hx reversed, Hx = 0, no write current) move the wall < 2 % of the span
in 300 periods; the return with fields and current off (-1150 Oe) at ~160 um/s, 20 um in
~120 ms. The rv samples: 2.5 mm/s at 1504 Oe, 593 s over 88.5 um at -344 Oe.
The optional rounded SOT knee (``sot_knee``) replaces the clip by a smooth g(Hx) with the same
initial slope and saturation.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy import constants

OE_TO_A_PER_M = 1000.0 / (4.0 * math.pi)


@dataclass(frozen=True)
class DeviceParams:
    """Every constant of one device, in lab units (the unit is in the name). docs/physics.md defaults."""

    name: str = "sot-neuron"
    H_ex_Oe: float = 1150.0
    Hc_soft_Oe: float = 600.0  # coercivity seen by a 100 Oe/s loop (nucleation threshold)
    Hc_hard_Oe: float = 3000.0
    switch_sigma_Oe: float = 3.0  # thermal spread of each switching event
    nucleation_time_s: float = 5e-3  # over-threshold time a nucleus needs (> write pulses)
    R_h_ohm: float = 0.975
    R_s_ohm: float = 0.225
    V_offset_V: float = 0.0
    thermo_emf_V: float = 1e-6
    thermo_emf_period_s: float = 300.0
    noise_V_1nplc: float = 20e-9  # white noise per reading at 1 NPLC, scales as 1/sqrt(NPLC)
    width_um: float = 5.0
    length_um: float = 150.0
    region_a_um: float = 10.0  # soft-only region A, left of the A/B junction at x = 0
    x_notch_um: float = 20.0
    sense_span_um: tuple[float, float] = (0.0, 20.0)  # Hall cross span along the bar
    hall_bar_um: float | None = None  # return-velocity Hall bar distance from the notch
    t_metal_nm: float = 10.0
    xi_DL: float = 0.5
    Ms_A_m: float = 1e6
    t_F_nm: float = 1.0
    H_DMI_Oe: float = 1200.0
    sot_knee: float = 0.0  # 0: g = clip(Hx/H_DMI); n > 0: the rounded x/(1 + |x|^n)^(1/n)
    ln_v0: float = 47.9  # creep constants of the SOT-neuron stack (PHYSICS.md section 3)
    alpha300: float = 249.3
    H_dep_Oe: float = 3000.0
    T0_K: float = 300.0
    R_bar_ohm: float = 500.0
    R_th_K_per_W: float = 15.0  # 20 mA in 500 ohm -> 0.2 W -> 3 K
    hop_um: float = 0.1

    def __post_init__(self):
        positive = ("H_ex_Oe", "Hc_soft_Oe", "Hc_hard_Oe", "width_um", "length_um", "x_notch_um",
                    "t_metal_nm", "xi_DL", "Ms_A_m", "t_F_nm", "H_DMI_Oe", "alpha300",
                    "H_dep_Oe", "T0_K", "R_bar_ohm", "hop_um", "thermo_emf_period_s",
                    "nucleation_time_s")
        for field in positive:
            value = getattr(self, field)
            if not value > 0:
                raise ValueError(f"{field} must be > 0, got {value}")
        non_negative = ("switch_sigma_Oe", "noise_V_1nplc", "region_a_um", "R_th_K_per_W",
                        "sot_knee")
        for field in non_negative:
            value = getattr(self, field)
            if not value >= 0:
                raise ValueError(f"{field} must be >= 0, got {value}")
        if self.x_notch_um > self.length_um - self.region_a_um:
            raise ValueError(f"x_notch_um = {self.x_notch_um} must be <= length_um - region_a_um"
                             f" = {self.length_um - self.region_a_um}")
        lo, hi = self.sense_span_um
        if not 0.0 <= lo < hi <= self.x_notch_um:
            raise ValueError(f"sense_span_um = {self.sense_span_um} must satisfy "
                             f"0 <= start < end <= x_notch_um = {self.x_notch_um}")
        if self.hall_bar_um is not None and not 0 < self.hall_bar_um <= self.x_notch_um:
            raise ValueError(f"hall_bar_um = {self.hall_bar_um} must be in (0, x_notch_um = "
                             f"{self.x_notch_um}]")
        if self.Hc_hard_Oe <= self.H_ex_Oe + self.Hc_soft_Oe:
            raise ValueError(f"Hc_hard_Oe = {self.Hc_hard_Oe} must exceed H1 = H_ex_Oe + "
                             f"Hc_soft_Oe = {self.H_ex_Oe + self.Hc_soft_Oe}")

    def with_(self, **changes) -> "DeviceParams":
        """A copy with some constants changed, validated like a fresh one."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown DeviceParams field(s) {sorted(unknown)}")
        return dataclasses.replace(self, **changes)

    @property
    def H1_Oe(self) -> float:
        """Field along the hard layer that switches the soft layer AP -> P (no current)."""
        return self.H_ex_Oe + self.Hc_soft_Oe

    @property
    def H2_Oe(self) -> float:
        """Field along the hard layer below which the soft layer returns to AP (no current)."""
        return self.H_ex_Oe - self.Hc_soft_Oe

    @property
    def hall_bar_x_um(self) -> float | None:
        """Position of the return-velocity Hall bar along the bar (None if the device has none)."""
        return None if self.hall_bar_um is None else self.x_notch_um - self.hall_bar_um


class SafHallBar:
    """State and dynamics of one SAF Hall bar: hard-layer direction and DW position."""

    def __init__(self, params: DeviceParams, rng: np.random.Generator,
                 noise_rng: np.random.Generator | None = None):
        """``rng`` drives the device (hops, thresholds); ``noise_rng`` the readings' noise
        (default: a generator spawned from ``rng``, so readings never draw from the device's)."""
        self.params = params
        self.rng = rng
        self.noise_rng = noise_rng if noise_rng is not None else rng.spawn(1)[0]
        self.m_hard = -1
        self.x_um = 0.0
        # Soft layer beyond the notch (seen only by the Kerr camera): P since the last
        # nucleation to P, AP since the last one to AP; the DW never enters it.
        self.beyond_notch_p = False
        self._nucleation_wait_s = 0.0
        self._temperature_K = params.T0_K
        self._draw_thresholds()
        self._hop_budget = self.rng.standard_exponential()  # rate x time left to the next hop

    # --- fields and drive -------------------------------------------------------------------

    def h_along_hard_Oe(self, hz_Oe: float) -> float:
        """Field component along the hard layer: Hz * m_hard (= -Hz while the hard layer is down)."""
        return hz_Oe * self.m_hard

    def current_density_A_m2(self, current_A: float) -> float:
        """J = I / (w t_metal), the current density in the Pt spin-Hall layer."""
        p = self.params
        return current_A / (p.width_um * 1e-6 * p.t_metal_nm * 1e-9)

    def h_sot_Oe(self, current_A: float, hx_Oe: float) -> float:
        """Forward drive of the damping-like SOT on the DW, in Oe.

        (pi/2) hbar xi J / (2 e mu0 Ms tF) * g(Hx), signed so that it acts like an out-of-plane
        field: it flips with the current, with Hx and with the hard layer.
        """
        p = self.params
        j = self.current_density_A_m2(current_A)
        h_sl = constants.hbar * p.xi_DL * j / (
            2 * constants.e * constants.mu_0 * p.Ms_A_m * p.t_F_nm * 1e-9)
        return -self.m_hard * (math.pi / 2) * h_sl / OE_TO_A_PER_M * self.sot_shape(hx_Oe)

    def sot_shape(self, hx_Oe: float) -> float:
        """g(Hx), the SOT efficiency's dependence on Hx, in [-1, 1].

        ``sot_knee`` 0: the sharp ``clip(Hx / H_DMI, -1, 1)`` of PHYSICS.md (the wall turns
        fully Neel at Hx = H_DMI). ``sot_knee`` n > 0: ``x / (1 + |x|^n)^(1/n)``, x = Hx/H_DMI,
        a knee rounded the more the smaller n (n = 2 is x/sqrt(1 + x^2)); its initial slope and
        its saturation are those of the clip, so H_DMI is still where their lines meet.
        """
        p = self.params
        x = hx_Oe / p.H_DMI_Oe
        if p.sot_knee == 0:
            return min(max(x, -1.0), 1.0)
        return x / (1.0 + abs(x) ** p.sot_knee) ** (1.0 / p.sot_knee)

    def drive_Oe(self, hz_Oe: float, hx_Oe: float, current_A: float) -> float:
        """H_drive = (h - H_ex) + H_SOT; positive moves the DW forward (P grows)."""
        return (self.h_along_hard_Oe(hz_Oe) - self.params.H_ex_Oe
                + self.h_sot_Oe(current_A, hx_Oe))

    def temperature_K(self, current_A: float) -> float:
        """Bar temperature under a steady current: T0 + R_th I^2 R_bar."""
        p = self.params
        return p.T0_K + p.R_th_K_per_W * current_A**2 * p.R_bar_ohm

    def velocity_um_s(self, drive_Oe: float, temperature_K: float) -> float:
        """Creep velocity (flow above H_dep) of the DW under a drive, in um/s, signed."""
        p = self.params
        h = abs(drive_Oe)
        if h == 0.0:
            return 0.0
        alpha = p.alpha300 * 300.0 / temperature_K
        if h < p.H_dep_Oe:
            v = math.exp(p.ln_v0 - alpha * h**-0.25)
        else:
            v = math.exp(p.ln_v0 - alpha * p.H_dep_Oe**-0.25) * h / p.H_dep_Oe
        return math.copysign(v, drive_Oe)

    def coercivity_Oe(self, temperature_K: float) -> float:
        """Soft-layer nucleation threshold at temperature T (without the per-event spread)."""
        p = self.params
        return p.Hc_soft_Oe * (p.T0_K / temperature_K) ** 4

    # --- evolution --------------------------------------------------------------------------

    def step(self, dt_s: float, hz_Oe: float, hx_Oe: float, current_A: float) -> None:
        """Evolve for dt under constant inputs: switching, then creep by Poisson hops.

        Exact for any dt: a 0.5 ms pulse or 600 s of waiting are one call each.
        """
        if not dt_s >= 0:
            raise ValueError(f"dt_s must be >= 0, got {dt_s}")
        p = self.params
        self._switch_hard_layer(hz_Oe)
        temperature = self.temperature_K(current_A)
        self._temperature_K = temperature
        drive = self.drive_Oe(hz_Oe, hx_Oe, current_A)
        hc = self.coercivity_Oe(temperature)
        # Nucleation needs the large film outside region B in the state that reverses.
        wants_p = drive > hc + p.switch_sigma_Oe * self._z_up and not self.beyond_notch_p
        wants_ap = drive < -(hc + p.switch_sigma_Oe * self._z_down) and self.beyond_notch_p
        if wants_p or wants_ap:
            if self._nucleation_wait_s + dt_s >= p.nucleation_time_s:
                # The whole soft layer follows the drive; the rest of the step cannot move the
                # wall further, since it is parked at the end the drive pushes it towards.
                self._nucleate(to_p=wants_p)
                return
            self._nucleation_wait_s += dt_s
        else:
            self._nucleation_wait_s = 0.0
        self._creep(dt_s, self.velocity_um_s(drive, temperature))

    def _switch_hard_layer(self, hz_Oe: float) -> None:
        p = self.params
        if self.h_along_hard_Oe(hz_Oe) < -(p.Hc_hard_Oe + p.switch_sigma_Oe * self._z_hard):
            self.m_hard = -self.m_hard
            # The soft layer, saturated along the field that reversed the hard layer, is now P.
            self._nucleate(to_p=True)

    def _nucleate(self, to_p: bool) -> None:
        self.x_um = self.params.x_notch_um if to_p else 0.0
        self.beyond_notch_p = to_p
        self._nucleation_wait_s = 0.0
        self._draw_thresholds()

    def _draw_thresholds(self) -> None:
        self._z_up, self._z_down, self._z_hard = self.rng.standard_normal(3)

    def _creep(self, dt_s: float, v_um_s: float) -> None:
        p = self.params
        if v_um_s == 0.0 or dt_s == 0.0:
            return
        if (v_um_s > 0 and self.x_um >= p.x_notch_um) or (v_um_s < 0 and self.x_um <= 0.0):
            return
        end = p.x_notch_um if v_um_s > 0 else 0.0
        most = max(1, math.ceil(abs(end - self.x_um) / p.hop_um - 1e-9))  # hops to the end
        expected = abs(v_um_s) * dt_s / p.hop_um
        hops = 0
        while hops < most and expected >= self._hop_budget:
            expected -= self._hop_budget
            hops += 1
            self._hop_budget = self.rng.standard_exponential()
        if hops == most:
            self.x_um = end  # parked: the rest of the step cannot move it further
            return
        self._hop_budget -= expected
        self.x_um += math.copysign(hops * p.hop_um, v_um_s)

    # --- readout ----------------------------------------------------------------------------

    def fraction_p(self) -> float:
        """Fraction of the sense span that is P (soft parallel to hard)."""
        lo, hi = self.params.sense_span_um
        return min(max(self.x_um - lo, 0.0), hi - lo) / (hi - lo)

    def soft_moment(self) -> float:
        """<m_s> along z averaged over the sense span, in [-1, 1]."""
        return self.m_hard * (2.0 * self.fraction_p() - 1.0)

    def thermo_emf_V(self, t_s: float) -> float:
        """Thermal EMF at time t: ~1 uV, slowly drifting, independent of the current sign."""
        p = self.params
        return p.thermo_emf_V * (1.0 + 0.3 * math.sin(2 * math.pi * t_s / p.thermo_emf_period_s))

    def v_ahe_V(self, current_A: float, t_s: float, nplc: float = 1.0,
                noise: bool = True) -> float:
        """Hall voltage of one reading: I (R_h m_h + R_s <m_s>) + offset + thermal EMF + noise.

        The caller (a simulated nanovoltmeter) forms deltas; the model does not.
        """
        if not nplc > 0:
            raise ValueError(f"nplc must be > 0, got {nplc}")
        p = self.params
        v = (current_A * (p.R_h_ohm * self.m_hard + p.R_s_ohm * self.soft_moment())
             + p.V_offset_V + self.thermo_emf_V(t_s))
        if noise:
            v += p.noise_V_1nplc / math.sqrt(nplc) * self.noise_rng.standard_normal()
        return v

    def energy_J(self, current_A: float, duration_s: float) -> float:
        """Joule energy dissipated in the bar: I^2 R_bar t."""
        return current_A**2 * self.params.R_bar_ohm * duration_s

    def state(self) -> dict:
        """Snapshot for tests and the GUI."""
        return {
            "x_um": self.x_um,
            "m_hard": self.m_hard,
            "fraction_p": self.fraction_p(),
            "soft_moment": self.soft_moment(),
            "beyond_notch_p": self.beyond_notch_p,
            "T_K": self._temperature_K,
            "nucleation_wait_s": self._nucleation_wait_s,
        }
