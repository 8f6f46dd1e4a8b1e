"""Evaluation reports: `report.json` for machines, `report.md` with PNG plots for people.

A report records what was measured and everything needed to reproduce it: metrics, the run config,
seed, wall time, parameter counts, and the library versions and machine it ran on.
"""

import dataclasses
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from importlib import metadata
from pathlib import Path

import numpy as np

from core import plots

_PACKAGES = ("tensorflow", "keras", "keras-hub", "keras-tuner", "numpy", "pandas", "scikit-learn",
             "matplotlib")


@dataclasses.dataclass
class RunResult:
    """Where a train run wrote: export and report folders (None on a non-chief worker), metrics, the model."""

    export_dir: Path | None
    report_dir: Path | None
    metrics: dict
    model: object  # keras.Model (not imported here: this module loads without TensorFlow)


def environment() -> dict:
    """Machine (CPU model and vector units: `cpu_description`), library versions, git commit and whether tracked
    files differed from it (`git_dirty`, at the time of the call), recorded with every report and benchmark."""
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no") if commit else None
    gpu = None
    if "tensorflow" in sys.modules:  # never import TensorFlow just to describe the machine
        tf = sys.modules["tensorflow"]
        gpu = ", ".join(tf.config.experimental.get_device_details(device).get("device_name", device.name)
                        for device in tf.config.list_physical_devices("GPU")) or None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        # NAB's per-file results differed between two hosts with the same code, seed and packages (README), so
        # the CPU model and its widest vector units are recorded.
        **cpu_description(),
        "gpu": gpu,
        "packages": versions,
        "git_commit": commit,
        "git_dirty": None if dirty is None else bool(dirty),  # tracked files changed since that commit
    }


def _git(*arguments) -> str | None:
    """Stripped stdout of `git arguments` in this checkout; None without git or outside a repository."""
    try:
        finished = subprocess.run(["git", *arguments], capture_output=True, text=True, timeout=5,
                                  cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return finished.stdout.strip() if finished.returncode == 0 else None


# The /proc/cpuinfo flags recorded: the widest float units, and the bfloat16 ones (`vision.task.mixed_precision`).
VECTOR_UNITS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_description(cpuinfo: str | None = None) -> dict:
    """`cpu_model`, the first "model name" of /proc/cpuinfo (`cpuinfo`: that file's text), with the "cpu family",
    "model", "stepping" and "microcode" beside it (hosts sold under one name differ in these), and
    `cpu_vector_units`: those of `VECTOR_UNITS` in the first "flags" line. Each is None where the
    file or the field is missing (not Linux, or a CPU that lists "Features" instead of "flags")."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields = {}
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())  # the first processor's value of each field
    model = fields.get("model name")
    if model is not None:
        details = [f"{label} {fields[label]}" for label in ("cpu family", "model", "stepping", "microcode")
                   if fields.get(label)]
        model = f"{model} ({', '.join(details)})" if details else model
    flags = fields["flags"].split() if "flags" in fields else None
    return {"cpu_model": model,
            "cpu_vector_units": None if flags is None else [unit for unit in VECTOR_UNITS if unit in flags]}


def parameter_counts(model) -> dict:
    """Total, trainable and non-trainable parameter counts of a Keras model."""
    trainable = int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
    total = int(model.count_params())
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, datetime.datetime)):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n"


def _flatten(metrics: dict, prefix: str = "") -> list[tuple[str, object]]:
    rows = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, name + "."))
        elif isinstance(value, (int, float, np.integer, np.floating, str, bool)) or value is None:
            rows.append((name, value))
    return rows


def _format(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def write_report(directory, *, title: str, config: dict, metrics: dict, seed: int, wall_time_s: float,
                 model=None, sections: list[tuple[str, str]] = (), figures: dict | None = None,
                 images: dict[str, Path] | None = None, extra: dict | None = None) -> Path:
    """Writes `report.json`, `report.md` and one PNG per figure into a new folder, atomically.

    Args:
        directory: the report folder to create; it must not exist yet.
        title: the Markdown heading.
        config: the run config as a dict (also saved as `config.json`).
        metrics: nested dict of measured values; scalars also appear as a table in the Markdown.
        seed: the random seed of the run.
        wall_time_s: seconds from start to end of the run.
        model: a Keras model whose parameter counts are recorded.
        sections: (heading, Markdown body) pairs appended in order.
        figures: file stem -> matplotlib figure; saved as PNG, embedded in the Markdown, then closed.
        images: file stem -> an existing PNG to copy in and embed (e.g. a `keras.utils.plot_model` drawing).
        extra: further JSON-serialisable fields for `report.json` (data description, paths...).

    Returns:
        The report folder.
    """
    directory = Path(directory)
    if directory.exists():
        raise FileExistsError(f"report folder {directory} already exists")
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = directory.parent / f".tmp-{uuid.uuid4().hex}"
    temporary.mkdir()
    try:
        data = {
            "title": title,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seed": seed,
            "wall_time_s": round(float(wall_time_s), 3),
            "metrics": metrics,
            "parameters": parameter_counts(model) if model is not None else None,
            "config": config,
            "environment": environment(),
            **(extra or {}),
        }
        (temporary / "report.json").write_text(to_json(data))
        (temporary / "config.json").write_text(to_json(config))

        lines = [f"# {title}", "", f"Created {data['created']} · seed {seed} · wall time "
                 f"{data['wall_time_s']:.1f} s", ""]
        if data["parameters"]:
            lines += [f"Parameters: {data['parameters']['total']:,} "
                      f"({data['parameters']['trainable']:,} trainable)", ""]
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {_format(value)} |" for name, value in _flatten(metrics)]
        for heading, body in sections:
            lines += ["", f"## {heading}", "", body.rstrip()]
        for stem, figure in (figures or {}).items():
            figure.savefig(temporary / f"{stem}.png", dpi=100)
            plots.close(figure)
            lines += ["", f"### {stem.replace('_', ' ')}", "", f"![{stem}]({stem}.png)"]
        for stem, source in (images or {}).items():
            shutil.copy2(source, temporary / f"{stem}.png")
            lines += ["", f"### {stem.replace('_', ' ')}", "", f"![{stem}]({stem}.png)"]
        environment_info = data["environment"]
        lines += ["", "## Environment", "", f"Python {environment_info['python']} on "
                  f"{environment_info['platform']} ({environment_info['cpu_count']} CPUs); "
                  + ", ".join(f"{k} {v}" for k, v in environment_info["packages"].items() if v), ""]
        (temporary / "report.md").write_text("\n".join(lines))
        temporary.rename(directory)
        return directory
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def write_csv(path, frame) -> Path:
    """Writes a pandas DataFrame as CSV (no index) to a temporary name beside `path`, then renames it: a
    crash never leaves a half-written file under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.to_csv(temporary, index=False)
        temporary.rename(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def report_files(directory) -> dict[str, Path]:
    """The files of a report folder, keyed by name (to copy next to an export)."""
    return {path.name: path for path in sorted(Path(directory).iterdir()) if path.is_file()}


def model_graph(model, path) -> Path | None:
    """Draws the model with `keras.utils.plot_model` into `path`; None where pydot/graphviz are missing."""
    import keras

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True)
    except (ImportError, OSError, AttributeError):  # plot_model reports missing pydot/graphviz this way
        return None
    return Path(path) if Path(path).is_file() else None


def model_summary(model) -> str:
    """The Keras text summary, indented as a Markdown code block."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    return "\n".join("    " + line for line in "\n".join(lines).splitlines())
