"""Classification metrics every task reports (scikit-learn computes them)."""

from sklearn import metrics as sk_metrics


def classification_metrics(labels, predictions, class_names: list[str]) -> dict:
    """Accuracy, macro and per-class precision/recall/F1, confusion matrix (scikit-learn)."""
    precision, recall, f1, support = sk_metrics.precision_recall_fscore_support(
        labels, predictions, labels=range(len(class_names)), zero_division=0)
    return {
        "accuracy": float(sk_metrics.accuracy_score(labels, predictions)),
        "macro_precision": float(precision.mean()), "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(class_names, precision, recall, f1, support)},
        "confusion_matrix": sk_metrics.confusion_matrix(labels, predictions,
                                                        labels=range(len(class_names))).tolist(),
    }
