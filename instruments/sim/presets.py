"""Named devices of the simulated lab: the paper's SOT neuron and its return-velocity samples.

- ``sot-neuron``: 5 x 150 um^2 integration device, H_ex = 1150 Oe (Ru 2 nm), notch at 20 um,
  the Hall cross senses the whole of region B (a "step neuron": V_AHE rises as the DW advances).
- ``spike-neuron``: the same bar read only over the last 2 um before the notch (the paper's
  MTJ at the end), so V_AHE stays at rest and jumps when the DW arrives ("spike").
- ``rv-1504``, ``rv-1220``, ``rv-885``, ``rv-645``: 5 x 200 um^2 return-velocity devices named
  by H_ex. The notch is at 120 um and Hall bar 1 is 88.5 um before it (at x = 31.5 um); its
  5 um wide cross is the sense span. H_c = 600 Oe for all, so the opposing Hz "slightly beyond
  H2" still leaves a return drive of a few hundred Oe (rv-1504 at Hz = -1160 Oe: ~600 s).
"""

from __future__ import annotations

from dwlab.instruments.sim.device import DeviceParams

_RV_NOTCH_UM = 120.0
_RV_HALL_BAR_UM = 88.5


def _return_velocity_device(h_ex_oe: float) -> DeviceParams:
    base = DeviceParams()
    hall_x = _RV_NOTCH_UM - _RV_HALL_BAR_UM
    return base.with_(
        name=f"rv-{h_ex_oe:.0f}", H_ex_Oe=h_ex_oe, length_um=200.0, x_notch_um=_RV_NOTCH_UM,
        hall_bar_um=_RV_HALL_BAR_UM,
        sense_span_um=(hall_x - base.width_um / 2, hall_x + base.width_um / 2))


PRESETS: dict[str, DeviceParams] = {
    "sot-neuron": DeviceParams(),
    "spike-neuron": DeviceParams(name="spike-neuron", sense_span_um=(18.0, 20.0)),
    **{f"rv-{h:.0f}": _return_velocity_device(h) for h in (1504.0, 1220.0, 885.0, 645.0)},
}


def preset(name: str, **overrides) -> DeviceParams:
    """The named device, optionally with some constants changed (validated)."""
    if name not in PRESETS:
        raise ValueError(f"unknown device preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name].with_(**overrides) if overrides else PRESETS[name]
