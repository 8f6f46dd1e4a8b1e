import json

import numpy as np
import pytest

from tests.conftest import run_script
from textclf import benchmark, data


def write_topic_csv(path, rows_per_label: int, seed: int):
    """A label,text CSV of two topics, each text 6 words drawn from its topic's 5."""
    rng = np.random.default_rng(seed)
    topics = {"sport": "goal team match league coach", "money": "bank profit market shares rates"}
    lines = [f"{label},{' '.join(rng.choice(words.split(), size=6))}" for label, words in topics.items()
             for _ in range(rows_per_label)]
    path.write_text("label,text\n" + "\n".join(lines) + "\n")


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


def test_projection_file_cycles_the_rows_with_shuffled_words(tmp_path):
    source = data.TextData(["a b c d", "e f g h", "i j k l"], np.array([0, 1, 0]), ["x", "y"], "test")
    made = data.load_csv(benchmark.write_projection_csv(source, 10, tmp_path / "big.csv", seed=0))
    assert len(made) == 10 and made.texts[:3] == source.texts
    assert [made.class_names[label] for label in made.labels] == ["x", "y", "x"] * 3 + ["x"]
    assert all(sorted(made.texts[row].split()) == sorted(source.texts[row % 3].split()) for row in range(10))
    assert made.texts[3:] != source.texts * 2 + source.texts[:1]  # copies are shuffled, not repeated


def test_projection_end_to_end_writes_speed_and_memory(tmp_path, capsys):
    write_topic_csv(tmp_path / "small.csv", rows_per_label=20, seed=0)
    code, out, err = run_script("benchmark_textclf", ["--csv", str(tmp_path / "small.csv"), "--models", "bag",
                                                      "--projection-rows", "400", "--out", str(tmp_path / "out"),
                                                      "--set", "batch_size=64"], capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "textclf_projection.json").read_text())
    assert summary["rows"] == 400 and summary["sizes"] == {"train": 380, "validation": 20}
    bag = summary["models"]["bag"]
    assert bag["epoch_seconds"] > 0 and bag["configured_epochs"] == 10 and bag["peak_memory_gib"] > 0.1
    assert summary["epochs_run"] == 2 and bag["first_epoch_seconds"] > 0
    assert bag["projected_minutes"] == pytest.approx(
        (bag["vocabulary_seconds"] + bag["first_epoch_seconds"] + 9 * bag["epoch_seconds"]) / 60)
    assert bag["train_examples_per_s"] == pytest.approx(380 / bag["epoch_seconds"])
    markdown = (tmp_path / "out" / "textclf_projection.md").read_text()
    assert "| bag |" in markdown and "380 train / 20 validation" in markdown
    assert not (tmp_path / "out" / "textclf_test_cv.json").exists() and not (tmp_path / "out" / ".runs").exists()


def test_test_cv_end_to_end_writes_each_epochs_validation_accuracy(tmp_path, capsys):
    write_topic_csv(tmp_path / "small.csv", rows_per_label=25, seed=1)
    code, out, err = run_script("benchmark_textclf", ["--csv", str(tmp_path / "small.csv"), "--models", "bag",
                                                      "--max-folds", "1", "--epochs", "2", "--tag", "_tiny",
                                                      "--out", str(tmp_path / "out"), "--set", "batch_size=16"],
                                capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "out" / "textclf_test_cv_tiny.json").read_text())
    (bag,) = result["per_fold"]["bag"]
    curve = bag["validation_accuracy_per_epoch"]
    assert len(curve) == bag["epochs"] == 2 and all(0.0 <= value <= 1.0 for value in curve)


@pytest.mark.parametrize("header", ["label,text\n", ""])
def test_write_rows_copies_the_source_rows_as_written(tmp_path, header):
    source = tmp_path / "source.csv"
    source.write_text(header + 'sport,"goal, team"\nmoney,bank profit\n\nsport,coach league\nmoney,"rates ""up"""\n')
    whole = data.load_csv(source)
    copy = data.load_csv(data.write_rows(whole, [3, 0], tmp_path / "copy.csv"))
    assert copy.texts == ['rates "up"', "goal, team"]
    assert [copy.class_names[label] for label in copy.labels] == ["money", "sport"]
    assert (tmp_path / "copy.csv").read_text().startswith(header + "money,")


def test_write_rows_keeps_ag_news_rows_and_their_classes(tmp_path):
    source = tmp_path / "ag.csv"
    source.write_text('"3","Stocks up","Markets rallied."\n"2","Cup final","A late goal."\n')
    whole = data.load_csv(source)
    copy = data.load_csv(data.write_rows(whole, [1], tmp_path / "copy.csv"), min_classes=1)
    assert copy.texts == ["Cup final. A late goal."] and copy.class_names[copy.labels[0]] == "Sports"
    with pytest.raises(ValueError, match="needs data read from a CSV"):
        data.write_rows(data.TextData(["a"], np.array([0]), ["x"], "made"), [0], tmp_path / "no.csv")


def test_unseen_rows_trains_the_cli_and_scores_its_export_on_the_held_back_fold(tmp_path, capsys):
    write_topic_csv(tmp_path / "small.csv", rows_per_label=40, seed=2)
    code, out, err = run_script("benchmark_textclf", ["--csv", str(tmp_path / "small.csv"), "--unseen-rows",
                                                      "--folds", "4", "--max-folds", "1",
                                                      "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "out" / "textclf_unseen_rows.json").read_text())
    (fold,) = result["per_fold"]
    assert fold["user_file_rows"] == 60 and fold["unseen_rows"] == 20 and fold["cli_train_rows"] < 60
    assert fold["cli_summary"].startswith("test: accuracy")  # the CLI's own summary line: it really ran
    assert fold["export_accuracy"] >= 0.9 and fold["peer_whole_file"]["accuracy"] == 1.0  # two separable topics
    assert result["summary"]["ratio_to_peer"] == pytest.approx(fold["export_accuracy"])
    assert result["cli_defaults"]["model"] == "wide_deep"
    assert "| 1 | 60 |" in (tmp_path / "out" / "textclf_unseen_rows.md").read_text()


@pytest.mark.parametrize("arguments, message", [
    (["--data-dir", "."], "--unseen-rows needs --csv"),
    (["--csv", "small.csv", "--models", "bag"], "--models, --variants, --set and --epochs do not apply"),
    (["--csv", "small.csv", "--epochs", "3"], "do not apply"),
])
def test_unseen_rows_takes_the_clis_defaults_from_one_csv(tmp_path, capsys, arguments, message):
    write_topic_csv(tmp_path / "small.csv", rows_per_label=10, seed=0)
    arguments = [str(tmp_path / value) if value in (".", "small.csv") else value for value in arguments]
    code, out, err = run_script("benchmark_textclf", [*arguments, "--unseen-rows", "--out", str(tmp_path / "out")],
                                capsys)
    assert code == 2 and message in err and not (tmp_path / "out").exists()
