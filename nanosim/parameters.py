"""The nanoscale device and its material, in SI, with the derived quantities the model uses.

Defaults are the paper's micromagnetic set (its Table 2 and section 2): a 384 x 64 x 1 nm
strip whose last 256 nm (the region of interest, ROI) feel the SAF exchange field H_ex along
+z, while the first 128 nm feel -1000 Oe (ferromagnetic coupling to the hard layer) and so hold
the reversed domain the wall bounds. Inside everything is SI; Oe only at the edge.

Derived quantities (docs/physics.md, nanoscale model) that the tests check against:
    K_eff  = K_u - mu0 Ms^2 / 2                      3.72e5 J/m^3
    Delta  = sqrt(A / K_eff)                         6.35 nm
    H_DMI  = D / (mu0 Ms Delta)                      787 Oe
    H_SL   = hbar theta_SH J / (2 e mu0 Ms t)        1152 Oe   (damping-like SOT field)
    forward cutoff = (pi/2) H_SL                     1810 Oe   (SOT cannot beat H_ex above)
    Walker field   = (pi/2) alpha H_DMI              15 Oe
    v_D = (pi/2) gamma0 Delta H_DMI                  138 m/s   (SOT velocity as J grows)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import constants

MU0 = constants.mu_0
GAMMA0 = constants.physical_constants["electron gyromag. ratio"][0] * MU0  # m/(A s)
HBAR, E_CHARGE, K_B = constants.hbar, constants.e, constants.k
OE = 1e3 / (4 * np.pi)  # A/m per Oe


def oe(value_oe: float) -> float:
    """A field in Oe as A/m."""
    return value_oe * OE


def to_oe(value_a_m: float) -> float:
    """A field in A/m as Oe."""
    return value_a_m / OE


@dataclass(frozen=True)
class Strip:
    """Material, geometry and drive of one nanoscale device (SI units)."""

    A: float = 1.5e-11            # exchange stiffness, J/m
    Ms: float = 1e6               # saturation magnetisation, A/m
    alpha: float = 0.012          # Gilbert damping
    D: float = 0.5e-3             # interfacial DMI, J/m^2
    theta_SH: float = 0.5         # spin Hall angle of the heavy metal
    Ku: float = 1e6               # uniaxial anisotropy, J/m^3
    width: float = 64e-9          # m
    thickness: float = 1e-9       # m
    pinned_length: float = 128e-9     # the -1000 Oe region the wall starts from, m
    roi_length: float = 256e-9        # the SAF region of interest, m
    H_pinned: float = oe(-1000.0)     # field on the first region, A/m (along +z)
    # The one calibrated constant: the strength of the pinning at the far end of the ROI,
    # where the wall is read. The paper's wall stays there for H_ex <= 300 Oe and returns for
    # H_ex >= 400 Oe; a depinning field midway reproduces that threshold at 0 K.
    H_end_pin: float = oe(350.0)
    end_pin_width: float | None = None  # m; None = the wall width pi * Delta

    # ---- derived --------------------------------------------------------------------------
    @property
    def K_eff(self) -> float:
        """Effective perpendicular anisotropy of a thin film, J/m^3."""
        return self.Ku - MU0 * self.Ms**2 / 2

    @property
    def delta(self) -> float:
        """Wall width parameter, m."""
        return float(np.sqrt(self.A / self.K_eff))

    @property
    def H_DMI(self) -> float:
        """The DMI field that holds the wall Neel, A/m."""
        return self.D / (MU0 * self.Ms * self.delta)

    @property
    def sigma0(self) -> float:
        """Bloch-wall energy per area without DMI, 4 sqrt(A K_eff), J/m^2."""
        return 4 * float(np.sqrt(self.A * self.K_eff))

    @property
    def roi_start(self) -> float:
        return self.pinned_length

    @property
    def roi_end(self) -> float:
        return self.pinned_length + self.roi_length

    @property
    def pin_width(self) -> float:
        return self.end_pin_width if self.end_pin_width is not None else np.pi * self.delta

    def H_SL(self, J: float) -> float:
        """Damping-like SOT field for current density J (A/m^2), A/m."""
        return HBAR * self.theta_SH * J / (2 * E_CHARGE * MU0 * self.Ms * self.thickness)

    def forward_cutoff(self, J: float) -> float:
        """The largest H_ex (A/m) that SOT at J can push a Neel wall against: (pi/2) H_SL."""
        return np.pi / 2 * self.H_SL(J)

    @property
    def walker_field(self) -> float:
        """Field above which a field-driven wall precesses, (pi/2) alpha H_DMI, A/m."""
        return np.pi / 2 * self.alpha * self.H_DMI

    @property
    def v_dmi(self) -> float:
        """DMI-limited SOT velocity, (pi/2) gamma0 Delta H_DMI, m/s."""
        return np.pi / 2 * GAMMA0 * self.delta * self.H_DMI

    def with_roi(self, roi_length: float) -> Strip:
        return replace(self, roi_length=roi_length)


PAPER_J = 7e11  # A/m^2, the paper's current density for the H_ex scan and the LIF sequence
