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
