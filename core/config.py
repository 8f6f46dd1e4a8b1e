"""Typed run configs: dataclasses that become command-line flags and JSON files.

Each task defines one `@dataclasses.dataclass` whose fields are its hyper-parameters, with the best
measured values as defaults. This module turns such a class into argparse flags (one flag per field,
help text from `field(metadata={"help": ...})`) and saves/loads it as JSON next to models and reports.

Precedence, lowest first: field defaults, a preset the config applies in `__post_init__` (e.g. textclf's
`--variant`), then every value given explicitly (a flag, `--set FIELD=VALUE`, a tuner's hyper-parameter).
`build()` makes a config that way; `from_arguments()` and `load()` use it.
"""

import argparse
import dataclasses
import hashlib
import json
import math
import os
import re
import types
import typing
from pathlib import Path

from core.errors import UserError

_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_model_name(name: str, flag: str = "--name") -> str:
    """`name` if it can be a TF Serving model name and a single folder under saved_models/; else a UserError.
    (A `/` would nest the export where `models.config` and TF Serving's REST paths, /v1/models/NAME, cannot
    reach it; `..` would put it outside.) Every config built by `build` (flags, --set, files) is checked."""
    if not _MODEL_NAME.fullmatch(name or "") or name in (".", ".."):
        raise UserError(f"{flag} {name!r}: a model name is letters, digits, '.', '_' and '-', starting with a "
                        "letter or digit (no '/': it names one folder under saved_models/ and the "
                        "TF Serving model)")
    return name


#: Keras Tuner's tuners, by `scripts/tune.py --tuner` name (here: read before TensorFlow loads).
TUNERS = ("random", "hyperband", "bayesian")


@dataclasses.dataclass
class RunOptions:
    """Where a run writes and how it runs: the fields every task's config shares (they come first)."""

    EXPORT_PREFIX: typing.ClassVar[str] = "model"
    # Fields naming the run's input files or folders: their contents are part of the training-state key.
    DATA_FIELDS: typing.ClassVar[tuple[str, ...]] = ("csv", "data_dir", "data", "labels")

    name: str | None = dataclasses.field(default=None, metadata={
        "help": "export name (default: <task>_<model>)"})
    output_dir: str = dataclasses.field(default="saved_models", metadata={"help": "SavedModel root"})
    reports_dir: str = dataclasses.field(default="reports", metadata={"help": "report root"})
    run_dir: str = dataclasses.field(default="runs", metadata={"help": "training state (BackupAndRestore, logs)"})
    strategy: str = dataclasses.field(default="default", metadata={
        "help": "tf.distribute strategy: default, mirrored (local devices), multiworker (TF_CONFIG cluster)",
        "choices": ["default", "mirrored", "multiworker"]})
    verbose: int = dataclasses.field(default=2, metadata={"help": "Keras fit verbosity (0, 1 or 2)"})
    deterministic: bool = dataclasses.field(default=True, metadata={
        "help": "TensorFlow op determinism: the same command and seed give the same weights "
                "(--no-deterministic: faster on many cores, not repeatable)"})

    def validate(self) -> None:
        """Checks the shared fields (a task's `validate` calls this first): `name` is one folder."""
        if self.name is not None:
            check_model_name(self.name, "--name")

    @property
    def export_name(self) -> str:
        return self.name or f"{self.EXPORT_PREFIX}_{getattr(self, 'model', 'model')}"

    def data_paths(self) -> list[Path]:
        """The existing files/folders named by `DATA_FIELDS` (a tfds name or None is not a path)."""
        paths = []
        for name in self.DATA_FIELDS:
            value = getattr(self, name, None)
            if isinstance(value, (str, Path)) and str(value):
                path = Path(value).expanduser()
                if path.exists():
                    paths.append(path)
        return paths

    def state_dir(self):
        """`run_dir/<export name>_<digest of the settings and the data>`: the BackupAndRestore folder of
        this exact run.

        A run started again with the same settings and the same data resumes there; a run with other
        settings (other classes, model) or other data (the same file name, other contents) never restores
        a backup that is not its own. Output paths and verbosity are left out.
        """
        settings = {key: value for key, value in to_dict(self).items()
                    if key not in {"run_dir", "output_dir", "reports_dir", "verbose", "name"}}
        paths = self.data_paths()
        if paths:
            settings["data_digest"] = data_digest(paths)
        digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]
        return Path(self.run_dir) / f"{self.export_name}_{digest}"


_FILE_DIGESTS: dict[tuple, str] = {}
_FULL_HASH_LIMIT = 256 * 2**20  # bigger files: size, mtime and their first and last 4 MiB


def _file_digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_DIGESTS:
        sha = hashlib.sha1(str(stat.st_size).encode())
        with path.open("rb") as file:
            if stat.st_size <= _FULL_HASH_LIMIT:
                for block in iter(lambda: file.read(2**20), b""):
                    sha.update(block)
            else:
                sha.update(str(stat.st_mtime_ns).encode())
                sha.update(file.read(4 * 2**20))
                file.seek(-4 * 2**20, os.SEEK_END)
                sha.update(file.read())
        _FILE_DIGESTS[key] = sha.hexdigest()
    return _FILE_DIGESTS[key]


def data_digest(paths) -> str:
    """A digest of the contents of data files (size + sha1, cached by size and mtime) and folders (every
    file's relative path, size and mtime: cheap for image folders)."""
    sha = hashlib.sha1()
    for path in paths:
        path = Path(path)
        if path.is_file():
            sha.update(f"file {_file_digest(path)}\n".encode())
        elif path.is_dir():
            for folder, subfolders, files in os.walk(path):
                subfolders.sort()
                for name in sorted(files):
                    file = Path(folder) / name
                    stat = file.stat()
                    sha.update(f"{file.relative_to(path)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return sha.hexdigest()[:12]


def public_fields(config_class) -> list:
    """The dataclass fields a user sets (flags, `--set`, config files): not private (`_name`), not init=False."""
    return [field for field in dataclasses.fields(config_class) if field.init and not field.name.startswith("_")]


def to_dict(config) -> dict:
    """Returns the config as a JSON-friendly dict (paths become strings); private fields are left out."""
    return {key: (str(value) if isinstance(value, Path) else value)
            for key, value in dataclasses.asdict(config).items() if not key.startswith("_")}


def save(config, path) -> None:
    """Writes the config as pretty-printed JSON."""
    Path(path).write_text(json.dumps(to_dict(config), indent=2, sort_keys=True) + "\n")


def load(config_class, path):
    """Reads a config JSON written by `save`; unknown keys are a `UserError`."""
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None
    known = {field.name for field in public_fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"{path}: unknown config fields {unknown}; known fields are {sorted(known)}")
    return build(config_class, **values)


def apply_preset(config, previous: dict, target: dict) -> None:
    """Sets each field of `target` that still holds its `previous` preset value (a field default, for a new
    config) to the `target` value: the one step of every config's `__post_init__` preset (textclf's variants,
    vision's recipes). A value given explicitly and equal to the previous preset's is indistinguishable here;
    `build()` sets explicit values again afterwards, so they always win."""
    for name, value in target.items():
        if getattr(config, name) == previous[name]:
            setattr(config, name, value)


def build(config_class, **values):
    """`config_class(**values)` with every given value winning over the config's preset.

    The constructor applies a preset (its `__post_init__`) to the fields it was not told otherwise; the
    values are then set again with `dataclasses.replace`, which keeps the preset, so that a value given
    explicitly wins even when it equals the field default. Float values must be finite and a `name` must
    be one folder (`check_model_name`).
    """
    check_finite(config_class, values)
    if values.get("name") is not None:
        check_model_name(values["name"])
    config = config_class(**values)
    return dataclasses.replace(config, **values) if values else config


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def check_finite(config_class, values: dict, *, label: str | None = None) -> None:
    """A `UserError` naming the flag for a float field of `config_class` given nan or inf.

    `label` names the value in the message (default: `--flag-name value`).
    """
    hints = typing.get_type_hints(config_class)
    for key, value in values.items():
        if key in hints and flag_type(hints[key]) is float and isinstance(value, (int, float)) \
                and not isinstance(value, bool) and not math.isfinite(value):
            raise UserError(f"{label or f'{flag_name(key)} {value}'}: must be a finite number")


def flag_type(annotation):
    """The argparse `type` for a resolved field annotation (`X | None` -> X)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation


def parse_bool(text: str) -> bool:
    """`1/true/yes/on` or `0/false/no/off` (any case); a ValueError otherwise."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def parse_override(config_class, item: str) -> tuple[str, object]:
    """`field=value` -> (field, value converted to the field's type); a UserError for unknown fields,
    values of the wrong type and non-finite floats."""
    key, _, value = item.partition("=")
    hints = typing.get_type_hints(config_class)
    fields = [field.name for field in public_fields(config_class)]
    if key not in fields:
        raise UserError(f"--set {item}: unknown field {key!r}; fields are {', '.join(fields)}")
    kind = flag_type(hints[key])
    try:
        converted = parse_bool(value) if kind is bool else kind(value)
    except ValueError:
        raise UserError(f"--set {item}: {value!r} is not a valid {kind.__name__}") from None
    check_finite(config_class, {key: converted}, label=f"--set {item}")
    return key, converted


def _mentions_default(help_text: str) -> bool:
    return "default:" in help_text.lower() or "(default" in help_text.lower()


def add_arguments(parser: argparse.ArgumentParser, config_class) -> None:
    """Adds one `--field-name` flag per dataclass field; the help names the field's default.

    Flags the user does not pass are left out of the parsed namespace (`argparse.SUPPRESS`), so that
    `from_arguments` can tell a flag given explicitly from a default.
    """
    hints = typing.get_type_hints(config_class)
    for field in public_fields(config_class):
        flag = flag_name(field.name)
        kind = flag_type(hints[field.name])
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        help_text = field.metadata.get("help", "")
        if not _mentions_default(help_text):
            help_text = f"{help_text} (default: {str(default).replace('%', '%%')})".strip()
        choices = field.metadata.get("choices")
        if kind is bool:
            parser.add_argument(flag, dest=field.name, default=argparse.SUPPRESS,
                                action=argparse.BooleanOptionalAction, help=help_text)
        else:
            parser.add_argument(flag, dest=field.name, type=kind, default=argparse.SUPPRESS, choices=choices,
                                help=help_text)


def from_arguments(config_class, arguments: argparse.Namespace):
    """Builds the config from parsed flags and validates it (`validate()` if the class has one).

    Flags not given take the field defaults (or the preset's values); flags given always win. Float flags
    must be finite (a `UserError` naming the flag, before the config's own checks).
    """
    names = {field.name for field in public_fields(config_class)}
    config = build(config_class, **{key: value for key, value in vars(arguments).items() if key in names})
    if hasattr(config, "validate"):
        config.validate()
    return config


def parse(config_class, description: str, argv=None):
    """Flags -> validated config: one `--field-name` per field of `config_class` (a script's whole CLI)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, config_class)
    return from_arguments(config_class, parser.parse_args(argv))
