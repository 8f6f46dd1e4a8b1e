"""Figures of the text-classification report."""

import numpy as np

from core.plots import plt


def attention_heatmap(tokens: list[str], weights: np.ndarray, title: str):
    """Attention weights [tokens, tokens] (averaged over heads) as a heat-map labelled with the tokens."""
    size = max(4.0, 0.35 * len(tokens) + 2)
    figure, axes = plt.subplots(figsize=(size, size * 0.9))
    image = axes.imshow(weights, cmap="viridis")
    figure.colorbar(image, ax=axes, fraction=0.046)
    axes.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    axes.set_yticks(range(len(tokens)), tokens, fontsize=8)
    axes.set_xlabel("attended token (key)")
    axes.set_ylabel("token (query)")
    axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure
