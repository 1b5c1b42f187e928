"""The paper's Fig 5c-e from a stored training.

(c) train and test accuracy against epoch (the plain network's test accuracy beside it),
(d) the test-set confusion matrix after the last epoch, and, for a sweep, accuracy against the
swept variable: τ (Fig 5e, log axis), the threshold spread σ/µ or the pulses to fire.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from dwlab.snn.record import PLAIN, SPIKING, SWEEPS, NetworkRunResult


def network_figure(result: NetworkRunResult) -> Figure:
    sweep = len(result.values) > 1
    fig = Figure(figsize=(15 if sweep else 10, 4.4), layout="constrained")
    axes = fig.subplots(1, 3 if sweep else 2)
    _accuracy_curves(axes[0], result)
    _confusion(axes[1], result)
    if sweep:
        _against_sweep(axes[2], result)
    fig.suptitle(f"Spiking network on {result.dataset.get('name', '?')} "
                 f"({result.dataset.get('n_train', '?')} train / "
                 f"{result.dataset.get('n_test', '?')} test), neurons from {result.source}")
    return fig


def _label(result: NetworkRunResult, value: float) -> str:
    return "" if len(result.values) == 1 else f" {result.sweep} = {value:g}"


def _accuracy_curves(ax, result: NetworkRunResult) -> None:
    colours = iter(["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                    "tab:brown", "tab:pink", "tab:olive"] * 4)
    for value in result.values:
        c = result.curve(SPIKING, value)
        colour = next(colours)
        ax.plot(c["epoch"], c["train_acc_pct"], "--", color=colour, lw=1,
                label=f"train{_label(result, value)}")
        ax.plot(c["epoch"], c["test_acc_pct"], "o-", color=colour, ms=3, lw=1.2,
                label=f"test{_label(result, value)}")
    plain = result.curve(PLAIN)
    if len(plain):
        ax.plot(plain["epoch"], plain["test_acc_pct"], "-", color="0.4", lw=1,
                label="test, plain (non-spiking) units")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title="(c) training and test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def _confusion(ax, result: NetworkRunResult) -> None:
    value = result.values[0]
    counts = result.confusions.get((SPIKING, value))
    if counts is None:
        ax.set_title("(d) no confusion matrix (the run ended early)")
        return
    ax.imshow(counts, cmap="Blues")
    n = counts.shape[0]
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if counts[i, j] > counts.max() / 2 else "black")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted label", ylabel="true label",
           title=f"(d) confusion matrix, test set{_label(result, value)}")


def _against_sweep(ax, result: NetworkRunResult) -> None:
    finals = result.final_test_acc()
    values = np.array(list(finals))
    acc = np.array(list(finals.values()))
    train = [float(result.curve(SPIKING, v)["train_acc_pct"].iloc[-1]) for v in values]
    shown = values.astype(float)
    if result.sweep == "pulses_to_fire":  # 0 (continuous) drawn at the right end
        finite = shown[shown > 0]
        shown = np.where(shown > 0, shown, 2 * finite.max() if finite.size else 1.0)
    order = np.argsort(shown)
    ax.plot(shown[order], acc[order], "o-", label="test")
    ax.plot(shown[order], np.array(train)[order], "s--", ms=3, label="train")
    if result.reference_test_acc is not None:
        ax.axhline(result.reference_test_acc, color="0.4", lw=1,
                   label="test, plain (non-spiking) units")
    if result.sweep in ("tau_ms", "pulses_to_fire"):
        ax.set_xscale("log")
    if result.sweep == "pulses_to_fire" and (values == 0).any():
        ax.annotate("continuous", (shown.max(), acc[values == 0][0]), fontsize=7,
                    textcoords="offset points", xytext=(-30, 8))
    title = {"tau_ms": "(e) accuracy against τ", "sigma_pct": "accuracy against σ/µ",
             "pulses_to_fire": "accuracy against pulses to fire"}[result.sweep]
    ax.set(xlabel=SWEEPS[result.sweep][0], ylabel="accuracy after the last epoch (%)",
           title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
