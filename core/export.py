"""Atomic, versioned SavedModel export in TensorFlow Serving's layout.

    saved_models/<name>/<version>/      integer versions, the next free one each export
        saved_model.pb  variables/      Keras 3 `ExportArchive` output with named signatures
        assets.extra/tf_serving_warmup_requests         PredictionLog warmup requests (core.serving)
        config.json  report.json  report.md  *.png      what produced the model, beside it

Everything is written to a hidden temporary folder next to the final one (`.tmp-<host>-<pid>-<random>`) and
renamed into place, so a crash never leaves a half-written version for TF Serving (which ignores non-numeric
folder names) to load. A process killed mid-export (SIGKILL) leaves its temporary folder behind; the next
export into the same model folder removes such stale ones (see `remove_stale_temporaries`).
"""

import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Callable

import keras

from core.config import check_model_name  # noqa: F401  (re-exported: export names are checked there)
from core.serving import versions, write_warmup  # serving imports nothing from here (no import cycle)

TEMPORARY_PREFIX = ".tmp-"
STALE_AFTER_S = 24 * 3600  # a temporary folder of another machine (shared disk) this old is abandoned
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    return True


def remove_stale_temporaries(model_dir, max_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Removes the temporary folders of exports that can no longer finish: made on this machine by a process
    that no longer runs, or (another machine's, or without an owner in the name) older than `max_age_s`.
    Returns the removed paths. A running export's folder is left alone."""
    removed = []
    host = socket.gethostname()
    for path in Path(model_dir).glob(f"{TEMPORARY_PREFIX}*"):
        parts = path.name[len(TEMPORARY_PREFIX):].rsplit("-", 2)  # host-pid-random (host may contain '-')
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
            stale = not _alive(int(parts[1]))
        else:
            try:
                stale = time.time() - path.lstat().st_mtime > max_age_s
            except FileNotFoundError:  # removed meanwhile
                continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def next_version(model_dir) -> int:
    """One more than the highest existing version (1 for a new model)."""
    existing = versions(model_dir)
    return existing[-1] + 1 if existing else 1


def export_saved_model(model_dir, endpoints: dict[str, tuple[Callable, list]], *, track=(),
                       extra_files: dict[str, Path] | None = None, version: int | None = None,
                       warmup: dict[str, dict] | None = None) -> Path:
    """Exports endpoints as a new version of the SavedModel in `model_dir` and returns its path.

    Args:
        model_dir: `saved_models/<name>`; created if needed.
        endpoints: signature name -> (function, input signature). The first one is also the
            `serving_default` signature unless one is named so.
        track: Keras layers/models or TF resources the endpoints use (their variables are saved).
        extra_files: name inside the version folder -> existing file to copy there (config, report, plots).
        version: a specific version number; by default the next free one.
        warmup: signature name -> {input name: example batch}, written as TF Serving warmup requests
            (model name: the folder name of `model_dir`). Every export should pass one.

    Returns:
        The final version folder, e.g. `saved_models/anomaly_dense/3`.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(model_dir)
    temporary = model_dir / f"{TEMPORARY_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"
    try:
        archive = keras.export.ExportArchive()
        for resource in track:
            archive.track(resource)
        for name, (function, input_signature) in endpoints.items():
            archive.add_endpoint(name=name, fn=function, input_signature=input_signature)
        archive.write_out(str(temporary), verbose=False)
        for name, source in (extra_files or {}).items():
            shutil.copy2(source, temporary / name)
        if warmup:
            write_warmup(temporary, model_dir.name, warmup)
        return _rename_into_place(temporary, model_dir, version)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def _rename_into_place(temporary: Path, model_dir: Path, version: int | None) -> Path:
    """Renames `temporary` to the requested (or next free) version; retries if another run took it."""
    for _ in range(100):
        target = model_dir / str(version if version is not None else next_version(model_dir))
        try:
            temporary.rename(target)  # atomic on one file system; fails if `target` exists and is non-empty
            return target
        except OSError:
            if version is not None or not target.exists():
                raise
    raise RuntimeError(f"could not find a free version folder under {model_dir}")
