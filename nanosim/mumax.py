"""mumax3 input scripts (.mx3) for the same experiments, for users with a GPU.

The collective-coordinate model is fast and explains the trends; the full micromagnetic run is
the paper's own method. Each script sets up the strip of ``Strip`` on a 2 x 2 x 1 nm grid:
region 1 is the pinned part (-1000 Oe along z), region 2 the ROI (+H_ex along z), the soft
layer starts -z in region 1 and +z in region 2 and is relaxed, so the wall sits at the ROI's
start. The damping-like SOT of the spin Hall effect is mumax3's Slonczewski torque with the
current along z, Pol = theta_SH, Lambda = 1, EpsilonPrime = 0 and the spin polarisation
(FixedLayer) along y. The wall's place in the ROI is (1 - <m_z>_ROI) / 2 of its length; the
table also records ext_dwtilt (mumax3 >= 3.10).

The sign of FixedLayer decides the direction the SOT pushes this wall: the scripts use the
sign that moves it into the ROI in this module's convention; if a run shows the wall not
moving forward with J on, flip it (the first lines of the script say so).
"""

from __future__ import annotations

from pathlib import Path

from dwlab.nanosim.experiments import LifSettings, ScanSettings
from dwlab.nanosim.parameters import Strip

CELL = 2e-9  # m in x and y; one cell through the 1 nm thickness


def _header(strip: Strip, H_ex_oe: float, T: float, seed: int) -> str:
    nx, ny = round((strip.pinned_length + strip.roi_length) / CELL), round(strip.width / CELL)
    x_split = strip.pinned_length - (strip.pinned_length + strip.roi_length) / 2  # grid centred
    lines = [
        "// dwlab nanosim: SAF domain-wall neuron strip (paper section 2, Table 2)",
        "// If the wall does not move into the ROI with J on, flip the sign of FixedLayer.",
        f"SetGridSize({nx}, {ny}, 1)",
        f"SetCellSize({CELL:.3e}, {CELL:.3e}, {strip.thickness:.3e})",
        f"Msat = {strip.Ms:.6g}",
        f"Aex = {strip.A:.6g}",
        f"alpha = {strip.alpha:.6g}",
        f"Dind = {strip.D:.6g}",
        f"Ku1 = {strip.Ku:.6g}",
        "AnisU = vector(0, 0, 1)",
        f"DefRegion(1, XRange(-Inf, {x_split:.4e}))",
        f"DefRegion(2, XRange({x_split:.4e}, Inf))",
        f"B_ext.SetRegion(1, vector(0, 0, {strip.H_pinned * 4e-7 * 3.141592653589793:.6g}))",
        f"B_ext.SetRegion(2, vector(0, 0, {H_ex_oe * 1e-4:.6g}))  // H_ex = {H_ex_oe:g} Oe",
        "m.SetRegion(1, Uniform(0, 0, -1))",
        "m.SetRegion(2, Uniform(0, 0, 1))",
        "// damping-like SOT of the spin Hall current (Slonczewski form, current along z)",
        "Lambda = 1",
        "EpsilonPrime = 0",
        f"Pol = {strip.theta_SH:.6g}",
        "FixedLayer = vector(0, -1, 0)",
        f"FreeLayerThickness = {strip.thickness:.3e}",
        "Relax()",
        "TableAdd(m.Region(2))",
        "TableAdd(ext_dwtilt)",
        "TableAutosave(10e-12)",
    ]
    if T > 0:
        lines += [f"Temp = {T:g}", f"ThermSeed({seed})", "SetSolver(2)", "FixDt = 1e-13"]
    return "\n".join(lines) + "\n"


def scan_script(strip: Strip, H_ex_oe: float, settings: ScanSettings | None = None,
                seed: int = 0) -> str:
    """One field of the H_ex scan: SOT until the wall reaches the ROI's end (<m_z>_ROI near
    -1) or t_on_max, then no current for t_off_max."""
    settings = settings or ScanSettings()
    return _header(strip, H_ex_oe, settings.T, seed) + "\n".join([
        "t0 := t",
        f"J = vector(0, 0, {settings.J:.6g})",
        f"RunWhile(m.Region(2).Average().Z() > -0.96 && t < t0 + {settings.t_on_max:.4e})",
        "J = vector(0, 0, 0)",
        f"Run({settings.t_off_max:.4e})",
    ]) + "\n"


def lif_script(strip: Strip, settings: LifSettings | None = None) -> str:
    """The Fig 1g sequence: pulses of t_on with gaps of t_leak while the wall has not reached
    the ROI's end, then t_reset without current."""
    settings = settings or LifSettings()
    strip = strip.with_roi(settings.roi_length)
    return _header(strip, settings.H_ex_oe, settings.T, settings.seed) + "\n".join([
        f"for i := 0; i < {settings.max_pulses} && m.Region(2).Average().Z() > -0.96; i++ {{",
        f"    J = vector(0, 0, {settings.J:.6g})",
        f"    Run({settings.t_on:.4e})",
        "    J = vector(0, 0, 0)",
        f"    Run({settings.t_leak:.4e})",
        "}",
        f"Run({settings.t_reset:.4e})",
    ]) + "\n"


def write_scan(folder: Path, strip: Strip, hex_oe, settings: ScanSettings) -> list[Path]:
    """One script per field (and seed at T > 0), named after them; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for h in hex_oe:
        for seed in range(settings.seeds):
            name = f"scan_hex{h:g}Oe_T{settings.T:g}K" + (f"_seed{seed}" if settings.T > 0 else "")
            path = folder / f"{name}.mx3"
            path.write_text(scan_script(strip, h, settings, seed))
            paths.append(path)
    return paths
