"""Hostile inputs through scripts/benchmark_vision.py (in-process `main(argv)`, in a temporary working
directory): one `error: ...` line naming the flag or the data, exit code 2, before any training, and nothing
written (no benchmarks/ results, no .runs state)."""

from pathlib import Path

import pytest

from tests.conftest import run_script
from tests.vision.images import make_tree, png_bomb

CASES = {
    "unknown setting": (["--settings", "nope"], "--settings: 'nope' is unknown; settings are cifar10, cifar3"),
    "efficiency steps": (["--efficiency-steps", "-1"], "--efficiency-steps must be >= 0 (>= 1 with --efficiency-only "
                                                       "or --precision-only), got -1"),
    "efficiency only, no steps": (["--efficiency-only"], "--efficiency-steps must be >= 0 (>= 1 with"),
    "precision only, no steps": (["--precision-only"], "--efficiency-steps must be >= 0 (>= 1 with"),
    "both timing modes": (["--precision-only", "--efficiency-only"], "--efficiency-only and --precision-only: "
                                                                     "choose one"),
    "set nan": (["--set", "dropout=nan"], "--set dropout=nan: must be a finite number"),
    "set inf": (["--set", "learning_rate=inf"], "--set learning_rate=inf: must be a finite number"),
    "set unknown field": (["--set", "colour=red"], "unknown field 'colour'"),
    "set bad int": (["--set", "batch_size=big"], "--set batch_size=big: 'big' is not a valid int"),
    "set nested name": (["--set", "name=a/b"], "--name 'a/b'"),
    "set image size": (["--set", "image_size=4"], "--image-size must be in 8..1024"),
    "epochs 0": (["--epochs", "0"], "--epochs, --batch-size, --learning-rate must be positive"),
    "max per class 1": (["--max-per-class", "1"], "--max-per-class must be at least 2, got 1"),
    "missing data": (["--data", "nowhere"], "--data 'nowhere': no such directory or zip file"),
    "unknown model": (["--models", "vgg,alexnet"], "unknown vision model 'alexnet'"),
    "cifar3 classes missing": (["--settings", "cifar3"], "--classes dog, automobile, truck not found; the classes "
                                                         "are blue, green, red"),
    "one class": (["--data", "one_class"], "a classifier needs at least two class folders"),
    "only bombs in a class": (["--data", "bombs"], "class 'bombs' has no decodable images"),
}


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """The image trees, made once (the bombs take a moment to write); each test links them into its folder."""
    root = tmp_path_factory.mktemp("trees")
    make_tree(root / "images", per_class=6)
    make_tree(root / "one_class", per_class=6, classes=("red",))
    make_tree(root / "bombs", per_class=6, classes=("red", "green"))
    (root / "bombs" / "bombs").mkdir()
    for index in range(3):
        (root / "bombs" / "bombs" / f"{index}.png").write_bytes(png_bomb(20_000, 20_000))
    return root


@pytest.mark.parametrize("case", list(CASES))
def test_benchmark_vision_refuses_bad_input_in_one_line_and_writes_nothing(trees, tmp_path, monkeypatch, capsys,
                                                                            case):
    for name in ("images", "one_class", "bombs"):
        (tmp_path / name).symlink_to(trees / name)
    monkeypatch.chdir(tmp_path)
    extra, expected = CASES[case]
    argv = ["--data", "images", "--settings", "cifar10", "--models", "vgg", "--epochs", "1",
            "--efficiency-steps", "0", *extra]  # a later --data/--settings/--models wins
    code, out, err = run_script("benchmark_vision", argv, capsys)
    assert code == 2, err[-2000:]
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err[-2000:]
    assert expected in err, err
    assert {path.name for path in tmp_path.iterdir()} == {"images", "one_class", "bombs"}  # no benchmarks/


def test_efficiency_only_measures_every_family_and_trains_nothing(trees, tmp_path, monkeypatch, capsys):
    import json

    (tmp_path / "images").symlink_to(trees / "images")
    monkeypatch.chdir(tmp_path)
    argv = ["--data", "images", "--settings", "cifar10", "--models", "vgg", "--efficiency-only",
            "--efficiency-steps", "2", "--set", "batch_size=4", "--set", "image_size=16"]
    code, out, err = run_script("benchmark_vision", argv, capsys)
    assert code == 0, err[-2000:]
    results = Path("benchmarks/results")
    summary = json.loads((results / "vision_pipeline_efficiency.json").read_text())
    vgg = summary["settings"]["cifar10"]["vgg"]
    assert vgg["ratio"] == pytest.approx(vgg["real_steps_per_s"] / vgg["synthetic_steps_per_s"])
    assert min(vgg[key] for key in ("no_augmentation_steps_per_s", "in_memory_steps_per_s")) > 0
    assert summary["rounds"] == 3 and summary["steps"] == 2 and summary["configs"]["vgg"]["batch_size"] == 4
    assert "| vgg | 4 |" in (results / "vision_pipeline_efficiency.md").read_text()
    assert not list(results.glob("vision_benchmark*")) and not (results / ".runs").exists()  # nothing trained


def test_precision_only_times_both_precisions_and_reads_no_data(tmp_path, monkeypatch, capsys):
    import json

    monkeypatch.chdir(tmp_path)  # no images here: --data is never read
    argv = ["--data", "nowhere", "--models", "vgg", "--precision-only", "--efficiency-steps", "2",
            "--set", "batch_size=4", "--set", "image_size=16"]
    code, out, err = run_script("benchmark_vision", argv, capsys)
    assert code == 0, err[-2000:]
    results = Path("benchmarks/results")
    summary = json.loads((results / "vision_precision_speed.json").read_text())
    vgg = summary["models"]["vgg"]
    assert set(vgg["images_per_s"]) == {"float32", "mixed_bfloat16"}  # no GPU in the tests
    assert all(len(rounds) == 3 for rounds in vgg["round_images_per_s"].values())
    assert vgg["images_per_s"]["float32"] == max(vgg["round_images_per_s"]["float32"]) > 0
    assert vgg["speedup"] == pytest.approx(vgg["images_per_s"]["mixed_bfloat16"] / vgg["images_per_s"]["float32"])
    assert vgg["faster"] in vgg["images_per_s"] and vgg["auto"] in ("float32", "mixed_bfloat16")
    assert summary["image_shape"] == [16, 16, 3] and summary["configs"]["vgg"]["batch_size"] == 4
    assert "| vgg | 4 |" in (results / "vision_precision_speed.md").read_text()
    assert not list(results.glob("vision_benchmark*")) and not (results / ".runs").exists()  # nothing trained


def test_each_family_trains_on_the_split_its_recipe_sets(tmp_path):
    """The airbench recipe's 4 % validation is not the default 10 %: the benchmark loads one split per distinct
    data option (vgg and resnet share one), so each family sees what `train_vision.py --model ...` gives it."""
    import importlib.util

    from tests.conftest import REPO
    from vision import benchmark

    spec = importlib.util.spec_from_file_location("script_benchmark_vision", REPO / "scripts" / "benchmark_vision.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    make_tree(tmp_path / "images", per_class=40)
    configs = benchmark.configs_for(["vgg", "vgg_airbench", "resnet"], {"data": str(tmp_path / "images")})
    groups = script.load_groups(configs, "red,green")
    assert [sorted(group) for _, group in groups] == [["resnet", "vgg"], ["vgg_airbench"]]
    sizes = [{name: len(part) for name, part in parts.items()} for parts, _ in groups]
    assert sizes == [{"train": 64, "validation": 8, "test": 8}, {"train": 69, "validation": 3, "test": 8}]
    assert groups[0][0]["train"].class_names == ["red", "green"]  # the setting's classes, not every colour


def test_the_benchmark_trains_each_family_on_its_own_split_end_to_end(tmp_path, monkeypatch, capsys):
    """The whole training path of the script, one epoch of two tiny families whose recipes split differently:
    per-family sizes in the JSON and the summary, the curves, TTA and serving figures."""
    import json

    make_tree(tmp_path / "images", per_class=40)
    monkeypatch.chdir(tmp_path)
    argv = ["--data", "images", "--settings", "cifar10", "--models", "vgg,vgg_airbench", "--epochs", "1",
            "--efficiency-steps", "0", "--set", "batch_size=8", "--set", "image_size=16"]
    code, out, err = run_script("benchmark_vision", argv, capsys)
    assert code == 0, err[-2000:]
    results = Path("benchmarks/results")
    models = json.loads((results / "vision_benchmark.json").read_text())["settings"]["cifar10"]["models"]
    assert models["vgg"]["sizes"] == {"train": 97, "validation": 11, "test": 12}
    assert models["vgg_airbench"]["sizes"] == {"train": 103, "validation": 5, "test": 12}
    for values in models.values():
        assert values["epochs"] == 1 and len(values["time_to_accuracy"]["test_accuracy"]) == 1
        assert 0 <= values["accuracy"] <= 1 and 0 <= values["accuracy_tta"] <= 1 and values["pipeline"] is None
        assert values["throughput_images_per_s"] > 0
    assert ("train 97, validation 11, test 12 images (vgg); train 103, validation 5, test 12 images (vgg_airbench)"
            in (results / "vision_benchmark.md").read_text())
