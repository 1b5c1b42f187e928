"""Training as in the paper (Section S2.5): BPTT through the surrogate spike function,
cross-entropy on the output spike counts, Adam (lr 1e-3, weight decay), 25 epochs; accuracy
and the confusion matrix recorded per epoch.

Everything runs on the CPU in one thread (``torch.set_num_threads(1)``: the lab PC is shared)
and is reproducible from ``seed``: weights, batch order, Poisson inputs and threshold draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dwlab.snn.data import Dataset
from dwlab.snn.network import PlainNetwork, SpikingNetwork
from dwlab.snn.neuron import NeuronModel

EVAL_BATCH = 500


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 25
    steps: int = 20  # time steps per image
    batch: int = 100
    lr: float = 1e-3
    weight_decay: float = 1e-5
    seed: int = 0
    binary_weights: bool = False


@dataclass(frozen=True)
class Epoch:
    epoch: int  # 1-based
    train_acc_pct: float  # over the epoch's batches, as they were trained
    test_acc_pct: float
    loss: float  # mean training loss of the epoch
    seconds: float  # wall time of the epoch's training and test


@dataclass(frozen=True)
class Training:
    epochs: tuple[Epoch, ...]
    confusion: np.ndarray  # (true, predicted) counts on the test set after the last epoch
    deployed: tuple[float, ...] = ()  # test accuracy (%) of the trained weights on each of
    # ``train``'s ``deploy`` neurons

    @property
    def final(self) -> Epoch:
        return self.epochs[-1]


def train(data: Dataset, config: TrainConfig, neuron: NeuronModel | None,
          on_batch: Callable[[int, int, int], None] | None = None,
          on_epoch: Callable[[Epoch, np.ndarray], None] | None = None,
          deploy: Sequence[NeuronModel] = ()) -> Training:
    """Train the spiking network of ``neuron`` (None: the plain ReLU reference) on ``data``.

    ``on_batch(epoch, done, total)`` after every batch (progress bars), ``on_epoch(epoch,
    confusion)`` after every epoch. ``deploy``: neurons to run the trained weights on, as
    they are, after the last epoch (weights trained off-line for one neuron, used on chips
    of another); their test accuracies are ``Training.deployed``.
    """
    torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed + 1)
    if neuron is None:
        net = PlainNetwork(data.n_inputs, data.n_classes, config.binary_weights)
    else:
        net = SpikingNetwork(data.n_inputs, data.n_classes, neuron, config.binary_weights,
                             generator)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_test = torch.from_numpy(data.x_test)
    n_batches = -(-len(y_train) // config.batch)
    epochs = []
    confusion = np.zeros((data.n_classes, data.n_classes), dtype=np.int64)
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(len(y_train))
        correct, loss_sum = 0, 0.0
        for i in range(n_batches):
            idx = order[i * config.batch:(i + 1) * config.batch]
            out = net(x_train[idx], config.steps)
            loss = nn.functional.cross_entropy(out, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += int((out.argmax(1) == y_train[idx]).sum())
            loss_sum += loss.item() * len(idx)
            if on_batch is not None:
                on_batch(epoch, i + 1, n_batches)
        predicted = predict(net, x_test, config.steps)
        confusion = confusion_matrix(data.y_test, predicted, data.n_classes)
        result = Epoch(epoch, 100 * correct / len(y_train),
                       100 * float(np.mean(predicted == data.y_test)),
                       loss_sum / len(y_train), time.perf_counter() - t0)
        epochs.append(result)
        if on_epoch is not None:
            on_epoch(result, confusion)
    deployed = []
    for model in deploy:
        net.use_neuron(model)
        deployed.append(100 * float(np.mean(predict(net, x_test, config.steps) == data.y_test)))
    return Training(tuple(epochs), confusion, tuple(deployed))


@torch.no_grad()
def predict(net: nn.Module, x: torch.Tensor, steps: int) -> np.ndarray:
    """The class with the most output spikes (the largest output, for the plain network);
    ties go to the lowest class, as argmax does."""
    net.eval()
    return torch.cat([net(x[i:i + EVAL_BATCH], steps).argmax(1)
                      for i in range(0, len(x), EVAL_BATCH)]).numpy()


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[true, predicted]."""
    return np.bincount(true * n_classes + predicted,
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)
