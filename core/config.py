"""Typed run configs: dataclasses that become command-line flags and JSON files.

Each task defines one `@dataclasses.dataclass` whose fields are its hyper-parameters, with the best
measured values as defaults. This module turns such a class into argparse flags (one flag per field,
help text from `field(metadata={"help": ...})`) and saves/loads it as JSON next to models and reports.
"""

import argparse
import dataclasses
import json
import types
import typing
from pathlib import Path

from core.errors import UserError


@dataclasses.dataclass
class RunOptions:
    """Where a run writes and how it runs: the fields every task's config shares (they come first)."""

    EXPORT_PREFIX: typing.ClassVar[str] = "model"

    name: str | None = dataclasses.field(default=None, metadata={
        "help": "export name (default: <task>_<model>)"})
    output_dir: str = dataclasses.field(default="saved_models", metadata={"help": "SavedModel root"})
    reports_dir: str = dataclasses.field(default="reports", metadata={"help": "report root"})
    run_dir: str = dataclasses.field(default="runs", metadata={"help": "training state (BackupAndRestore, logs)"})
    strategy: str = dataclasses.field(default="default", metadata={
        "help": "tf.distribute strategy: default, mirrored (local devices), multiworker (TF_CONFIG cluster)",
        "choices": ["default", "mirrored", "multiworker"]})
    verbose: int = dataclasses.field(default=2, metadata={"help": "Keras fit verbosity (0, 1 or 2)"})

    @property
    def export_name(self) -> str:
        return self.name or f"{self.EXPORT_PREFIX}_{getattr(self, 'model', 'model')}"

    def state_dir(self):
        """`run_dir/<export name>_<digest of the settings>`: the BackupAndRestore folder of this exact run.

        A run started again with the same settings resumes there; a run with other settings (other classes,
        model or data) never restores a backup that is not its own. Output paths and verbosity are left out.
        """
        import hashlib
        import json

        settings = {key: value for key, value in to_dict(self).items()
                    if key not in {"run_dir", "output_dir", "reports_dir", "verbose", "name"}}
        digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]
        return Path(self.run_dir) / f"{self.export_name}_{digest}"


def to_dict(config) -> dict:
    """Returns the config as a JSON-friendly dict (paths become strings)."""
    return {key: (str(value) if isinstance(value, Path) else value)
            for key, value in dataclasses.asdict(config).items()}


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
    known = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"{path}: unknown config fields {unknown}; known fields are {sorted(known)}")
    return config_class(**values)


def flag_type(annotation):
    """The argparse `type` for a resolved field annotation (`X | None` -> X)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation


def parse_override(config_class, item: str) -> tuple[str, object]:
    """`field=value` -> (field, value converted to the field's type); a UserError for unknown fields."""
    key, _, value = item.partition("=")
    hints = typing.get_type_hints(config_class)
    if key not in hints:
        raise UserError(f"{item}: unknown field {key!r}; fields are {', '.join(hints)}")
    try:
        return key, flag_type(hints[key])(value)
    except ValueError:
        raise UserError(f"{item}: {value!r} is not a valid {flag_type(hints[key]).__name__}") from None


def add_arguments(parser: argparse.ArgumentParser, config_class) -> None:
    """Adds one `--field-name` flag per dataclass field, defaulting to the field's default."""
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        flag = "--" + field.name.replace("_", "-")
        kind = flag_type(hints[field.name])
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        help_text = field.metadata.get("help", "")
        choices = field.metadata.get("choices")
        if kind is bool:
            parser.add_argument(flag, dest=field.name, default=default,
                                action=argparse.BooleanOptionalAction, help=help_text)
        else:
            parser.add_argument(flag, dest=field.name, type=kind, default=default, choices=choices,
                                help=f"{help_text} (default: {default})")


def from_arguments(config_class, arguments: argparse.Namespace):
    """Builds the config from parsed flags and validates it (`validate()` if the class has one)."""
    names = {field.name for field in dataclasses.fields(config_class)}
    config = config_class(**{key: value for key, value in vars(arguments).items() if key in names})
    if hasattr(config, "validate"):
        config.validate()
    return config


def parse(config_class, description: str, argv=None):
    """Flags -> validated config: one `--field-name` per field of `config_class` (a script's whole CLI)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, config_class)
    return from_arguments(config_class, parser.parse_args(argv))
