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
