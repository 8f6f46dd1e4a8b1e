"""core/runner.py: one lifecycle for every task (seeding, determinism, strategy scope, state folder,
chief-only report and export), and the bugs the three copies of it had."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest

from anomaly import task as anomaly_task
from anomaly.config import AnomalyConfig
from core import callbacks, runner
from core.errors import UserError
from textclf import task as text_task
from textclf.config import TextConfig
from vision import task as vision_task
from vision.config import VisionConfig

REPO = Path(__file__).resolve().parents[2]


def _weights(model):
    return [np.asarray(weight) for weight in model.weights]


def _news_csv(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    words = {"sport": "match goal team win league coach".split(), "money": "stock market bank profit trade".split()}
    rows = [f"{label},{' '.join(rng.choice(words[label], size=6))} today\n"
            for label in ("sport", "money") * 60]
    path = folder / "news.csv"
    path.write_text("label,text\n" + "".join(rows))
    return path


def test_one_seed_trains_identical_weights_twice(tmp_path):
    """The issue's example (a text model run twice scored 0.856 and 0.850): with op determinism on (the
    default) two runs of one seed end with identical weights, bit for bit."""
    csv = _news_csv(tmp_path)
    trained = []
    for attempt in range(2):
        config = TextConfig(csv=str(csv), epochs=2, sequence_length=16, verbose=0, seed=3,
                            run_dir=str(tmp_path / f"runs{attempt}"))
        trained.append(text_task.fit(config, text_task.prepare(config)))
    first, second = (_weights(t.model) for t in trained)
    assert len(first) == len(second) > 0
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert runner.op_determinism_enabled()


def test_no_deterministic_turns_op_determinism_off_and_the_report_says_which(tmp_path):
    config = AnomalyConfig(detector="window", window=16, epochs=1, verbose=0, deterministic=False,
                           output_dir=str(tmp_path / "m"), reports_dir=str(tmp_path / "r"), run_dir=str(tmp_path / "s"))
    try:
        result = anomaly_task.run(config)
        assert not runner.op_determinism_enabled()
        assert result.metrics["deterministic"] is False
        assert '"deterministic": false' in (result.report_dir / "config.json").read_text()
    finally:
        runner.seed_everything(AnomalyConfig())


def test_flag_parses_both_ways():
    from core import config as core_config

    assert core_config.parse(AnomalyConfig, "", ["--no-deterministic"]).deterministic is False
    assert core_config.parse(AnomalyConfig, "", []).deterministic is True


def test_anomaly_rate_cut_comes_before_early_stopping():
    """It inherited reduce_lr_patience=5 == patience=5: both fired on the same epoch, the lower rate never
    trained."""
    config = AnomalyConfig(detector="window")
    built = {type(c).__name__: c for c in callbacks.standard_callbacks(
        "unused", patience=config.patience, reduce_lr_patience=config.reduce_lr_patience)}
    assert built["ReduceLROnPlateau"].patience < built["EarlyStopping"].patience
    with pytest.raises(UserError, match="must be below --patience"):
        callbacks.standard_callbacks("unused", patience=5, reduce_lr_patience=5)
    with pytest.raises(UserError, match="reduce-lr-patience"):
        AnomalyConfig(detector="window", patience=3, reduce_lr_patience=3).validate()


def test_vision_mixed_precision_is_scoped_to_the_model():
    """vision switched the global policy to mixed_float16 and never switched it back."""
    before = keras.config.dtype_policy().name
    config = VisionConfig(model="vgg", mixed_precision="on", epochs=1)
    model = vision_task.build_model(config, (16, 16, 3), 3, 30)
    assert keras.config.dtype_policy().name == before == "float32"
    assert any(layer.dtype_policy.name == "mixed_float16" for layer in model.layers)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)


@pytest.mark.parametrize("model, units, policy", [("resnet_airbench", ["avx2", "avx512f"], "float32"),
                                                  ("resnet_airbench", ["avx512f", "avx512_bf16"], "mixed_bfloat16"),
                                                  ("vgg", ["amx_tile", "amx_bf16"], "mixed_bfloat16"),
                                                  ("efficientnet", ["avx512f", "avx512_bf16"], "float32"),
                                                  ("vgg", [], "float32")])
def test_vision_auto_precision_is_bfloat16_only_where_measured_faster(model, units, policy):
    assert vision_task.auto_policy(model, units) == policy  # this test machine has no GPU


def test_vision_bfloat16_trains_the_airbench_net_with_float32_outputs():
    """`bf16` (mixed_bfloat16, for CPUs with bfloat16 units) builds bfloat16 layers, no loss scaling, float32
    probabilities, and a training step through the patch whitening keeps every weight finite."""
    config = VisionConfig(model="resnet_airbench", mixed_precision="bf16", epochs=1, batch_size=8)
    model = vision_task.build_model(config, (16, 16, 3), 3, 16)
    assert keras.config.dtype_policy().name == "float32"
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in model.layers)
    assert not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    images = np.random.default_rng(0).uniform(0, 255, (16, 16, 16, 3)).astype("float32")
    vision_task.adapt_whitening(model, images, count=16)
    labels = keras.utils.to_categorical(np.arange(16) % 3, 3)
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    probabilities = model.predict(images, verbose=0)
    assert probabilities.dtype == np.float32 and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert all(np.isfinite(weight).all() for weight in model.get_weights())


def test_tuner_trials_are_built_in_the_strategy_scope_and_seeded(tmp_path):
    """Trials were built outside `strategy.scope()` and (anomaly) never seeded."""
    import keras_tuner as kt

    from anomaly import data
    from anomaly import tuning as anomaly_tuning
    from core.tuning import ConfigHyperModel

    base = AnomalyConfig(detector="window", epochs=1, verbose=0, strategy="mirrored", seed=5)
    prepared = data.prepare(base)
    hypermodel = ConfigHyperModel(anomaly_tuning.TUNING, base, prepared, tmp_path / "runs")
    hp = kt.HyperParameters()
    first = hypermodel.build(hp)
    strategy = __import__("core.distribute", fromlist=["get"]).get("mirrored")
    assert all(strategy.extended.variable_created_in_scope(weight.value) for weight in first.weights)
    second = hypermodel.build(hp)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(first), _weights(second)))


def test_the_three_tasks_leave_the_lifecycle_to_the_runner():
    """Seeding, state folders, chief checks, report paths: written once, in core/runner.py."""
    lifecycle = re.compile(r"set_random_seed|enable_op_determinism|state_dir\(\)|is_chief|write_report\(|"
                           r"strategy\.scope|TemporaryDirectory|time\.strftime")
    for path in ["anomaly/task.py", "anomaly/online_task.py", "textclf/task.py", "vision/task.py",
                 "anomaly/tuning.py", "textclf/tuning.py", "vision/tuning.py"]:
        found = lifecycle.findall((REPO / path).read_text())
        assert not found, f"{path} still has {found}"
    assert isinstance(anomaly_task.TASK, runner.Task) and isinstance(text_task.TASK, runner.Task)
    assert isinstance(vision_task.TASK, runner.Task)
