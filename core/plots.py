"""Figures shared by every task's report (matplotlib, Agg backend: no display needed)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402


def training_curves(history: dict[str, list[float]], metric: str = "loss", title: str | None = None):
    """Train/validation (and test, when logged) curves of `metric` per epoch."""
    figure, axes = plt.subplots(figsize=(7, 4))
    for prefix, label in (("", "train"), ("val_", "validation"), ("test_", "test")):
        values = history.get(prefix + metric)
        if values:
            axes.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    if metric == "loss" and all(v > 0 for v in history.get("loss", [1.0])):
        axes.set_yscale("log")
    axes.set_title(title or f"{metric} per epoch")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure


def confusion_matrix(matrix, class_names: list[str], title: str = "Confusion matrix"):
    """A confusion-matrix heat-map with counts in each cell (rows: true, columns: predicted)."""
    matrix = np.asarray(matrix)
    size = max(4.0, 0.6 * len(class_names) + 2)
    figure, axes = plt.subplots(figsize=(size, size * 0.85))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046)
    axes.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axes.set_yticks(range(len(class_names)), class_names)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, f"{count:d}", ha="center", va="center",
                  color="white" if count > threshold else "black")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def histogram(values, *, threshold: float | None = None, title: str = "", xlabel: str = ""):
    """A histogram (log counts) with an optional vertical threshold line."""
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.hist(np.asarray(values), bins=60, color="tab:blue", alpha=0.8)
    axes.set_yscale("log")
    if threshold is not None:
        axes.axvline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:.4g}")
        axes.legend()
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("count")
    figure.tight_layout()
    return figure


def close(figure) -> None:
    plt.close(figure)
