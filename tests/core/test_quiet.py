"""core.quiet: scripts start without TensorFlow's absl/CUDA noise, and keep every other stderr line."""

import os
import subprocess
import sys

from core import quiet
from tests.conftest import REPO

NOISE = ("absl::InitializeLog", "cuInit", "Could not find cuda drivers", "cpu_feature_guard", "oneDNN")


def test_known_start_up_lines_are_dropped_and_others_replayed(capfd):
    with quiet.filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n")
        os.write(2, b"E0000 00:00:1.0 1 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n")
        os.write(2, b"a real problem\n")
    assert capfd.readouterr().err == "a real problem\n"


def test_everything_is_replayed_when_the_import_fails(capfd):
    try:
        with quiet.filtered_stderr():
            os.write(2, b"I0000 00:00:1.0 1 x.cc:1] detail\n")
            raise ImportError("broken")
    except ImportError:
        pass
    assert "detail" in capfd.readouterr().err


def test_a_script_process_imports_tensorflow_quietly():
    # A real interpreter on purpose: the noise is written by TensorFlow's C++ start-up to file descriptor 2 of a
    # fresh process, once per process (this one imported TensorFlow long ago).
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from core.quiet import quiet; quiet()\n"
            "import keras, tensorflow as tf\n"
            "print(int(tf.constant(1) + 1), file=sys.stderr)\n")
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, timeout=300,
                            env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "2\n", result.stderr
    assert not any(noise in result.stderr for noise in NOISE)
