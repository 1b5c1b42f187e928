"""Named devices of the simulated lab: the paper's neurons and its return-velocity samples.

Creep constants are per sample (PHYSICS.md section 3): the samples are different stacks.

- ``sot-neuron``: 5 x 150 um^2 integration device, H_ex = 1150 Oe (Ru 2 nm), notch at 20 um,
  the Hall cross senses the whole of region B (a "step neuron": V_AHE rises as the DW advances).
  ln v0 = 47.9, alpha300 = 249.3: under Hz alone at the operating point (575 Oe beyond H_ex)
  the wall stands still (0.05 um/s); SOT pulses at Hx = 1000 Oe move it ~1.2 um each.
- ``spike-neuron``: the same bar read only over the last 2 um before the notch (the paper's
  MTJ at the end), so V_AHE stays at rest and jumps when the DW arrives ("spike").
- ``field-neuron``: the paper's Hz-pulse integration device, 20 x 400 um^2, same stack
  (H_ex = 1150 Oe, H_c = 600 Oe), notch at 60 um, the cross sensing region B. Its wider bar
  pins less: ln v0 = 31.0, alpha300 = 138, so a pulse to 575 Oe beyond H_ex moves the wall
  ~17 um/s (a 1 s Hz pulse, rounded by the magnet, integrates about 1/6 of the span) and the
  SAF field alone (1150 Oe at Hz = 0) returns it at ~1.5 mm/s (reset in ~0.1 s).
- ``rv-1504``, ``rv-1220``, ``rv-885``, ``rv-645``: 5 x 200 um^2 return-velocity devices named
  by H_ex. The notch is at 120 um and Hall bar 1 is 88.5 um before it (at x = 31.5 um); its
  5 um wide cross is the sense span. H_c = 600 Oe for all, so the opposing Hz "slightly beyond
  H2" still leaves a return drive of a few hundred Oe (rv-1504 at Hz = -1160 Oe: ~600 s).
  ln v0 = 29.77, alpha300 = 136.4 (fitted to the paper's two return observations).

``device_table`` gives the setup file's ``[device]`` table for a preset, so that a simulated
lab's recorded geometry (current density, energy, Hall bar distance) is the simulated bar's.
"""

from __future__ import annotations

from dwlab.instruments.sim.device import DeviceParams

_RV_NOTCH_UM = 120.0
_RV_HALL_BAR_UM = 88.5


_SHEET_OHM = 500.0 / 30.0  # the 5 x 150 um^2 bar is 500 ohm: 30 squares


def _return_velocity_device(h_ex_oe: float) -> DeviceParams:
    base = DeviceParams()
    hall_x = _RV_NOTCH_UM - _RV_HALL_BAR_UM
    return base.with_(
        name=f"rv-{h_ex_oe:.0f}", H_ex_Oe=h_ex_oe, length_um=200.0, x_notch_um=_RV_NOTCH_UM,
        hall_bar_um=_RV_HALL_BAR_UM, R_bar_ohm=_SHEET_OHM * 200.0 / 5.0,
        sense_span_um=(hall_x - base.width_um / 2, hall_x + base.width_um / 2),
        ln_v0=29.77, alpha300=136.4)


PRESETS: dict[str, DeviceParams] = {
    "sot-neuron": DeviceParams(),
    "spike-neuron": DeviceParams(name="spike-neuron", sense_span_um=(18.0, 20.0)),
    "field-neuron": DeviceParams(
        name="field-neuron", width_um=20.0, length_um=400.0, x_notch_um=60.0,
        sense_span_um=(0.0, 60.0), R_bar_ohm=_SHEET_OHM * 400.0 / 20.0, ln_v0=31.0,
        alpha300=138.0),
    **{f"rv-{h:.0f}": _return_velocity_device(h) for h in (1504.0, 1220.0, 885.0, 645.0)},
}


def preset(name: str, **overrides) -> DeviceParams:
    """The named device, optionally with some constants changed (validated)."""
    if name not in PRESETS:
        raise ValueError(f"unknown device preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name].with_(**overrides) if overrides else PRESETS[name]


def device_table(name: str) -> dict:
    """The setup file's ``[device]`` table describing preset ``name``'s bar."""
    p = preset(name)
    table = {"name": f"{p.name} (simulated)", "width_um": p.width_um, "length_um": p.length_um,
             "metal_thickness_nm": p.t_metal_nm, "R_bar_ohm": p.R_bar_ohm,
             "x_notch_um": p.x_notch_um}
    if p.hall_bar_um is not None:
        table["hall_bar_um"] = p.hall_bar_um
    return table
