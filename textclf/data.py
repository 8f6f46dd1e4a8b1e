"""Labelled texts in, validated: AG News's canonical CSVs and any `label,text` CSV.

    data = load_csv("ag_news/test_subset.csv")                # AG News format: class 1-4, title, description
    data = load_csv("reviews.csv")                            # label,text (header optional, labels any strings)
    train, test = load_ag_news_dir("ag_news_csv")             # canonical layout: train.csv, test.csv
    parts = stratified_split(data, {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=0)

Every user mistake is a `UserError` naming the file and line.
"""

import csv
import dataclasses
import re
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from core.errors import UserError

AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]


@dataclasses.dataclass
class TextData:
    """Texts with integer labels 0..N-1 and the class names they index (`lines`: each text's line in its
    file, for messages; None for data not read from a file)."""

    texts: list[str]
    labels: np.ndarray
    class_names: list[str]
    source: str
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> "TextData":
        indices = np.asarray(indices, dtype=int)
        return TextData([self.texts[i] for i in indices], self.labels[indices], self.class_names, self.source,
                        None if self.lines is None else self.lines[indices])

    def where(self, class_index: int, limit: int = 3) -> str:
        """`line 4, 9` (the first lines of a class) or "" without line numbers."""
        if self.lines is None:
            return ""
        found = self.lines[self.labels == class_index][:limit]
        return ("line " if len(found) == 1 else "lines ") + ", ".join(str(line) for line in found)


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(first line, cells) of every non-blank row; a quote left open or other malformed CSV is a
    UserError naming the line."""
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    rows = []
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.reader(file, strict=True)
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                if row:
                    rows.append((start, row))
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            raise UserError(f"{path}: line {start}: a quoted field is never closed (its opening \" runs to "
                            "the end of the file)") from None
        raise UserError(f"{path}: line {reader.line_num}: not valid CSV ({error})") from None
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror})") from None
    if not rows:
        raise UserError(f"{path}: file is empty")
    return rows


def _is_header(cells: list[str]) -> bool:
    """A `label,text` file's optional first row."""
    return [cell.strip().lower() for cell in cells] == ["label", "text"]


def _ag_news_text(title: str, description: str) -> str:
    # AG News writes line breaks inside fields as a literal backslash-n and "\\" before some characters.
    return f"{title}. {description}".replace("\\n", " ").replace("\\", " ")


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def _looks_numeric(value: str) -> bool:
    """Made of digits and signs only, in any script (`²`, `--1`, `١`): meant as a number, but not ASCII."""
    return any(char.isnumeric() for char in value) and all(char.isnumeric() or char in "+-." for char in value)


def load_csv(path, *, class_names: list[str] | None = None, min_classes: int = 2) -> TextData:
    """Reads a labelled CSV: AG News's format (3 columns) or `label,text` (2 columns).

    AG News rows are `class index (1-based), title, description`, no header; the classes are AG News's four
    unless `class_names` says otherwise. `label,text` files may start with a `label,text` header; labels
    that are all integers keep their numeric order, other labels are sorted by name.

    Raises:
        UserError: missing, empty or non-UTF-8 file; a quote never closed or other malformed CSV (its
            line); a row with a different number of columns than the first (its line); a class index
            outside 1..N (its line); an empty label, or a number-like label that is not ASCII digits such
            as `²` or `--1` (its line); an empty text (its line); fewer than `min_classes` classes.
    """
    path = Path(path)
    rows = _rows(path)
    header = _is_header(rows[0][1])
    body = rows[1:] if header else rows
    if not body:
        raise UserError(f"{path}: has a header but no rows")
    lines = np.asarray([line for line, _ in body])
    columns = len(body[0][1])
    if columns not in (2, 3):
        raise UserError(f"{path}: line {body[0][0]}: expected 3 columns (class, title, description) or 2 "
                        f"(label, text), found {columns}")
    for line, row in body:
        if len(row) != columns:
            raise UserError(f"{path}: line {line}: {len(row)} columns, expected {columns} like the first row")

    if columns == 3:
        names = class_names or AG_NEWS_CLASSES
        labels = []
        for line, row in body:
            value = row[0].strip()
            if not _INTEGER.fullmatch(value) or not 1 <= int(value) <= len(names):
                raise UserError(f"{path}: line {line}: class {value!r} is not in 1..{len(names)} "
                                f"({', '.join(names)})")
            labels.append(int(value) - 1)
        texts = [_ag_news_text(row[1], row[2]) for _, row in body]
    else:
        raw = [row[0].strip() for _, row in body]
        for line, value in zip(lines, raw):
            if not value:
                raise UserError(f"{path}: line {line}: the label is empty")
            if _looks_numeric(value) and not _DECIMAL.fullmatch(value):
                raise UserError(f"{path}: line {line}: label {value!r} looks like a number but is not one "
                                "(write labels in ASCII digits, e.g. 2 or -1, or as words)")
        names = class_names or (sorted(set(raw), key=lambda v: (int(v), v))
                                if all(_INTEGER.fullmatch(v) for v in raw) else sorted(set(raw)))
        index = {name: number for number, name in enumerate(names)}
        for line, value in zip(lines, raw):
            if value not in index:
                raise UserError(f"{path}: line {line}: label {value!r} is not one of {names}")
        labels = [index[value] for value in raw]
        texts = [row[1] for _, row in body]
    for line, text in zip(lines, texts):
        if not text.strip(" ."):
            raise UserError(f"{path}: line {line}: the text is empty")
    present = sorted(set(labels))
    if len(present) < min_classes:
        found = ", ".join(repr(names[label]) for label in present)
        raise UserError(f"{path}: {len(body)} rows, all of class {found}: a classifier needs texts of at least "
                        f"{min_classes} classes")
    return TextData(texts, np.asarray(labels, dtype=np.int32), list(names), str(path), lines)


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
    # The test file may hold fewer classes (e.g. a slice); training needs two.
    return (load_csv(data_dir / "train.csv", class_names=names),
            load_csv(data_dir / "test.csv", class_names=names, min_classes=1))


def write_rows(source: TextData, indices, path) -> Path:
    """Writes the CSV rows that `source`'s texts `indices` were read from (the same cells, in the same format,
    after the `label,text` header if the source has one) to `path`: a user's file made from part of another
    (the benchmark's unseen-rows protocol trains the CLI on it)."""
    if source.lines is None:
        raise ValueError("write_rows needs data read from a CSV file (its lines)")
    rows = _rows(Path(source.source))
    by_line = dict(rows)
    header = [rows[0][1]] if _is_header(rows[0][1]) else []
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(header + [by_line[int(line)] for line in source.lines[np.asarray(indices, int)]])
    return path


def stratified_split(data: TextData, fractions: dict[str, float], seed: int) -> dict[str, TextData]:
    """Splits into named parts with the same class mix in each (seeded); fractions must sum to 1.

    Raises:
        UserError: too few texts for the split: a class with fewer texts than there are parts (naming the
            class and its lines), or a part too small to hold one text of every class.
    """
    if abs(sum(fractions.values()) - 1.0) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {fractions}")
    names = list(fractions)
    described = "/".join(names)
    classes, counts = np.unique(data.labels, return_counts=True)
    for class_index, count in zip(classes, counts):
        if count < len(names):
            where = data.where(class_index)
            raise UserError(f"{data.source}: class {data.class_names[class_index]!r} has only {count} "
                            f"text{'s' if count > 1 else ''}{f' ({where})' if where else ''}; a stratified "
                            f"{described} split needs at least {len(names)} texts of every class")
    for name, fraction in fractions.items():
        if len(data) * fraction < len(classes):
            raise UserError(f"{data.source}: {len(data)} texts are too few for a stratified {described} split: "
                            f"the {name} part ({fraction:.0%}, {len(data) * fraction:.1f} texts) cannot hold "
                            f"one text of each of the {len(classes)} classes; add texts or raise "
                            "--validation-fraction/--test-fraction")
    remaining = np.arange(len(data))
    parts, left = {}, 1.0
    for name in names[:-1]:
        share = fractions[name] / left
        try:
            taken, remaining = train_test_split(remaining, train_size=share, random_state=seed,
                                                stratify=data.labels[remaining])
        except ValueError as error:  # sizes the checks above let through, e.g. a class left with 1 text
            raise UserError(f"{data.source}: {len(data)} texts are too few for a stratified {described} split "
                            f"({error}); add texts of the smallest classes") from None
        parts[name] = data.subset(np.sort(taken))
        left -= fractions[name]
    parts[names[-1]] = data.subset(np.sort(remaining))
    return parts
