"""The paper's adaptive LIF neuron (section 6, Eq. 1-3) with the device's non-idealities.

In the paper's discrete form, with V_reset the resting level,

    V[t+1] = V[t] + (Δt/τ_int) R I[t] - (Δt/τ_leak) (V[t] - V_reset)
    spike when V[t+1] > V_th, then V -> V_reset.

The network works in units of the swing, u = (V - V_reset)/(V_th - V_reset): rest 0, firing
level 1. R I is then the synaptic drive in swing units, which the trained weights set (the
crossbar's conductance scale is a design choice, not a device property), so V_th and V_reset
enter only where they are absolute: the threshold spread, which the paper quotes as σ/|µ| of
the firing level V_fire, is σ_u = (σ/µ) |V_th| / |V_th - V_reset| in swing units. A device
whose firing level sits far from zero compared with its swing is therefore the noisier neuron.

What a measured device adds to the ideal neuron (``NeuronModel`` fields):

- ``sigma_pct`` -- cycle-to-cycle spread of the firing level: every neuron draws its threshold
  1 + σ_u N(0, 1) at the start and again after each spike (a new cycle).
- ``pulses_to_fire`` -- integration is discrete: the wall hops between pinning sites, so
  between rest and the notch there are only N = pulses-to-fire levels; the membrane is rounded
  to them after each step (straight-through gradient), and a drive worth less than half a
  level leaves no trace; the neuron fires when the membrane reaches the level nearest its
  threshold.
- ``pinned`` -- the firing level is the notch's: the wall stops there and goes home, so a
  spike carries no overshoot (hard reset to rest) and the wall cannot move behind home, so the
  membrane never goes below rest. The ideal neuron of Table 1 may go below rest.

Parameters come from Table 1 (``table1()``) or from the analysis of a stored integrate/reset
run (``from_analysis``): V_rest -> V_reset, V_fire -> V_th, τ_int and τ_leak as fitted, one
network time step per write-pulse period, σ/µ and pulses to fire as measured.

What decides the accuracy is the leak per step Δt/τ_leak (how many steps of Poisson input a
neuron averages) and, with a fixed drive scale and Adam's fixed step, the gain Δt/τ_int; the
absolute τ does not (``with_tau`` keeps both, Fig 5e). Table 1 gives no Δt: Δt = τ/3 here
(SpikingJelly's τ counts steps; 1/3 per step for its τ = 3). A measured device brings its own
Δt/τ_leak (pulse period over the wall's return time), so its network is a different one from
Table 1's even with ideal non-idealities; a device fitted to Table 1's numbers and pulsed every
Table 1 step is Table 1's neuron (tests/snn/test_neuron.py).

The spike function and its surrogate gradient are snnTorch's (``surrogate.atan``), and the
neuron is an snnTorch ``SpikingNeuron``. snnTorch was chosen over SpikingJelly (the paper's)
after trying both on this machine's CPU: SpikingJelly 2.0 requires torchvision, torchaudio and
tensorboard, which pull a CUDA build of torch of several GB in place of the CPU one, and its
2.0 node API needs a functional single-step form for every custom neuron; snnTorch declares no
dependency of its own and ran the same network as fast.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import snntorch
import torch
from snntorch import surrogate


class NeuronError(ValueError):
    """Neuron parameters that cannot describe a neuron (names the parameter and the value)."""


# The paper's Table 1: the parameters of its network simulation
TABLE1 = {"V_th_uV": 214.0, "V_reset_uV": 160.0, "tau_int_ms": 3.0, "tau_leak_ms": 3.0}
TABLE1_DT_MS = 1.0  # the paper gives no Δt; a third of τ (snnTorch's usual β ≈ 0.67)


@dataclass(frozen=True)
class NeuronModel:
    """One layer's neurons: time constants and step (ms), levels (µV), non-idealities."""

    tau_int_ms: float
    tau_leak_ms: float
    V_th_uV: float
    V_reset_uV: float
    dt_ms: float
    sigma_pct: float = 0.0
    pulses_to_fire: float | None = None  # None: continuous integration
    pinned: bool = False
    source: str = "table1"  # "table1" or "run N"

    def __post_init__(self):
        for name in ("tau_int_ms", "tau_leak_ms", "dt_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise NeuronError(f"neuron: {name} = {value!r} must be a number > 0")
        if not self.dt_ms <= self.tau_leak_ms:
            raise NeuronError(f"neuron: time step dt_ms = {self.dt_ms:g} must not exceed "
                              f"tau_leak_ms = {self.tau_leak_ms:g} (the leak would overshoot)")
        if not (math.isfinite(self.V_th_uV) and math.isfinite(self.V_reset_uV)
                and self.V_th_uV != self.V_reset_uV):
            raise NeuronError(f"neuron: V_th_uV = {self.V_th_uV!r} and V_reset_uV = "
                              f"{self.V_reset_uV!r} must be different numbers")
        if not (math.isfinite(self.sigma_pct) and 0 <= self.sigma_pct <= 100):
            raise NeuronError(f"neuron: sigma_pct = {self.sigma_pct!r} must be in [0, 100]")
        if self.pulses_to_fire is not None and not (math.isfinite(self.pulses_to_fire)
                                                    and self.pulses_to_fire >= 1):
            raise NeuronError(f"neuron: pulses_to_fire = {self.pulses_to_fire!r} must be >= 1 "
                              "(or none for continuous integration)")

    @property
    def gain(self) -> float:
        """Δt/τ_int: how much of one step's drive the membrane takes."""
        return self.dt_ms / self.tau_int_ms

    @property
    def leak(self) -> float:
        """Δt/τ_leak: the fraction of the way back to rest per step."""
        return self.dt_ms / self.tau_leak_ms

    @property
    def sigma_swing(self) -> float:
        """The threshold spread in units of the swing (see the module docstring)."""
        return self.sigma_pct / 100 * abs(self.V_th_uV) / abs(self.V_th_uV - self.V_reset_uV)

    def with_tau(self, tau_ms: float) -> NeuronModel:
        """τ_int = τ_leak = ``tau_ms`` (the paper's Fig 5e), the time step scaled with them
        (Δt/τ_int kept) so that the same input is presented at the new speed."""
        return replace(self, tau_int_ms=tau_ms, tau_leak_ms=tau_ms,
                       dt_ms=self.dt_ms * tau_ms / self.tau_int_ms)

    def describe(self) -> dict:
        """The parameters as stored with a network run."""
        return {**asdict(self), "gain": self.gain, "leak": self.leak,
                "sigma_swing": self.sigma_swing}


def table1(dt_ms: float = TABLE1_DT_MS) -> NeuronModel:
    """The paper's Table 1 neuron, ideal (no spread, continuous, unbounded)."""
    return NeuronModel(dt_ms=dt_ms, **TABLE1)


def from_analysis(summary: dict, period_ms: float, source: str) -> NeuronModel:
    """The device neuron from an integrate/reset analysis summary (``dwlab analyze`` keys).

    One network time step is one write-pulse period (``period_ms``): the device integrates
    pulse by pulse. Raises NeuronError naming the key that is missing (the LIF fit failed or
    no cycle fired).
    """
    needed = ("LIF_V_rest_uV", "LIF_V_fire_uV", "LIF_tau_int_ms", "LIF_tau_leak_ms",
              "threshold_fluctuation_pct", "pulses_to_fire_mean")
    missing = [k for k in needed if not isinstance(summary.get(k), (int, float))]
    if missing:
        why = summary.get("LIF_error")
        raise NeuronError(f"{source}: its analysis has no {', '.join(missing)}"
                          + (f" ({why})" if why else "")
                          + "; it needs fired integrate/reset cycles with a LIF fit")
    return NeuronModel(
        tau_int_ms=float(summary["LIF_tau_int_ms"]),
        tau_leak_ms=float(summary["LIF_tau_leak_ms"]),
        V_th_uV=float(summary["LIF_V_fire_uV"]), V_reset_uV=float(summary["LIF_V_rest_uV"]),
        dt_ms=float(period_ms), sigma_pct=float(summary["threshold_fluctuation_pct"]),
        pulses_to_fire=float(summary["pulses_to_fire_mean"]), pinned=True, source=source)


class _RoundToLevel(torch.autograd.Function):
    """u rounded to the nearest of the levels k/N; the gradient passes straight through."""

    @staticmethod
    def forward(ctx, u, n_levels):
        return torch.round(u * n_levels) / n_levels

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class DeviceLIF(snntorch.SpikingNeuron):
    """A layer of ``NeuronModel`` neurons, stepped by ``forward(drive, state)``.

    ``state`` is (membrane u, thresholds) in swing units, or None at the start of a sample;
    returns (spikes, state). The threshold draws use ``generator`` so a run is reproducible.
    """

    def __init__(self, model: NeuronModel, generator: torch.Generator | None = None):
        super().__init__(threshold=1.0, spike_grad=surrogate.atan(), reset_mechanism="zero")
        _forget_instance(self)
        self.model = model
        self.generator = generator

    def draw_thresholds(self, like: torch.Tensor) -> torch.Tensor:
        if self.model.sigma_swing == 0:
            return torch.ones_like(like)
        noise = torch.randn(like.shape, generator=self.generator, dtype=like.dtype)
        return 1.0 + self.model.sigma_swing * noise

    def forward(self, drive: torch.Tensor, state=None):
        m = self.model
        if state is None:
            u, theta = torch.zeros_like(drive), self.draw_thresholds(drive)
        else:
            u, theta = state
        u = u + m.gain * drive - m.leak * u
        margin = 0.0  # continuous: fires above the threshold (snnTorch's Heaviside is > 0)
        if m.pulses_to_fire is not None:
            u = _RoundToLevel.apply(u, m.pulses_to_fire)
            margin = 0.5 / m.pulses_to_fire  # on a level: fires on reaching the threshold's
        spikes = self.spike_grad(u - theta + margin)
        fired = spikes.detach()
        u = u * (1 - fired)  # hard reset to rest
        if m.pinned:
            u = u.clamp(min=0.0)  # the wall cannot move behind home
        if m.sigma_swing:
            theta = torch.where(fired > 0, self.draw_thresholds(theta), theta)
        return spikes, (u, theta)


def _forget_instance(neuron) -> None:
    """snnTorch keeps every neuron ever made in a class list (for its ``init_hidden`` mode,
    unused here); drop ours so that a sweep of many networks does not keep them all alive."""
    instances = snntorch.SpikingNeuron.instances
    if instances and instances[-1] is neuron:
        instances.pop()
