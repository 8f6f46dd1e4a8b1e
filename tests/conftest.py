import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_nab_dir():
    """The real NAB copy in ../shared/data/nab; tests using it skip where it is absent (a user's machine)."""
    path = SHARED_DATA / "nab"
    if not (path / "data").is_dir():
        pytest.skip(f"real NAB data not found at {path}")
    return path


def run_script(name: str, argv: list[str], capsys) -> tuple[int, str, str]:
    """Runs scripts/<name>.py's `main(argv)` in this process (no second TensorFlow start-up):
    returns (exit code, stdout, stderr)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"script_{name}", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        code = module.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------------------------------------------------
# One short end-to-end run per task, shared by the task's own tests and the export contract
# (tests/core/test_export_contract.py): each trains once per session.
TEXT_WORDS = {"sport": "match goal team win league coach", "money": "stock market bank profit shares trade"}


@pytest.fixture(scope="session")
def anomaly_run(tmp_path_factory):
    """(config, result): a 3-epoch window detector on the embedded synthetic series, exported and reported."""
    from anomaly import task
    from anomaly.config import AnomalyConfig

    root = tmp_path_factory.mktemp("anomaly_run")
    config = AnomalyConfig(window=24, epochs=3, seed=1, verbose=0, output_dir=str(root / "saved_models"),
                           reports_dir=str(root / "reports"), run_dir=str(root / "runs"))
    return config, task.run(config)


@pytest.fixture(scope="session")
def textclf_run(tmp_path_factory):
    """(config, result): the default text model, 4 epochs on two classes with disjoint words."""
    import numpy as np

    from textclf import task
    from textclf.config import TextConfig

    root = tmp_path_factory.mktemp("textclf_run")
    rng = np.random.default_rng(0)
    rows = []
    for index in range(240):
        label = "sport" if index % 2 else "money"
        rows.append(f"{label},{' '.join(rng.choice(TEXT_WORDS[label].split(), size=6))} today\n")
    csv = root / "news.csv"
    csv.write_text("label,text\n" + "".join(rows))
    config = TextConfig(csv=str(csv), epochs=4, sequence_length=16, verbose=0, seed=0,
                        output_dir=str(root / "saved_models"), reports_dir=str(root / "reports"),
                        run_dir=str(root / "runs"))
    return config, task.run(config)


@pytest.fixture(scope="session")
def colour_tree(tmp_path_factory):
    """40 16x16 images per class of three flat colours plus noise (tests/vision/images.py)."""
    from tests.vision.images import make_tree

    return make_tree(tmp_path_factory.mktemp("images") / "colours", per_class=40, size=16)


def vision_config(tree, root, model, **overrides):
    from vision.config import VisionConfig

    settings = dict(data=str(tree), model=model, epochs=1, batch_size=16, verbose=0, seed=0,
                    output_dir=str(root / "saved_models"), reports_dir=str(root / "reports"),
                    run_dir=str(root / "runs"))
    return VisionConfig(**{**settings, **overrides})


@pytest.fixture(scope="session")
def vision_run(colour_tree, tmp_path_factory):
    """(config, parts, result): the one family the fast tier trains end to end (VGG: the cheapest, with batch
    normalisation, so the recalibration path runs too), for enough epochs to learn the colours. The export,
    report and serving code is family-independent; the other families run end to end in the slow tier
    (tests/vision/test_task.py) and are built, saved and reloaded in tests/vision/test_models.py."""
    from vision import task

    config = vision_config(colour_tree, tmp_path_factory.mktemp("vision_run"), "vgg", epochs=3, seed=1,
                           learning_rate=3e-3)
    parts = task.prepare(config)
    return config, parts, task.run(config, parts)
