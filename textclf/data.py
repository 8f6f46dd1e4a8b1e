"""Labelled texts in, validated: AG News's canonical CSVs and any `label,text` CSV.

    data = load_csv("ag_news/test_subset.csv")                # AG News format: class 1-4, title, description
    data = load_csv("reviews.csv")                            # label,text (header optional, labels any strings)
    train, test = load_ag_news_dir("ag_news_csv")             # canonical layout: train.csv, test.csv
    parts = stratified_split(data, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=0)

Every user mistake is a `UserError` naming the file and line.
"""

import csv
import dataclasses
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from core.errors import UserError

AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]


@dataclasses.dataclass
class TextData:
    """Texts with integer labels 0..N-1 and the class names they index."""

    texts: list[str]
    labels: np.ndarray
    class_names: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> "TextData":
        return TextData([self.texts[i] for i in indices], self.labels[indices], self.class_names, self.source)


def _rows(path: Path) -> list[list[str]]:
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    try:
        with path.open(newline="", encoding="utf-8") as file:
            rows = [row for row in csv.reader(file) if row]
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise UserError(f"{path}: not a readable CSV file ({error})") from None
    if not rows:
        raise UserError(f"{path}: file is empty")
    return rows


def _ag_news_text(title: str, description: str) -> str:
    # AG News writes line breaks inside fields as a literal backslash-n and "\\" before some characters.
    return f"{title}. {description}".replace("\\n", " ").replace("\\", " ")


def load_csv(path, *, class_names: list[str] | None = None) -> TextData:
    """Reads a labelled CSV: AG News's format (3 columns) or `label,text` (2 columns).

    AG News rows are `class index (1-based), title, description`, no header; the classes are AG News's four
    unless `class_names` says otherwise. `label,text` files may start with a `label,text` header; labels
    that are all integers keep their numeric order, other labels are sorted by name.

    Raises:
        UserError: missing, empty or non-UTF-8 file; a row with a different number of columns than the
            first (its line); a class index outside 1..N (its line); an empty text (its line).
    """
    path = Path(path)
    rows = _rows(path)
    header = [cell.strip().lower() for cell in rows[0]] == ["label", "text"]
    first_line = 2 if header else 1
    body = rows[1:] if header else rows
    if not body:
        raise UserError(f"{path}: has a header but no rows")
    columns = len(body[0])
    if columns not in (2, 3):
        raise UserError(f"{path}: line {first_line}: expected 3 columns (class, title, description) or 2 "
                        f"(label, text), found {columns}")
    for offset, row in enumerate(body):
        if len(row) != columns:
            raise UserError(f"{path}: line {first_line + offset}: {len(row)} columns, expected {columns} "
                            "like the first row")

    if columns == 3:
        names = class_names or AG_NEWS_CLASSES
        labels = []
        for offset, row in enumerate(body):
            value = row[0].strip()
            if not value.isdigit() or not 1 <= int(value) <= len(names):
                raise UserError(f"{path}: line {first_line + offset}: class {value!r} is not in "
                                f"1..{len(names)} ({', '.join(names)})")
            labels.append(int(value) - 1)
        texts = [_ag_news_text(row[1], row[2]) for row in body]
    else:
        raw = [row[0].strip() for row in body]
        names = class_names or (sorted(set(raw), key=int) if all(v.lstrip("-").isdigit() for v in raw)
                                else sorted(set(raw)))
        index = {name: number for number, name in enumerate(names)}
        for offset, value in enumerate(raw):
            if value not in index:
                raise UserError(f"{path}: line {first_line + offset}: label {value!r} is not one of {names}")
        labels = [index[value] for value in raw]
        texts = [row[1] for row in body]
    for offset, text in enumerate(texts):
        if not text.strip(" ."):
            raise UserError(f"{path}: line {first_line + offset}: the text is empty")
    return TextData(texts, np.asarray(labels, dtype=np.int32), list(names), str(path))


def load_ag_news_dir(data_dir) -> tuple[TextData, TextData]:
    """AG News in its canonical layout: `train.csv` and `test.csv` (and optionally `classes.txt`)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise UserError(f"{data_dir}: data folder not found")
    missing = [name for name in ("train.csv", "test.csv") if not (data_dir / name).is_file()]
    if missing:
        raise UserError(f"{data_dir}: no {' or '.join(missing)}; AG News's canonical archive (ag_news_csv) "
                        "has both (online: tfds 'ag_news_subset'); or pass --csv FILE for one labelled file")
    classes_file = data_dir / "classes.txt"
    names = [line.strip() for line in classes_file.read_text().splitlines() if line.strip()] \
        if classes_file.is_file() else None
    return load_csv(data_dir / "train.csv", class_names=names), load_csv(data_dir / "test.csv", class_names=names)


def stratified_split(data: TextData, fractions: dict[str, float], seed: int) -> dict[str, TextData]:
    """Splits into named parts with the same class mix in each (seeded); fractions must sum to 1."""
    if abs(sum(fractions.values()) - 1.0) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {fractions}")
    remaining = np.arange(len(data))
    parts, left = {}, 1.0
    names = list(fractions)
    for name in names[:-1]:
        share = fractions[name] / left
        taken, remaining = train_test_split(remaining, train_size=share, random_state=seed,
                                            stratify=data.labels[remaining])
        parts[name] = data.subset(np.sort(taken))
        left -= fractions[name]
    parts[names[-1]] = data.subset(np.sort(remaining))
    return parts
