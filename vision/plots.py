"""Vision-specific report figures."""

import numpy as np

from core.plots import plt


def misclassified_grid(images, true_labels, predicted_labels, probabilities, class_names, columns: int = 6,
                       limit: int = 24, seed: int = 0):
    """A seeded sample of misclassified test images titled "true → predicted (probability)"; None if none."""
    wrong = np.flatnonzero(np.asarray(true_labels) != np.asarray(predicted_labels))
    if len(wrong) > limit:
        wrong = np.sort(np.random.default_rng(seed).choice(wrong, limit, replace=False))
    if len(wrong) == 0:
        return None
    rows = -(-len(wrong) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 2.1 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, wrong):
        predicted = predicted_labels[index]
        axis.imshow(images[index], interpolation="nearest")
        axis.set_title(f"{class_names[true_labels[index]]} →\n{class_names[predicted]} "
                       f"({probabilities[index, predicted]:.2f})", fontsize=8)
    figure.suptitle("Misclassified test images (true → predicted)")
    figure.tight_layout()
    return figure
