"""Quiet TensorFlow start-up for the scripts: no absl/CUDA noise before the first useful line.

TensorFlow 2.21 logs from C++ while `import tensorflow` loads its libraries, before it reads
`TF_CPP_MIN_LOG_LEVEL` (so the variable alone does not help):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    E0000 ... cuda_platform.cc:52] failed call to cuInit: ...        (later, at the first op)

`quiet()` (call it first thing in a script, before anything imports TensorFlow) sets
`TF_CPP_MIN_LOG_LEVEL=3` unless the caller set it (which hides the later C++ messages, cuInit included),
and wraps the first `import tensorflow`, wherever it happens, so that what C++ writes to stderr
(file descriptor 2) during that import is captured and replayed without the known start-up lines. Anything
else (a real error, a Python warning) is still printed; if the import fails everything is printed.
TensorFlow still loads lazily: `--help` and flag errors stay fast.

`TF_CPP_MIN_LOG_LEVEL=0` (or 1) set by the caller turns all of this off, to see every message.
"""

import contextlib
import importlib.abc
import os
import re
import sys
import tempfile

# Lines TensorFlow's C++ start-up writes on every machine without a GPU (or with one: the I-lines).
NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} .*"  # absl/glog INFO and WARNING lines
    r"|E\d{4} .*(cuInit|cuda_|cuda drivers|cuDNN|cuFFT|cuBLAS).*"  # CUDA registration/initialisation errors
    r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.)$")


def _filtered(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not NOISE.match(line.rstrip("\n")))


@contextlib.contextmanager
def filtered_stderr():
    """Captures file descriptor 2 (C++ and Python writes) inside the block; replays it without `NOISE`
    lines afterwards, or whole if the block raises."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded, closed): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            text = text if failed else _filtered(text)
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` with the other finders and runs its first import inside `filtered_stderr()`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        uninstall()
        spec = None
        for finder in sys.meta_path:  # the finders Python would have asked (this one is uninstalled)
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            with filtered_stderr():
                execute(module)

        spec.loader.exec_module = exec_module  # this spec's own loader instance only
        return spec


_FINDER = _QuietImport()


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def quiet() -> None:
    """Silences TensorFlow's start-up noise for this process (see the module docstring); idempotent."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") in ("0", "1"):
        return  # the caller asked for TensorFlow's messages
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
