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


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "NaN", "Infinity"])
def test_float_flags_reject_nan_and_inf_naming_the_flag(text):
    with pytest.raises(UserError, match=f"--rate {float(text)}: must be a finite number"):
        parse([f"--rate={text}"])
    with pytest.raises(UserError, match=f"--set rate={text}: must be a finite number"):
        config.parse_override(ExampleConfig, f"rate={text}")


def test_nan_hyper_parameters_of_every_task_config_stop_before_any_work():
    from anomaly.config import AnomalyConfig
    from textclf.config import TextConfig

    with pytest.raises(UserError, match="--k nan: must be a finite number"):
        config.parse(AnomalyConfig, "doc", ["--k", "nan"])
    with pytest.raises(UserError, match="--percentile inf: must be a finite number"):
        config.parse(AnomalyConfig, "doc", ["--percentile", "inf"])
    with pytest.raises(UserError, match="--learning-rate nan: must be a finite number"):
        config.parse(TextConfig, "doc", ["--csv", "x.csv", "--learning-rate", "nan"])
    with pytest.raises(UserError, match="--learning-rate inf"):
        config.build(TextConfig, csv="x.csv", learning_rate=float("inf"))


def test_overrides_parse_booleans_by_meaning():
    assert config.parse_override(ExampleConfig, "verbose=false") == ("verbose", False)
    assert config.parse_override(ExampleConfig, "verbose=1") == ("verbose", True)
    with pytest.raises(UserError, match="not a valid bool"):
        config.parse_override(ExampleConfig, "verbose=maybe")


def test_help_names_each_default_once():
    from anomaly.config import AnomalyConfig
    from textclf.config import TextConfig

    for config_class in (AnomalyConfig, TextConfig, ExampleConfig):
        parser = argparse.ArgumentParser()
        config.add_arguments(parser, config_class)
        assert parser.format_help()
        for action in parser._actions[1:]:  # after -h
            assert action.help.count("default:") == 1, (config_class.__name__, action.option_strings, action.help)
    parser = argparse.ArgumentParser()
    config.add_arguments(parser, AnomalyConfig)
    labels_key = next(action for action in parser._actions if "--labels-key" in action.option_strings)
    assert labels_key.help.endswith("(default: its NAB path)")


def test_explicit_flags_win_even_when_equal_to_the_default():
    from textclf.config import TextConfig

    parsed = config.parse(TextConfig, "doc", ["--csv", "x", "--variant", "dropout", "--l2", "1e-4"])
    assert (parsed.dropout, parsed.l2) == (0.1, 1e-4)  # the preset's dropout, the flag's l2
    assert config.parse(TextConfig, "doc", ["--csv", "x", "--variant", "dropout"]).l2 == 0.0


def test_saved_config_loads_back_with_explicit_values_over_the_preset(tmp_path):
    from textclf.config import TextConfig

    original = config.build(TextConfig, csv="x", variant="base", l2=1e-4, dropout=0.3)
    config.save(original, tmp_path / "config.json")
    assert "_preset" not in (tmp_path / "config.json").read_text()
    loaded = config.load(TextConfig, tmp_path / "config.json")
    assert loaded == original and (loaded.l2, loaded.dropout, loaded.variant) == (1e-4, 0.3, "base")


def test_state_dir_is_keyed_by_the_data_contents(tmp_path):
    from textclf.config import TextConfig

    path = tmp_path / "news.csv"
    path.write_text("label,text\na,x\nb,y\n")
    first = TextConfig(csv=str(path), run_dir=str(tmp_path / "runs")).state_dir()
    assert TextConfig(csv=str(path), run_dir=str(tmp_path / "runs")).state_dir() == first
    path.write_text("label,text\na,x\nb,z\n")  # same name and size, other contents
    assert TextConfig(csv=str(path), run_dir=str(tmp_path / "runs")).state_dir() != first
    folder = tmp_path / "images"
    (folder / "cat").mkdir(parents=True)
    (folder / "cat" / "1.jpg").write_bytes(b"x")
    digest = config.data_digest([folder])
    (folder / "cat" / "2.jpg").write_bytes(b"y")
    assert config.data_digest([folder]) != digest
