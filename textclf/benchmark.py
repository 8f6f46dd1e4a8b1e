"""Text-classification benchmark: `test-cv` (stratified k-fold over one labelled file) or `full` (AG News's
train/test split), with a TF-IDF + logistic-regression peer on the same data.

`test-cv` exists because only 6,600 AG News test rows are available offline: its figures are NOT comparable
to published full-train AG News results (the summary says so).
"""

import csv
import dataclasses
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from core import serving
from core.callbacks import ElapsedTime
from core.errors import UserError
from core.metrics import classification_metrics
from textclf import data, models, task
from textclf.config import NB_ALPHA_GRID, NB_MIXTURE_GRID, PATH_WEIGHT_GRID, TextConfig


def folds(labels: np.ndarray, count: int, seed: int) -> list[list[int]]:
    """Test indices of each stratified, seeded fold."""
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < count:
        raise UserError(f"{count} stratified folds need at least {count} texts of every class; the smallest "
                        f"class (index {classes[counts.argmin()]}) has {counts.min()}: lower --folds or add texts")
    splitter = StratifiedKFold(n_splits=count, shuffle=True, random_state=seed)
    return [sorted(test.tolist()) for _, test in splitter.split(np.zeros(len(labels)), labels)]


def tfidf_peer(train: data.TextData, test: data.TextData) -> dict:
    """scikit-learn's TF-IDF (word 1-2-grams) + logistic regression, trained on `train`."""
    started = time.perf_counter()
    peer = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                         LogisticRegression(C=10.0, max_iter=2000))
    peer.fit(train.texts, train.labels)
    seconds = time.perf_counter() - started
    metrics = classification_metrics(test.labels, peer.predict(test.texts), train.class_names)
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "train_seconds": seconds}


def serving_speed(export_dir: Path, texts: list[str], repeats: int = 50) -> dict:
    """SavedModel latency for one string (p50/p95, ms) and throughput for batches of 256 (texts/s)."""
    speed = serving.signature_speed(export_dir, "text", np.array(texts, dtype=object), repeats=repeats)
    return {"latency_ms_p50": speed["latency_ms_p50"], "latency_ms_p95": speed["latency_ms_p95"],
            "throughput_texts_per_s": speed["throughput_per_s"]}


def evaluate_model(config: TextConfig, parts: dict[str, data.TextData]) -> tuple[dict, task.Trained]:
    trained = task.fit(config, parts)
    predictions = task.predict(trained, parts["test"].texts).argmax(axis=1)
    metrics = classification_metrics(parts["test"].labels, predictions, trained.class_names)
    epochs = len(trained.history["loss"])
    weights, naive_bayes = task.path_weights(trained.model), task.naive_bayes_settings(trained.model)
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "epochs": epochs,
            "train_seconds": trained.train_seconds,
            "train_examples_per_s": epochs * len(parts["train"]) / trained.train_seconds,
            # the learning curve (validation split, one value per epoch): how fast a model gets off the ground;
            # for wide_deep, before its paths' inference weights are calibrated (so not the final model's)
            "validation_accuracy_per_epoch": [float(value) for value in trained.history["val_accuracy"]],
            **({"path_weights": weights} if weights else {}),
            **(naive_bayes or {}),
            # masked-word pre-training's accuracy per epoch (of the hidden words), when the model had any
            **({"pretraining_accuracy_per_epoch": trained.pretraining["accuracy"]} if trained.pretraining else {})
            }, trained


def run_test_cv(whole: data.TextData, configs: dict[str, TextConfig], fold_count: int, seed: int,
                max_folds: int | None = None) -> dict:
    """Every model and the peer on the same seeded folds: train on k-1 folds (validation carved from
    them), score on the held-out fold. `max_folds` runs only the first folds (slow models)."""
    all_folds = folds(whole.labels, fold_count, seed)
    fold_indices = all_folds[:max_folds] if max_folds else all_folds
    results = {name: [] for name in [*configs, "tfidf_logreg"]}
    speed = {}
    for number, test_indices in enumerate(fold_indices):
        train_indices = np.setdiff1d(np.arange(len(whole)), test_indices)
        split = data.stratified_split(whole.subset(train_indices), {"train": 0.9, "validation": 0.1}, seed + number)
        parts = {**split, "test": whole.subset(np.array(test_indices))}
        results["tfidf_logreg"].append(tfidf_peer(whole.subset(train_indices), parts["test"]))
        for name, config in configs.items():
            fold_config = dataclasses.replace(config, seed=config.seed + number)
            scores, trained = evaluate_model(fold_config, parts)
            results[name].append(scores)
            print(f"  fold {number + 1}/{fold_count} {name}: accuracy {scores['accuracy']:.4f} "
                  f"(peer {results['tfidf_logreg'][-1]['accuracy']:.4f})", flush=True)
            if number == len(fold_indices) - 1:
                with tempfile.TemporaryDirectory() as folder:
                    speed[name] = serving_speed(task.export_model(trained, Path(folder) / name), parts["test"].texts)
    return {"protocol": "test-cv", "folds": all_folds, "folds_run": len(fold_indices), "per_fold": results,
            "summary": summarise(results, speed)}


def run_full(train: data.TextData, test: data.TextData, configs: dict[str, TextConfig], seed: int) -> dict:
    """The comparable protocol: train on the train split (validation carved from it), score on test."""
    split = data.stratified_split(train, {"train": 0.95, "validation": 0.05}, seed)
    parts = {**split, "test": test}
    results = {"tfidf_logreg": [tfidf_peer(train, test)]}
    speed = {}
    for name, config in configs.items():
        scores, trained = evaluate_model(config, parts)
        results[name] = [scores]
        with tempfile.TemporaryDirectory() as folder:
            speed[name] = serving_speed(task.export_model(trained, Path(folder) / name), test.texts)
    return {"protocol": "full", "per_fold": results, "summary": summarise(results, speed)}


#: The command a user runs (`run_unseen_rows` trains with it, its defaults unchanged).
TRAIN_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_textclf.py"


def run_unseen_rows(whole: data.TextData, fold_count: int, seed: int, work_dir: Path,
                    max_folds: int | None = None) -> dict:
    """The CLI's own protocol on rows it never saw, made from the one file we have.

    Per seeded stratified fold (the test-cv folds): the other folds are the user's file, written as the
    CSV rows they came from; `scripts/train_textclf.py --csv <that file>` trains on it with its defaults
    (in its own process, splitting off its test and validation parts as it always does), and its export
    (`export_predictions`) classifies the fold's rows, which neither it nor the peer saw. The peer
    is fitted on the whole user's file, as a user would fit it (so it sees the rows the CLI keeps for its
    own test and validation parts), and, for reference, on the part the CLI trained on only.
    """
    import subprocess
    import sys

    from core import config as core_config

    all_folds = folds(whole.labels, fold_count, seed)
    fold_indices = all_folds[:max_folds] if max_folds else all_folds
    per_fold = []
    for number, test_indices in enumerate(fold_indices):
        folder = work_dir / f"fold{number + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        user_indices = np.setdiff1d(np.arange(len(whole)), test_indices)
        user_file = data.write_rows(whole, user_indices, folder / "user_file.csv")
        unseen = whole.subset(np.array(test_indices))
        started = time.perf_counter()
        command = [sys.executable, str(TRAIN_SCRIPT), "--csv", str(user_file), "--seed", str(seed),
                   "--output-dir", str(folder / "saved_models"), "--reports-dir", str(folder / "reports"),
                   "--run-dir", str(folder / "runs")]
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {finished.returncode}: {finished.stderr[-2000:]}")
        cli_seconds = time.perf_counter() - started
        (export_dir,) = sorted((folder / "saved_models").glob("*/[0-9]*"))
        predicted = export_predictions(export_dir, unseen.texts)
        truth = [whole.class_names[label] for label in unseen.labels]
        cli_parts = task.prepare(core_config.build(TextConfig, csv=str(user_file), seed=seed))
        # Stratified folds put every class in the user's file, so the CLI reads the classes in `whole`'s order
        # (labels index the same names) and the peer can learn from the user's rows as `whole` holds them.
        if cli_parts["train"].class_names != whole.class_names:
            raise RuntimeError(f"{user_file}: classes {cli_parts['train'].class_names}, not {whole.class_names}")
        row = {"fold": number + 1, "user_file_rows": len(user_indices), "unseen_rows": len(unseen),
               "cli_train_rows": len(cli_parts["train"]), "cli_seconds": round(cli_seconds, 1),
               "cli_summary": next((line for line in finished.stdout.splitlines() if line.startswith("test:")), ""),
               "export_accuracy": float(np.mean(np.asarray(predicted) == np.asarray(truth))),
               "peer_whole_file": tfidf_peer(whole.subset(user_indices), unseen),
               "peer_cli_train_part": tfidf_peer(cli_parts["train"], unseen)}
        per_fold.append(row)
        print(f"  fold {number + 1}/{fold_count}: export {row['export_accuracy']:.4f}, peer on the whole file "
              f"{row['peer_whole_file']['accuracy']:.4f} ({cli_seconds:.0f} s)", flush=True)
    export = [row["export_accuracy"] for row in per_fold]
    peer = [row["peer_whole_file"]["accuracy"] for row in per_fold]
    reference = [row["peer_cli_train_part"]["accuracy"] for row in per_fold]
    return {"protocol": "unseen-rows", "folds": all_folds, "folds_run": len(fold_indices), "per_fold": per_fold,
            "summary": {"export_accuracy_mean": statistics.mean(export),
                        "peer_whole_file_accuracy_mean": statistics.mean(peer),
                        "peer_cli_train_part_accuracy_mean": statistics.mean(reference),
                        "ratio_to_peer": statistics.mean(export) / statistics.mean(peer),
                        "folds_export_beats_peer": sum(ours > theirs for ours, theirs in zip(export, peer)),
                        "export_accuracy_std": statistics.stdev(export) if len(export) > 1 else 0.0,
                        "peer_whole_file_accuracy_std": statistics.stdev(peer) if len(peer) > 1 else 0.0}}


def export_predictions(export_dir: Path, texts: list[str], batch: int = 256) -> list[str]:
    """Class names from a text export's `serving_default`, loaded with `tf.saved_model.load` (the SavedModel
    alone, no Python code of ours; this process has imported keras-hub, so this does not show that the export
    loads without `tensorflow_text`: tests/textclf's export tests do)."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    names = []
    for first in range(0, len(texts), batch):
        outputs = serve(text=tf.constant(texts[first:first + batch]))
        names += [name.decode("utf-8") for name in outputs["class_name"].numpy()]
    return names


def unseen_rows_markdown(result: dict, environment: dict, wall_time_s: float, source: str, notes: str = "") -> str:
    """The unseen-rows protocol's summary (`run_unseen_rows`)."""
    summary = result["summary"]
    run = result["folds_run"]
    trained = statistics.mean(row["cli_train_rows"] / row["user_file_rows"] for row in result["per_fold"])
    partial = "" if run == len(result["folds"]) else f"; only the first {run} of {len(result['folds'])} ran"
    lines = ["# Text classification: the CLI's export on rows it never saw", "",
             f"Data: `{source}`. Wall time {wall_time_s / 60:.1f} min on {environment['cpu_count']} CPUs, TensorFlow "
             f"{environment['packages']['tensorflow']}, Keras {environment['packages']['keras']}.", "",
             f"For each of {run} seeded stratified folds (the test-cv folds{partial}), "
             "the other folds' rows are written out as the user's file; `scripts/train_textclf.py --csv <user file>` "
             f"trains on it with its defaults (its own test and validation parts split off: it trains on {trained:.0%} "
             "of the file) and its export (the SavedModel) classifies the fold's rows. The peer, scikit-learn TF-IDF "
             "(word 1-2-grams, sublinear tf) + logistic regression (C=10), is fitted on the whole user's file, and for "
             f"reference on the {trained:.0%} the CLI trained on.", "",
             "| fold | user's file rows | CLI trained on | unseen rows | export accuracy | peer, whole file | "
             "peer, CLI's training part | CLI wall s |", "|---|---|---|---|---|---|---|---|"]
    for row in result["per_fold"]:
        lines.append(f"| {row['fold']} | {row['user_file_rows']} | {row['cli_train_rows']} | {row['unseen_rows']} | "
                     f"{row['export_accuracy']:.4f} | {row['peer_whole_file']['accuracy']:.4f} | "
                     f"{row['peer_cli_train_part']['accuracy']:.4f} | {row['cli_seconds']:.0f} |")
    lines += [f"| mean | | | | **{summary['export_accuracy_mean']:.4f}** ± {summary['export_accuracy_std']:.4f} | "
              f"{summary['peer_whole_file_accuracy_mean']:.4f} ± {summary['peer_whole_file_accuracy_std']:.4f} | "
              f"{summary['peer_cli_train_part_accuracy_mean']:.4f} | |", "",
              f"Export / peer (whole file): **{summary['ratio_to_peer']:.3f}**; the export is ahead on "
              f"{summary['folds_export_beats_peer']} of {run} folds. The unseen rows come from the same file as "
              "the user's file's rows."]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def write_projection_csv(source: data.TextData, rows: int, path: Path, seed: int) -> Path:
    """A `label,text` CSV of `rows` texts made from `source` for speed and memory only: the source rows
    cycled, every copy after the first with its words shuffled (seeded), so the vocabulary grows as a larger
    corpus's would. Its accuracy means nothing (copies of one text land in training and validation)."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        for row in range(rows):
            index = row % len(source)
            words = source.texts[index].split()
            if row >= len(source):
                rng.shuffle(words)
            writer.writerow([source.class_names[source.labels[index]], " ".join(words)])
    return path


def peak_memory_gib() -> float:
    """This process's peak resident memory so far (Linux reports `ru_maxrss` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_projection(source: data.TextData, configs: dict[str, TextConfig], rows: int, seed: int,
                   epochs: int = 2) -> dict:
    """Speed and memory of the full protocol's size, here: a `rows`-row CSV made from `source`
    (`write_projection_csv`) is read as the full protocol reads AG News's train.csv, split 95/5 into train
    and validation as `run_full` does, and every model trains `epochs` epochs on it (its training state in a
    folder of its own, removed after). Writes each model's vocabulary seconds, first epoch's seconds (graph
    tracing and pipeline warm-up included), steady epoch seconds (the mean of the later epochs; fit +
    validation, `ElapsedTime`), projected minutes for its configured epochs, and the process's peak memory
    after it (`ru_maxrss`: it includes the loaded data and every model before it; run one model per process
    for a model's own figure)."""
    if rows < len(source):
        raise UserError(f"--projection-rows {rows}: at least the {len(source)} rows of {source.source}")
    results = {"rows": rows, "epochs_run": epochs, "peak_memory_gib_before": peak_memory_gib(), "models": {}}
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        path = write_projection_csv(source, rows, Path(folder) / "train.csv", seed)
        results["write_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        corpus = data.load_csv(path)
        results["load_seconds"] = time.perf_counter() - started
        parts = data.stratified_split(corpus, {"train": 0.95, "validation": 0.05}, seed)
        results["sizes"] = {name: len(part) for name, part in parts.items()}
        results["peak_memory_gib_loaded"] = peak_memory_gib()
        for name, config in configs.items():
            config = dataclasses.replace(config, csv=str(path), run_dir=str(Path(folder) / "runs"), epochs=epochs,
                                         patience=0, test_curves=False)
            inputs = task.TextInputs(parts)
            started = time.perf_counter()
            inputs.features(config)  # the vocabularies: TextVectorization.adapt (and the TF-IDF bag's)
            vocabulary_seconds = time.perf_counter() - started
            trained = task.fit(config, inputs, extra_callbacks=[ElapsedTime()])
            elapsed = trained.history["elapsed_s"]
            first = elapsed[0]
            steady = (elapsed[-1] - elapsed[0]) / (len(elapsed) - 1) if len(elapsed) > 1 else first
            configured = configs[name].epochs
            results["models"][name] = {
                "vocabulary_seconds": vocabulary_seconds, "first_epoch_seconds": first, "epoch_seconds": steady,
                "train_examples_per_s": len(parts["train"]) / steady, "minutes_per_epoch": steady / 60,
                "configured_epochs": configured,
                "projected_minutes": (vocabulary_seconds + first + (configured - 1) * steady) / 60,
                "vocabulary_size": trained.vectorizer.vocabulary_size(),
                **({"bag_size": trained.features.bag.vocabulary_size()} if trained.features.bag else {}),
                "peak_memory_gib": peak_memory_gib()}
            print(f"  {name}: {steady / 60:.2f} min per epoch over {len(parts['train'])} texts, peak memory "
                  f"{peak_memory_gib():.2f} GiB", flush=True)
            del trained, inputs
    return results


def projection_markdown(result: dict, environment: dict, wall_time_s: float, source: str, notes: str = "") -> str:
    """The full-data projection's summary."""
    lines = ["# Text classification: full-data projection", "",
             f"Made from `{source}`: {result['rows']:,} rows (the source rows cycled, words shuffled in every copy "
             f"after the first; for speed and memory only), split {result['sizes']['train']:,} train / "
             f"{result['sizes']['validation']:,} validation as the full protocol splits AG News's 120,000-row "
             f"train.csv. Each model trains {result['epochs_run']} epoch(s). Wall time {wall_time_s / 60:.1f} min on "
             f"{environment['cpu_count']} CPUs, TensorFlow {environment['packages']['tensorflow']}, Keras "
             f"{environment['packages']['keras']}.", "",
             f"Writing the file {result['write_seconds']:.1f} s, reading it {result['load_seconds']:.1f} s; peak "
             f"memory {result['peak_memory_gib_before']:.2f} GiB before, {result['peak_memory_gib_loaded']:.2f} GiB "
             "with the data loaded.", "",
             "| model | vocabulary s | first epoch s | min per epoch | train texts/s | epochs (configured) | "
             "projected min (vocabulary + epochs) | peak memory GiB |", "|---|---|---|---|---|---|---|---|"]
    for name, values in result["models"].items():
        lines.append(f"| {name} | {values['vocabulary_seconds']:.1f} | {values['first_epoch_seconds']:.0f} | "
                     f"{values['minutes_per_epoch']:.2f} | "
                     f"{values['train_examples_per_s']:.0f} | {values['configured_epochs']} | "
                     f"{values['projected_minutes']:.1f} | {values['peak_memory_gib']:.2f} |")
    lines += ["", "Min per epoch: the mean of the epochs after the first (fit + validation); the first includes graph "
              "tracing and pipeline warm-up. Projected: vocabulary + first epoch + the configured epochs' rest at "
              "the steady rate (early stopping may end a real run sooner; the deep path's calibration on the "
              "validation part is left out). Peak memory is the process's (`ru_maxrss`) after each model, so it "
              "includes the data and every model before it."]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def summarise(results: dict[str, list[dict]], speed: dict) -> dict:
    peer = statistics.mean(fold["accuracy"] for fold in results["tfidf_logreg"])
    summary = {}
    for name, per_fold in results.items():
        accuracy = [fold["accuracy"] for fold in per_fold]
        macro_f1 = [fold["macro_f1"] for fold in per_fold]
        summary[name] = {
            "accuracy_mean": statistics.mean(accuracy),
            "accuracy_std": statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0,
            "macro_f1_mean": statistics.mean(macro_f1),
            "macro_f1_std": statistics.stdev(macro_f1) if len(macro_f1) > 1 else 0.0,
            "ratio_to_peer": statistics.mean(accuracy) / peer,
            "train_seconds_mean": statistics.mean(fold["train_seconds"] for fold in per_fold),
            **({"train_examples_per_s": statistics.mean(fold["train_examples_per_s"] for fold in per_fold)}
               if "train_examples_per_s" in per_fold[0] else {}),
            **speed.get(name, {}),
        }
    return summary


def model_settings(config: dict) -> str:
    """One line of a model's settings (a `TextConfig` as a dict) for the summary."""
    names = models.input_names(config["model"])
    settings = (f"L2 {config['l2']}, label smoothing {config['label_smoothing']}, {config['epochs']} epochs, "
                f"{config['optimizer']} at {config['learning_rate']}")
    if config.get("weight_averaging"):
        settings += f", weights averaged (exponential moving average, momentum {config['weight_averaging']})"
    if "token_ids" in names:  # dropout acts on the token path only (never on a bag)
        settings += (f", dropout {config['dropout']}; tokens: {config['max_tokens']} word 1-{config['ngrams']}-grams, "
                     f"{config['sequence_length']} per text")
    if "token_ids" in names and config.get("pretrain_epochs"):
        settings += (f"; embeddings and attention first pre-trained {config['pretrain_epochs']} epochs to recover "
                     f"masked words of the training texts, where the model has learned positions "
                     f"(textclf.pretraining.can_pretrain; `seed` has not)")
    if "bag" in names:
        characters = f" + character 2-{config['bag_char_ngrams']}-grams" if config["bag_char_ngrams"] else ""
        settings += (f"; TF-IDF bag: word 1-{config['bag_ngrams']}-grams (at most {config['bag_tokens']}){characters}, "
                     f"sublinear tf, rows L2-normalised and scaled by {config['bag_scale']}")
    if "token_ids" in names and "bag" in names:
        settings += (f"; path dropout {config['path_dropout']}; the deep path's inference weight chosen on each "
                     f"fold's validation part (lowest log-loss) among {PATH_WEIGHT_GRID[0]}..{PATH_WEIGHT_GRID[-1]} "
                     f"(step {PATH_WEIGHT_GRID[1]})")
    if "bag" in names and config.get("naive_bayes"):
        settings += (f"; a multinomial naive Bayes path over the bag, counted from the training part, mixed into the "
                     f"probabilities; its smoothing (among {', '.join(map(str, NB_ALPHA_GRID))}, unit-norm TF-IDF "
                     f"units) and mixture weight (among {NB_MIXTURE_GRID[0]}..{NB_MIXTURE_GRID[-1]}, step "
                     f"{NB_MIXTURE_GRID[1]}) chosen with the paths' on the validation part (lowest log-loss)")
    return f"model `{config['model']}`: {settings}."


def markdown(result: dict, environment: dict, wall_time_s: float, source: str, configs: dict | None = None,
             notes: str = "") -> str:
    """The summary; `configs` (name -> `TextConfig` as a dict) adds each model's settings, `notes` a paragraph
    (e.g. which constants were chosen on this benchmark)."""
    protocol = result["protocol"]
    lines = [f"# Text classification benchmark ({protocol})", "", f"Data: `{source}`. Wall time "
             f"{wall_time_s / 60:.1f} min on {environment['cpu_count']} CPUs, TensorFlow "
             f"{environment['packages']['tensorflow']}, Keras {environment['packages']['keras']}.", ""]
    if protocol == "test-cv":
        run = result.get("folds_run", len(result["folds"]))
        partial = f" (only the first {run} of the folds ran)" if run < len(result["folds"]) else ""
        lines += [f"Stratified {len(result['folds'])}-fold cross-validation{partial} over the available rows; "
                  "every model trains on the other folds (10% of them for validation) and is scored on the held-out "
                  "fold. "
                  "**These figures are not comparable to published AG News results**, which train on the "
                  "120,000-row train split and test on 7,600 rows.", ""]
    lines += ["| model | accuracy | macro-F1 | ratio to peer | train s/fold | train ex/s | latency p50/p95 ms "
              "| throughput texts/s |", "|---|---|---|---|---|---|---|---|"]
    for name, values in sorted(result["summary"].items(), key=lambda item: -item[1]["accuracy_mean"]):
        latency = (f"{values['latency_ms_p50']:.1f} / {values['latency_ms_p95']:.1f}"
                   if "latency_ms_p50" in values else "")
        throughput = f"{values['throughput_texts_per_s']:.0f}" if "throughput_texts_per_s" in values else ""
        examples = f"{values['train_examples_per_s']:.0f}" if "train_examples_per_s" in values else ""
        lines.append(f"| {name} | {values['accuracy_mean']:.4f} ± {values['accuracy_std']:.4f} | "
                     f"{values['macro_f1_mean']:.4f} ± {values['macro_f1_std']:.4f} | {values['ratio_to_peer']:.3f} | "
                     f"{values['train_seconds_mean']:.1f} | {examples} | {latency} | {throughput} |")
    lines += ["", "`tfidf_logreg`: scikit-learn TF-IDF (word 1-2-grams, sublinear tf) + logistic regression (C=10), "
              "trained on the same training folds.", ""]
    for name, config in (configs or {}).items():
        lines += [f"`{name}`: {model_settings(config)}", ""]
        weights = [fold["path_weights"][0] for fold in result["per_fold"].get(name, []) if "path_weights" in fold]
        if weights:
            lines += [f"`{name}`'s deep-path weight per fold: {', '.join(f'{weight:.2f}' for weight in weights)}.", ""]
        mixed = [f"{fold['nb_alpha']:g} / {fold['nb_mixture']:.2f}" for fold in result["per_fold"].get(name, [])
                 if "nb_mixture" in fold]
        if mixed:
            lines += [f"`{name}`'s naive Bayes smoothing / mixture weight per fold: {', '.join(mixed)}.", ""]
    if notes:
        lines += [notes, ""]
    return "\n".join(lines)
