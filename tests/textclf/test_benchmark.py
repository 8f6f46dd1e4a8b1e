import numpy as np
import pytest

from textclf import benchmark, data


def test_folds_are_seeded_stratified_and_partition_the_rows():
    labels = np.repeat(np.arange(4), 25)
    first, again = benchmark.folds(labels, 5, seed=1), benchmark.folds(labels, 5, seed=1)
    assert first == again and first != benchmark.folds(labels, 5, seed=2)
    assert sorted(i for fold in first for i in fold) == list(range(100))
    assert all(np.bincount(labels[fold]).tolist() == [5, 5, 5, 5] for fold in first)


def test_peer_learns_separable_text():
    texts = [f"goal team {i}" for i in range(20)] + [f"bank profit {i}" for i in range(20)]
    labels = np.array([0] * 20 + [1] * 20)
    whole = data.TextData(texts, labels, ["sport", "money"], "test")
    result = benchmark.tfidf_peer(whole.subset(np.arange(0, 40, 2)), whole.subset(np.arange(1, 40, 2)))
    assert result["accuracy"] == 1.0 and result["macro_f1"] == 1.0


def test_summary_means_stds_and_ratio_to_peer():
    results = {"tfidf_logreg": [{"accuracy": 0.8, "macro_f1": 0.8, "train_seconds": 1.0}] * 2,
               "compact": [{"accuracy": 0.7, "macro_f1": 0.6, "train_seconds": 4.0, "train_examples_per_s": 100.0},
                           {"accuracy": 0.9, "macro_f1": 0.8, "train_seconds": 6.0, "train_examples_per_s": 300.0}]}
    summary = benchmark.summarise(results, {"compact": {"latency_ms_p50": 2.0}})
    assert summary["compact"]["accuracy_mean"] == pytest.approx(0.8)
    assert summary["compact"]["accuracy_std"] == pytest.approx(np.std([0.7, 0.9], ddof=1))
    assert summary["compact"]["ratio_to_peer"] == pytest.approx(1.0)
    assert summary["compact"]["train_examples_per_s"] == 200.0 and summary["compact"]["latency_ms_p50"] == 2.0


def test_more_folds_than_texts_of_a_class_is_a_user_error():
    from core.errors import UserError

    with pytest.raises(UserError, match="5 stratified folds need at least 5 texts of every class"):
        benchmark.folds(np.array([0] * 10 + [1] * 4), 5, seed=0)
