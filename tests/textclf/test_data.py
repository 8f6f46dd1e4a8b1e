import numpy as np
import pytest

from core.errors import UserError
from tests.conftest import SHARED_DATA
from textclf import data


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_ag_news_format(tmp_path):
    path = write(tmp_path / "ag.csv", '"3","Stocks rally","Shares \\\\rose"\n"1","War","A line\\nbreak"\n')
    loaded = data.load_csv(path)
    assert loaded.class_names == data.AG_NEWS_CLASSES
    assert loaded.labels.tolist() == [2, 0]
    assert loaded.texts[1] == "War. A line break"


def test_label_text_format_with_header_and_string_labels(tmp_path):
    path = write(tmp_path / "own.csv", 'label,text\npos,"great, really"\nneg,bad\npos,fine\n')
    loaded = data.load_csv(path)
    assert loaded.class_names == ["neg", "pos"] and loaded.labels.tolist() == [1, 0, 1]
    assert loaded.texts[0] == "great, really"


def test_integer_labels_keep_numeric_order(tmp_path):
    loaded = data.load_csv(write(tmp_path / "n.csv", "10,a\n2,b\n"))
    assert loaded.class_names == ["2", "10"] and loaded.labels.tolist() == [1, 0]


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ("", "file is empty"),
    ("label,text\n", "has a header but no rows"),
    ('"1","t","d"\n"2","t"\n', "line 2: 2 columns, expected 3"),
    ('"1","t","d"\n"5","t","d"\n', "line 2: class '5' is not in 1..4"),
    ('"1","t","d"\n"x","t","d"\n', "line 2: class 'x' is not in 1..4"),
    ("a\n", "line 1: expected 3 columns"),
    ("label,text\npos,ok\nneg,  \n", "line 3: the text is empty"),
])
def test_bad_csv_is_a_user_error_naming_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        write(path, content)
    with pytest.raises(UserError) as error:
        data.load_csv(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_non_utf8_is_a_user_error(tmp_path):
    path = write(tmp_path / "latin.csv", "label,text\npos,caf\xe9\n", encoding="latin-1")
    with pytest.raises(UserError, match="not UTF-8"):
        data.load_csv(path)


def test_canonical_dir_needs_train_and_test(tmp_path):
    with pytest.raises(UserError, match="no train.csv or test.csv"):
        data.load_ag_news_dir(tmp_path)
    write(tmp_path / "train.csv", '"1","a","b"\n"2","c","d"\n')
    write(tmp_path / "test.csv", '"2","e","f"\n')
    train, test = data.load_ag_news_dir(tmp_path)
    assert len(train) == 2 and test.labels.tolist() == [1]


def test_stratified_split_is_seeded_disjoint_and_balanced():
    labels = np.repeat(np.arange(4), 100)
    texts = [f"text {i}" for i in range(400)]
    whole = data.TextData(texts, labels, ["a", "b", "c", "d"], "test")
    parts = data.stratified_split(whole, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=3)
    again = data.stratified_split(whole, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=3)
    assert {name: len(part) for name, part in parts.items()} == {"train": 320, "validation": 40, "test": 40}
    assert parts["test"].texts == again["test"].texts
    assert not set(parts["train"].texts) & set(parts["test"].texts)
    assert np.bincount(parts["test"].labels).tolist() == [10, 10, 10, 10]


def test_real_ag_news_subset_loads():
    path = SHARED_DATA / "ag_news" / "test_subset.csv"
    if not path.is_file():
        pytest.skip(f"real AG News subset not found at {path}")
    loaded = data.load_csv(path)
    assert len(loaded) == 6600 and np.bincount(loaded.labels).tolist() == [1650] * 4
    assert all("\\" not in text for text in loaded.texts)


@pytest.mark.parametrize("content, message", [
    ("label,text\npos,a\npos,b\npos,c\n", "3 rows, all of class 'pos': a classifier needs texts of at least 2"),
    ('"2","t","d"\n"2","u","e"\n', "2 rows, all of class 'Sports'"),
    ('label,text\npos,a\nneg,"open\npos,b\n', "line 3: a quoted field is never closed"),
    ('label,text\npos,"a"b\n', "line 2: not valid CSV"),
    ("label,text\n1,a\n\u00b2,b\n", "line 3: label '\u00b2' looks like a number but is not one"),
    ("label,text\n1,a\n--1,b\n", "line 3: label '--1' looks like a number"),
    ('"1","t","d"\n"\u00b2","t","d"\n', "line 2: class '\u00b2' is not in 1..4"),
    ('"1","t","d"\n"--1","t","d"\n', "line 2: class '--1' is not in 1..4"),
    ('"1","t","d"\n"++1","t","d"\n', "line 2: class '++1' is not in 1..4"),
    ("label,text\na,x\n,y\n", "line 3: the label is empty"),
    ('label,text\na,"two\nlines"\n\nb,x,y\n', "line 5: 3 columns"),  # lines count quoted breaks and blanks
])
def test_more_bad_csv_is_a_user_error_naming_file_and_line(tmp_path, content, message):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(UserError) as error:
        data.load_csv(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_number_labels_in_ascii_and_decimal_labels_load(tmp_path):
    loaded = data.load_csv(write(tmp_path / "n.csv", "label,text\n-1,a\n1,b\n2.5,c\n"))
    assert loaded.class_names == ["-1", "1", "2.5"]
    loaded = data.load_csv(write(tmp_path / "m.csv", "label,text\n-1,a\n10,b\n2,c\n"))
    assert loaded.class_names == ["-1", "2", "10"] and loaded.lines.tolist() == [2, 3, 4]


def _data(counts: dict[str, int]) -> data.TextData:
    labels = np.concatenate([np.full(count, index) for index, count in enumerate(counts.values())])
    return data.TextData([f"t{i}" for i in range(len(labels))], labels.astype(np.int32), list(counts), "f.csv",
                         np.arange(2, len(labels) + 2))


@pytest.mark.parametrize("counts, fractions, message", [
    ({"a": 20, "b": 1}, {"train": 0.8, "validation": 0.1, "test": 0.1}, "class 'b' has only 1 text (line 22)"),
    ({"a": 3, "b": 3}, {"train": 0.8, "validation": 0.1, "test": 0.1}, "6 texts are too few for a stratified"),
    ({"a": 30, "b": 1}, {"train": 0.9, "validation": 0.1}, "a stratified train/validation split needs at least 2"),
    ({"a": 20, "b": 3}, {"train": 0.8, "validation": 0.1, "test": 0.1}, "23 texts are too few for a stratified"),
])
def test_too_small_a_split_is_a_user_error_naming_the_file(counts, fractions, message):
    with pytest.raises(UserError) as error:
        data.stratified_split(_data(counts), fractions, seed=0)
    assert message in str(error.value) and str(error.value).startswith("f.csv: ")


def test_the_smallest_splittable_file_splits():
    parts = data.stratified_split(_data({"a": 15, "b": 15}), {"train": 0.8, "validation": 0.1, "test": 0.1}, 0)
    assert [len(set(part.labels)) for part in parts.values()] == [2, 2, 2]
    assert sorted(np.concatenate([part.lines for part in parts.values()]).tolist()) == list(range(2, 32))
