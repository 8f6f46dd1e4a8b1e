"""TensorFlow Serving glue: warmup requests, `models.config`, REST request bodies, version folders.

We write files TF Serving reads and requests it answers; we run no server of our own.

- Warmup: `assets.extra/tf_serving_warmup_requests` in a version folder is a TFRecord file of `PredictionLog`
  protos (from `tensorflow-serving-api`); TF Serving replays them when it loads the version, so the first real
  request does not pay for graph tracing and memory allocation.
- `models.config`: the text-format `ModelServerConfig` listing every model (`--model_config_file`).
- REST: TF Serving's row format, `{"signature_name": ..., "instances": [{input: value, ...}, ...]}` with
  binary strings as `{"b64": ...}`.
"""

import base64
import binascii
import json
from pathlib import Path

import numpy as np

from core.errors import UserError

WARMUP_PATH = Path("assets.extra") / "tf_serving_warmup_requests"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def versions(model_dir) -> list[int]:
    """The integer version folders under `model_dir`, ascending."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(path.name) for path in model_dir.iterdir() if path.is_dir() and path.name.isdigit())


def is_servable(version_folder) -> bool:
    """Whether a version folder holds a SavedModel (an empty or unfinished one does not)."""
    return any((Path(version_folder) / name).is_file() for name in SAVED_MODEL_FILES)


def servable_versions(model_dir) -> list[int]:
    """The numeric versions of `model_dir` that hold a SavedModel, ascending."""
    return [v for v in versions(model_dir) if is_servable(Path(model_dir) / str(v))]


def version_dir(model_dir, version: int | None = None) -> Path:
    """The folder of `version` (default: the newest) of `model_dir`; a `UserError` when there is none or it
    holds no SavedModel."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"{model_dir}: no such model directory")
    available = versions(model_dir)
    if not available:
        raise UserError(f"{model_dir}: no numeric version folder (expected {model_dir}/1/saved_model.pb, "
                        "the layout TF Serving reads)")
    if version is None:
        version = available[-1]
    if version not in available:
        raise UserError(f"{model_dir}: no version {version}; versions are {', '.join(map(str, available))}")
    folder = model_dir / str(version)
    if not is_servable(folder):
        servable = servable_versions(model_dir)
        hint = (f"pass --version with one of {', '.join(map(str, servable))}" if servable
                else "no version of it holds a SavedModel")
        raise UserError(f"{folder}: no saved_model.pb (an empty or unfinished export); {hint}")
    return folder


def write_warmup(version_folder, model_name: str, requests: dict[str, dict[str, np.ndarray]]) -> Path:
    """Writes one PredictionLog per signature: `requests` maps signature name -> {input name: example batch}."""
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = Path(version_folder) / WARMUP_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs in requests.items():
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def read_warmup(version_folder) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The warmup requests of a version folder: [(signature name, {input name: array})]."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = Path(version_folder) / WARMUP_PATH
    if not path.is_file():
        raise UserError(f"{path}: no warmup file")
    requests = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        requests.append((request.model_spec.signature_name,
                         {name: tf.make_ndarray(tensor) for name, tensor in request.inputs.items()}))
    return requests


def models_config(root, base_path: str | None = None, notes: list | None = None) -> str:
    """A `models.config` (text-format ModelServerConfig) for every model folder under `root` that has a
    version holding a SavedModel. `base_path` replaces `root` in the paths (e.g. `/models` inside the serving
    container). Written with the ModelServerConfig proto's own text format, so quotes and other characters in
    folder names are escaped as TF Serving's parser expects. A model whose newest version folder is empty
    (TF Serving's `latest` policy would try only that one) is pinned to its newest servable version; models
    with no servable version, and nested folders (`--name a/b`: a TF Serving name cannot hold a `/`), are left
    out. Each of these gets a line in `notes`."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such directory")
    notes = [] if notes is None else notes
    prefix = base_path.rstrip("/") if base_path else str(root.resolve())
    config = model_server_config_pb2.ModelServerConfig()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        numbered, servable = versions(folder), servable_versions(folder)
        if not numbered:
            nested = {str(v.parent.relative_to(root)) for v in folder.rglob("*")
                      if v.is_dir() and v.name.isdigit() and is_servable(v)}
            for name in sorted(nested):
                notes.append(f"{root / name}: left out, a nested model folder (TF Serving model names cannot "
                             "contain '/'); export it with a --name without '/'")
            continue
        if not servable:
            notes.append(f"{folder}: left out, no version folder holds a saved_model.pb (empty or unfinished exports)")
            continue
        entry = config.model_config_list.config.add(name=folder.name, base_path=f"{prefix}/{folder.name}",
                                                    model_platform="tensorflow")
        if servable[-1] != numbered[-1]:
            entry.model_version_policy.specific.versions.append(servable[-1])
            notes.append(f"{folder}: version {numbered[-1]} holds no saved_model.pb; pinned to version {servable[-1]}")
        else:
            entry.model_version_policy.latest.num_versions = 1
    if not config.model_config_list.config:
        raise UserError(f"{root}: no model folders with a numeric version holding a SavedModel (expected "
                        f"{root}/<name>/<version>/saved_model.pb)")
    return text_format.MessageToString(config)


def _json_value(value, binary: bool):
    """JSON for one value: strings as text, unless `binary` (an input named *_bytes) or not UTF-8 -> b64."""
    if isinstance(value, bytes):
        if not binary:
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [_json_value(v, binary) for v in value.tolist()]
        return value.tolist()
    if isinstance(value, list):
        return [_json_value(v, binary) for v in value]
    return value


def rest_request(signature: str, inputs: dict[str, np.ndarray]) -> dict:
    """TF Serving's REST row-format body for a batch: one instance object per row. Inputs named `*_bytes`
    (TF Serving's convention for binary data) and strings that are not UTF-8 go as `{"b64": ...}`."""
    rows = len(next(iter(inputs.values())))
    instances = [{name: _json_value(values[index], name.endswith("_bytes")) for name, values in inputs.items()}
                 for index in range(rows)]
    return {"signature_name": signature, "instances": instances}


def from_rest_value(value):
    """Inverse of `_json_value` for one instance value: `{"b64": ...}` -> bytes, lists recursively."""
    if isinstance(value, dict):
        if set(value) != {"b64"} or not isinstance(value["b64"], str):
            raise UserError(f"an instance value object must be {{\"b64\": \"...\"}}, got {str(value)[:80]}")
        try:  # strict: a character outside the alphabet is an error, not silently dropped (whitespace aside)
            return base64.b64decode("".join(value["b64"].split()), validate=True)
        except (binascii.Error, ValueError) as error:
            raise UserError(f"invalid base64 in {{\"b64\": ...}} ({error})") from None
    if isinstance(value, list):
        return [from_rest_value(v) for v in value]
    return value


def to_json(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"))


def signature_speed(export_dir, input_name: str, examples: np.ndarray, *, repeats: int = 50,
                    batch_size: int = 256, batch_repeats: int = 5, signature: str = "serving_default") -> dict:
    """A SavedModel signature's latency for one example (p50/p95, ms; after a warm-up call) and throughput for
    batches of `batch_size` examples drawn cyclically from `examples` (examples/s). Benchmarks measure serving
    with this, in process (no TF Serving here)."""
    import time

    import tensorflow as tf

    serve = tf.saved_model.load(str(export_dir)).signatures[signature]
    single = [tf.constant(examples[[i % len(examples)]]) for i in range(repeats)]  # a batch of one, any dtype
    serve(**{input_name: single[0]})
    latencies = []
    for request in single:
        started = time.perf_counter()
        serve(**{input_name: request})
        latencies.append((time.perf_counter() - started) * 1000)
    batch = tf.constant(examples[np.arange(batch_size) % len(examples)])
    serve(**{input_name: batch})
    started = time.perf_counter()
    for _ in range(batch_repeats):
        serve(**{input_name: batch})
    return {"latency_ms_p50": float(np.percentile(latencies, 50)),
            "latency_ms_p95": float(np.percentile(latencies, 95)),
            "throughput_per_s": batch_repeats * batch_size / (time.perf_counter() - started)}
