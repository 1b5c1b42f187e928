"""The paper's fully connected SNN (Fig 5b) and its non-spiking twin.

Inputs are Poisson (rate) coded: each pixel spikes in each of T steps with probability equal
to its intensity (snnTorch's ``spikegen.rate``). Layers n_in-256-128-10 are fully connected;
every layer's neurons are ``DeviceLIF``; the output is each class's spike count over the T
steps, on which cross-entropy is taken. The layers are feed-forward, so each layer's synaptic
drive is computed for all T steps at once and its neurons are then stepped through time: the
same result as stepping the whole network step by step, with one matrix product per layer.

``binary_weights``: the crossbar of Fig 5a has two conductance states per synapse; the forward
pass then uses ±α (α = the mean |w| of each output's weights) with the sign of the trained
weight, and the gradient passes straight through to the real-valued weights.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from snntorch import spikegen
from torch import nn

from dwlab.snn.neuron import DeviceLIF, NeuronModel

HIDDEN = (256, 128)
DRIVE_SCALE = 16.0  # swing units per unit of weight x input: with PyTorch's initial weights
# every layer then fires in 10-40 % of the steps, for Table-1 and device neurons alike (a
# silent network passes no gradient); a fixed factor, so Adam's steps stay relative to it


class BinaryLinear(nn.Linear):
    """A linear layer whose forward pass sees two conductance levels per output."""

    def forward(self, x):
        w = self.weight
        alpha = w.abs().mean(dim=1, keepdim=True)
        binary = alpha * torch.sign(w)
        return nn.functional.linear(x, w + (binary - w).detach(), self.bias)


def _linear_layers(sizes: list[int], binary: bool) -> nn.ModuleList:
    kind = BinaryLinear if binary else nn.Linear
    return nn.ModuleList(kind(a, b) for a, b in pairwise(sizes))


class SpikingNetwork(nn.Module):
    """n_in-256-128-n_out of ``neuron`` (one model for all layers); ``forward(x, steps)``
    returns the output spike counts (batch, n_out)."""

    def __init__(self, n_in: int, n_out: int, neuron: NeuronModel, binary_weights: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.layers = _linear_layers([n_in, *HIDDEN, n_out], binary_weights)
        self.neurons = nn.ModuleList(DeviceLIF(neuron, generator) for _ in self.layers)

    def use_neuron(self, neuron: NeuronModel) -> None:
        """Every layer's neurons become ``neuron``; the weights stay as trained."""
        for layer in self.neurons:
            layer.model = neuron

    def forward(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        spikes = spikegen.rate(x, num_steps=steps)  # (T, batch, n_in)
        for layer, neurons in zip(self.layers, self.neurons):
            drive = DRIVE_SCALE * layer(spikes)
            state, out = None, []
            for t in range(steps):
                s, state = neurons(drive[t], state)
                out.append(s)
            spikes = torch.stack(out)
        return spikes.sum(dim=0)


class PlainNetwork(nn.Module):
    """The same layers with ReLU units on the pixel intensities: the non-spiking reference."""

    def __init__(self, n_in: int, n_out: int, binary_weights: bool = False):
        super().__init__()
        self.layers = _linear_layers([n_in, *HIDDEN, n_out], binary_weights)

    def forward(self, x: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)
