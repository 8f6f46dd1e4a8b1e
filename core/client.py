"""Requests to an exported model: read an input file, check it against the signature, run it locally on the
SavedModel or send the identical TF Serving REST request (`POST /v1/models/NAME[/versions/V]:predict`).

Input files:
- `.json`: a TF Serving REST body, `{"instances": [...]}` (row format; `{"b64": ...}` for bytes), optionally
  with `"signature_name"`;
- `.txt`: one text per line, for a signature with one string input (text classifiers);
- `.csv`: one numeric row per line (no header), for a signature with one float input (anomaly windows);
- an image (`.jpg`, `.jpeg`, `.png`, `.gif`, `.bmp`): its bytes, for the `serving_bytes` signature.

A file that cannot be read as its type (not UTF-8, invalid JSON or base64) is a `UserError` naming it.
"""

import json
import math
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from core import serving
from core.errors import UserError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp"}


def read_input(path) -> tuple[str | None, list]:
    """(signature name or None, instances) from an input file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: input file not found")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "serving_bytes", [path.read_bytes()]
    if suffix == ".json":
        try:
            body = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"{path}: not valid JSON ({error})") from None
        if not isinstance(body, dict) or not isinstance(body.get("instances"), list) or not body["instances"]:
            raise UserError(f'{path}: expected a TF Serving REST body {{"instances": [...]}} with at least one '
                            'instance')
        try:
            return body.get("signature_name"), [_instance(value) for value in body["instances"]]
        except UserError as error:
            raise UserError(f"{path}: {error}") from None
    if suffix == ".txt":
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if not lines:
            raise UserError(f"{path}: file is empty")
        return None, lines
    if suffix == ".csv":
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise UserError(f"{path}: not UTF-8 text ({error})") from None
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append([float(value) for value in line.split(",")])
                except ValueError:
                    raise UserError(f"{path}, line {number}: not a row of numbers: {line[:60]!r}") from None
        if not rows:
            raise UserError(f"{path}: file is empty")
        return None, rows
    raise UserError(f"{path}: unknown input type {suffix!r}; use .json, .txt, .csv or an image file")


def _instance(value):
    """One row-format instance: {input: value} (values may be {"b64": ...}) or a bare value."""
    if isinstance(value, dict) and set(value) != {"b64"}:
        return {name: serving.from_rest_value(item) for name, item in value.items()}
    return serving.from_rest_value(value)


def _describe(spec) -> str:
    shape = ", ".join("?" if size is None else str(size) for size in spec.shape)
    return f"{spec.name}: {spec.dtype.name} [{shape}]"


def signature_inputs(loaded, signature: str) -> dict:
    """{input name: TensorSpec} of a loaded SavedModel's signature; a UserError naming the available ones."""
    if signature not in loaded.signatures:
        raise UserError(f"the model has no signature {signature!r}; signatures are {', '.join(loaded.signatures)}")
    return loaded.signatures[signature].structured_input_signature[1]


def to_inputs(instances: list, specs: dict) -> dict[str, np.ndarray]:
    """Instances (row format) -> {input name: batch array} checked against the signature's dtypes and shapes."""
    expected = "; ".join(_describe(spec) for spec in specs.values())
    if all(isinstance(instance, dict) for instance in instances):
        names = set(instances[0])
        if names != set(specs) or any(set(instance) != names for instance in instances):
            raise UserError(f"instances name inputs {sorted(names)}; the signature expects {expected}")
        columns = {name: [instance[name] for instance in instances] for name in specs}
    elif len(specs) == 1:
        columns = {next(iter(specs)): instances}
    else:
        raise UserError(f"the signature has several inputs ({expected}); give each instance as an object")
    inputs = {}
    for name, values in columns.items():
        spec = specs[name]
        try:
            if spec.dtype.name == "string":
                array = np.array([v.encode() if isinstance(v, str) else v for v in values], dtype=object)
                if any(not isinstance(v, bytes) for v in array.ravel()):
                    raise ValueError("not all strings")
            else:
                array = np.asarray(values)
                if array.dtype.kind not in "biuf":
                    raise ValueError("not numeric")
                if not spec.dtype.is_floating and array.dtype.kind == "f" and not np.isfinite(array).all():
                    raise ValueError("NaN or infinite values for an integer input")
                if spec.dtype.name == "uint8" and (array.min() < 0 or array.max() > 255):
                    raise ValueError("values outside 0..255")
                array = array.astype(spec.dtype.as_numpy_dtype)
        except ValueError as error:
            raise UserError(f"input {name!r} does not fit the signature ({error}); "
                            f"expected {_describe(spec)}") from None
        shape_ok = len(array.shape) == len(spec.shape) and all(
            want is None or want == got for want, got in zip(spec.shape, array.shape))
        if not shape_ok:
            raise UserError(f"input {name!r} has shape {list(array.shape)} (batch first); expected {_describe(spec)}")
        inputs[name] = array
    return inputs


def load(model_dir, version: int | None = None):
    """(loaded SavedModel, its version folder)."""
    import tensorflow as tf

    try:  # a SavedModel with keras-hub tokenizer ops loads only after this import registers them
        import tensorflow_text  # noqa: F401
    except ImportError:
        pass
    folder = serving.version_dir(model_dir, version)
    return tf.saved_model.load(str(folder)), folder


def predict_local(loaded, signature: str, inputs: dict[str, np.ndarray]) -> dict:
    """Runs the signature; returns what TF Serving's REST API answers: {"predictions": [row, ...]}, a row
    being {output: value} (or the bare value when the signature has a single output). Input the model rejects
    (undecodable image bytes, ...) is a UserError with the model's message (as TF Serving answers 400)."""
    import tensorflow as tf

    try:
        outputs = loaded.signatures[signature](**{name: tf.constant(value) for name, value in inputs.items()})
    except tf.errors.InvalidArgumentError as error:
        raise UserError(f"the model rejected the input: {model_message(error)}") from None
    arrays = {name: value.numpy() for name, value in outputs.items()}
    rows = len(next(iter(arrays.values())))
    if len(arrays) == 1:
        return {"predictions": [_plain(values) for values in next(iter(arrays.values()))]}
    return {"predictions": [{name: _plain(values[index]) for name, values in arrays.items()} for index in range(rows)]}


def model_message(error) -> str:
    """The informative part of a TensorFlow op error: our assertion's text, else the op's own message line,
    without TensorFlow's "Graph execution error", node and stack-trace lines."""
    import re

    text = getattr(error, "message", str(error))
    asserted = re.search(r"assertion failed: \[([^\]]*)\]", text)
    if asserted:
        return asserted.group(1).strip()
    noise = ("Graph execution error", "Detected at node", "<stack traces unavailable>", "[[", "File ")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith(noise)]
    line = re.sub(r"\{\{[^}]*\}\}", "", lines[0] if lines else "").strip()
    return line[:300] or type(error).__name__


def _plain(value):
    """A JSON-ready value: bytes as text, arrays as lists, NaN and infinities as None (JSON has neither)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.dtype == object or (value.dtype.kind == "f" and not np.isfinite(value).all()):
            return [_plain(v) for v in value]
        return value.tolist()
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def rest_url(url: str, model_name: str, version: int | None) -> str:
    version_part = f"/versions/{version}" if version is not None else ""
    return f"{url.rstrip('/')}/v1/models/{model_name}{version_part}:predict"


def predict_rest(url: str, body: dict, timeout: float = 30.0) -> dict:
    """POSTs the REST body; a UserError for an unreachable server or an error answer."""
    request = urllib.request.Request(url, data=serving.to_json(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise UserError(f"{url}: server answered {error.code}: {error.read().decode(errors='replace')[:300]}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise UserError(f"{url}: cannot reach the server ({reason}); is tensorflow_model_server running?") from None
