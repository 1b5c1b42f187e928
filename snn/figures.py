"""The paper's Fig 5c-e from a stored training.

(c) train and test accuracy against epoch (the plain network's test accuracy beside it),
(d) the test-set confusion matrix after the last epoch, and, for a sweep, accuracy against the
swept variable: τ (Fig 5e, log axis), the threshold spread σ/µ or the pulses to fire. A sweep
of σ/µ or of the pulses to fire also shows the first value's weights run on every other
value's neurons (trained off-line, deployed; ``record.DEPLOYED``).

With several seeds, curves are the mean over seeds with the seeds' range shaded, and the
sweep panel shows each seed's final accuracy and the mean ± sd: a difference smaller than the
spread over seeds is not a difference. The confusion matrix is the first seed's.
"""

from __future__ import annotations

import json

import numpy as np
from matplotlib.figure import Figure

from dwlab.snn.record import DEPLOYED, PLAIN, SPIKING, SWEEPS, NetworkRunResult


def network_figure(result: NetworkRunResult) -> Figure:
    sweep = len(result.values) > 1
    fig = Figure(figsize=(15 if sweep else 10, 4.8), layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.035, 1, 0.965))  # the bottom strip: the stamp
    axes = fig.subplots(1, 3 if sweep else 2)
    _accuracy_curves(axes[0], result)
    _confusion(axes[1], result)
    if sweep:
        _against_sweep(axes[2], result)
    seeds = (f", mean of {len(result.seeds)} seeds ({', '.join(map(str, result.seeds))})"
             if len(result.seeds) > 1 else f", seed {result.seeds[0]}")
    fig.suptitle(f"Spiking network on {result.dataset.get('name', '?')} "
                 f"({result.dataset.get('n_train', '?')} train / "
                 f"{result.dataset.get('n_test', '?')} test), neurons from {result.source}"
                 f"{seeds}")
    return fig


def _label(result: NetworkRunResult, value: float) -> str:
    return "" if len(result.values) == 1 else f" {result.sweep} = {value:g}"


def _mean_curve(ax, rows, column: str, colour: str, style: str, label: str, band: bool):
    by_epoch = rows.groupby("epoch")[column]
    mean = by_epoch.mean()
    ax.plot(mean.index, mean.to_numpy(), style, color=colour, ms=3, lw=1.1, label=label)
    if band and rows["seed"].nunique() > 1:
        ax.fill_between(mean.index, by_epoch.min().to_numpy(), by_epoch.max().to_numpy(),
                        color=colour, alpha=0.15, lw=0)


def _accuracy_curves(ax, result: NetworkRunResult) -> None:
    colours = iter(["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                    "tab:brown", "tab:pink", "tab:olive"] * 4)
    for value in result.values:
        c = result.curve(SPIKING, value)
        colour = next(colours)
        _mean_curve(ax, c, "train_acc_pct", colour, "--", f"train{_label(result, value)}",
                    band=False)
        _mean_curve(ax, c, "test_acc_pct", colour, "o-", f"test{_label(result, value)}",
                    band=True)
    plain = result.curve(PLAIN)
    if len(plain):
        _mean_curve(ax, plain, "test_acc_pct", "0.4", "-", "test, plain (non-spiking) units",
                    band=True)
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title="(c) training and test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def _confusion(ax, result: NetworkRunResult) -> None:
    value, seed = result.values[0], result.seeds[0]
    counts = next((image for (network, v, s), image in result.confusions.items()
                   if network == SPIKING and v is not None and np.isclose(v, value)
                   and s == seed), None)
    if counts is None:
        ax.set_title("(d) no confusion matrix (the run ended early)")
        return
    ax.imshow(counts, cmap="Blues")
    n = counts.shape[0]
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if counts[i, j] > counts.max() / 2 else "black")
    accuracy = 100 * np.trace(counts) / counts.sum()
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted label", ylabel="true label",
           title=f"(d) confusion matrix, test set{_label(result, value)}"
                 f"{f', seed {seed}' if len(result.seeds) > 1 else ''} ({accuracy:.1f} %)")


def _against_sweep(ax, result: NetworkRunResult) -> None:
    stats = result.final_test_stats()
    values = np.array(list(stats), dtype=float)
    shown = values.copy()
    if result.sweep == "pulses_to_fire":  # 0 (continuous) drawn at the right end
        finite = shown[shown > 0]
        shown = np.where(shown > 0, shown, 2 * finite.max() if finite.size else 1.0)
    order = np.argsort(shown)
    mean = np.array([stats[v][0] for v in values])
    sd = np.array([stats[v][1] for v in values])
    n_seeds = max(n for _, _, n in stats.values())
    ax.errorbar(shown[order], mean[order], yerr=sd[order] if n_seeds > 1 else None, fmt="o-",
                capsize=3, label="test, trained with these neurons"
                + (f", mean ± sd of {n_seeds} seeds" if n_seeds > 1 else ""))
    _deployed(ax, result, dict(zip(values, shown)), stats, n_seeds)
    if n_seeds > 1:
        for x, v in zip(shown, values):
            finals = result.finals(SPIKING, v)
            ax.plot(np.full(len(finals), x), finals, ".", color="tab:blue", alpha=0.4, ms=4)
    train = [float(result.curve(SPIKING, v).groupby("seed")["train_acc_pct"].last().mean())
             for v in values]
    ax.plot(shown[order], np.array(train)[order], "s--", ms=3, color="tab:orange", label="train")
    if result.reference_stats is not None:
        ref, ref_sd, _ = result.reference_stats
        ax.axhline(ref, color="0.4", lw=1, label="test, plain (non-spiking) units")
        if ref_sd:
            ax.axhspan(ref - ref_sd, ref + ref_sd, color="0.4", alpha=0.12, lw=0)
    if result.sweep in ("tau_ms", "pulses_to_fire"):
        ax.set_xscale("log")
    if result.sweep == "pulses_to_fire" and (values == 0).any():
        ax.annotate("continuous", (shown.max(), mean[values == 0][0]), fontsize=7,
                    textcoords="offset points", xytext=(-30, 8))
    xlabel = SWEEPS[result.sweep][0]
    if result.sweep == "sigma_pct" and result.neurons:  # under the axis: no curve hides it
        n = result.neurons[0]
        ratio = abs(n["V_th_uV"]) / abs(n["V_th_uV"] - n["V_reset_uV"])
        xlabel += (f", redrawn at every firing\nσ of the swing = σ/µ × |V_th|/|V_th − V_reset|"
                   f" = σ/µ × {ratio:.2f}")
    title = {"tau_ms": "(e) accuracy against τ", "sigma_pct": "accuracy against σ/µ",
             "pulses_to_fire": "accuracy against pulses to fire"}[result.sweep]
    ax.set(xlabel=xlabel, ylabel="test accuracy after the last epoch (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _deployed(ax, result: NetworkRunResult, place: dict, stats: dict, n_seeds: int) -> None:
    """The first value's trained weights on the other values' neurons, drawn from the first
    value's own point (``place``: value -> x; ``stats``: the trained values' accuracies)."""
    first = result.values[0]
    deployed = {v: s for v, s in result.deployed_stats().items() if v in place}
    if not deployed or first not in stats:
        return
    points = {first: stats[first], **deployed}
    x = np.array([place[v] for v in points])
    y = np.array([m for m, _, _ in points.values()])
    err = np.array([e for _, e, _ in points.values()])
    order = np.argsort(x)
    ax.errorbar(x[order], y[order], yerr=err[order] if n_seeds > 1 else None, fmt="^:",
                color="tab:red", capsize=3,
                label=f"test, weights trained at {result.sweep} = {first:g}, "
                      "run on these neurons")
    for v in deployed:
        finals = result.finals(DEPLOYED, v)
        if len(finals) > 1:
            ax.plot(np.full(len(finals), place[v]), finals, ".", color="tab:red", alpha=0.4,
                    ms=4)


def comparison_figure(results: list[tuple[int, NetworkRunResult]]) -> Figure | None:
    """Final test accuracies over several stored trainings (``dwlab report`` with two or more
    snn-train runs): (left) each neuron the runs trained without a sweep, seed by seed, with
    mean ± sd, and the plain reference; (right) accuracy against the threshold spread σ/µ over
    every training of neurons from a measured run that differ only in σ/µ. None with fewer
    than two runs."""
    if len(results) < 2:
        return None
    rows = _finals(results)
    fig = Figure(figsize=(14, 5.2), layout="constrained")  # stamped by dwlab.report
    left, right = fig.subplots(1, 2, width_ratios=(1.1, 1))
    _settings(left, rows)
    _sigma_over_runs(right, rows)
    fig.suptitle(f"Spiking networks on {results[0][1].dataset.get('name', '?')}: test accuracy "
                 f"after the last epoch over runs {', '.join(str(r) for r, _ in results)}")
    return fig


def _finals(results) -> list[dict]:
    """One row per trained network: its run, neuron (None: plain), seed, final accuracy."""
    rows = []
    for run_id, result in results:
        for network, values in ((SPIKING, result.values), (PLAIN, (float("nan"),))):
            for i, value in enumerate(values):
                curves = result.curve(network, value)
                for seed, acc in curves.groupby("seed")["test_acc_pct"].last().items():
                    neuron = result.neurons[i] if network == SPIKING else None
                    rows.append({"run": run_id, "sweep": len(result.values) > 1,
                                 "source": result.source, "neuron": neuron,
                                 "seed": int(seed), "acc": float(acc)})
    return rows


def _neuron_label(n: dict | None) -> str:
    if n is None:
        return "plain (non-spiking)\nreference"
    levels = "continuous" if n["pulses_to_fire"] is None else f"{n['pulses_to_fire']:g} levels"
    return (f"{n['source']}\nΔt/τ_leak = {n['leak']:.3f}\nσ/µ = {n['sigma_pct']:.2g} %, "
            f"{levels}{', pinned' if n['pinned'] else ''}")


def _settings(ax, rows) -> None:
    groups: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if not r["sweep"]:
            groups.setdefault(_neuron_label(r["neuron"]), []).append((r["run"], r["acc"]))
    for x, points in enumerate(groups.values()):
        acc = np.array([a for _, a in points])
        ax.plot(np.full(len(acc), x), acc, ".", color="tab:blue", alpha=0.5, ms=6)
        sd = float(np.std(acc, ddof=1)) if len(acc) > 1 else 0.0
        ax.errorbar(x + 0.12, acc.mean(), yerr=sd or None, fmt="o", color="black", capsize=4)
        runs = sorted({r for r, _ in points})
        ax.annotate(f"{acc.mean():.2f} ± {sd:.2f} %\n(n = {len(acc)}; run"
                    f"{'s' if len(runs) > 1 else ''} {', '.join(map(str, runs))})",
                    (x + 0.15, acc.mean()), fontsize=7, xytext=(4, -4),
                    textcoords="offset points")
    ax.set_xticks(range(len(groups)), list(groups), fontsize=7)
    ax.set_xlim(-0.4, len(groups) - 0.1)
    ax.set(ylabel="test accuracy after the last epoch (%)",
           title="each neuron: seeds (dots), mean ± sd (black)")
    ax.grid(alpha=0.3, axis="y")


def _sigma_over_runs(ax, rows) -> None:
    """Trainings of measured neurons (not Table 1's) against σ/µ, all else as measured."""
    device = [r for r in rows if r["neuron"] is not None and r["source"] != "table1"]
    if not device:
        ax.set_title("no neurons from a measured run")
        return
    pulses = {r["neuron"]["pulses_to_fire"] for r in device if not r["sweep"]}
    same = [r for r in device if r["neuron"]["pulses_to_fire"] in pulses or not pulses]
    by_sigma: dict[float, list[float]] = {}
    trained = set()  # the same neuron and seed in two runs is the same training: count it once
    for r in same:
        key = (json.dumps(r["neuron"], sort_keys=True), r["seed"])
        if key not in trained:
            trained.add(key)
            by_sigma.setdefault(round(r["neuron"]["sigma_pct"], 6), []).append(r["acc"])
    sigma = np.array(sorted(by_sigma))
    for s in sigma:
        ax.plot(np.full(len(by_sigma[s]), s), by_sigma[s], ".", color="tab:blue", alpha=0.5,
                ms=6)
    mean = np.array([np.mean(by_sigma[s]) for s in sigma])
    sd = np.array([np.std(by_sigma[s], ddof=1) if len(by_sigma[s]) > 1 else 0.0
                   for s in sigma])
    ax.errorbar(sigma, mean, yerr=sd, fmt="o-", color="black", capsize=4,
                label="mean ± sd over seeds (one seed: no bar)")
    for s, m in zip(sigma, mean):
        ax.annotate(f"{m:.1f} (n = {len(by_sigma[s])})", (s, m), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    n = same[0]["neuron"]
    ratio = abs(n["V_th_uV"]) / abs(n["V_th_uV"] - n["V_reset_uV"])
    ax.set(xlabel="threshold spread σ/µ (%), drawn anew at every firing",
           ylabel="test accuracy after the last epoch (%)",
           title=f"neurons from {n['source']} against σ/µ (σ of the swing = σ/µ × {ratio:.2f})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
