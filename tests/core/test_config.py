import argparse
import dataclasses

import pytest

from core import config
from core.errors import UserError


@dataclasses.dataclass
class ExampleConfig:
    epochs: int = dataclasses.field(default=3, metadata={"help": "epochs"})
    rate: float = 0.1
    name: str | None = None
    verbose: bool = False
    mode: str = dataclasses.field(default="a", metadata={"choices": ["a", "b"]})

    def validate(self):
        if self.epochs < 1:
            raise UserError("--epochs must be positive")


def parse(argv):
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, ExampleConfig)
    return config.from_arguments(ExampleConfig, parser.parse_args(argv))


def test_flags_default_to_field_defaults():
    assert parse([]) == ExampleConfig()


def test_flags_set_typed_values():
    parsed = parse(["--epochs", "7", "--rate", "0.5", "--name", "x", "--verbose", "--mode", "b"])
    assert parsed == ExampleConfig(epochs=7, rate=0.5, name="x", verbose=True, mode="b")


def test_choices_are_enforced():
    with pytest.raises(SystemExit):
        parse(["--mode", "c"])


def test_validate_runs_on_parsed_flags():
    with pytest.raises(UserError, match="--epochs"):
        parse(["--epochs", "0"])


def test_save_and_load_round_trip(tmp_path):
    original = ExampleConfig(epochs=5, name="run")
    config.save(original, tmp_path / "config.json")
    assert config.load(ExampleConfig, tmp_path / "config.json") == original


def test_load_rejects_unknown_fields(tmp_path):
    (tmp_path / "config.json").write_text('{"epochs": 2, "colour": "red"}')
    with pytest.raises(UserError, match="colour"):
        config.load(ExampleConfig, tmp_path / "config.json")


def test_overrides_are_typed_and_checked():
    assert config.parse_override(ExampleConfig, "rate=0.25") == ("rate", 0.25)
    assert config.parse_override(ExampleConfig, "name=x") == ("name", "x")
    with pytest.raises(UserError, match="unknown field 'colour'"):
        config.parse_override(ExampleConfig, "colour=red")
    with pytest.raises(UserError, match="'many' is not a valid int"):
        config.parse_override(ExampleConfig, "epochs=many")


def test_parse_builds_a_validated_config_from_flags():
    assert config.parse(ExampleConfig, "doc", ["--epochs", "4"]) == ExampleConfig(epochs=4)
    with pytest.raises(UserError):
        config.parse(ExampleConfig, "doc", ["--epochs", "0"])


def test_state_dir_is_per_settings_not_per_output_paths():
    from vision.config import VisionConfig

    base = VisionConfig(data="images", classes="a,b")
    assert base.state_dir() == VisionConfig(data="images", classes="a,b", verbose=0, output_dir="x").state_dir()
    assert base.state_dir() != VisionConfig(data="images", classes="a,b,c").state_dir()
    assert base.state_dir().parent.name == "runs" and base.state_dir().name.startswith("vision_resnet_")
