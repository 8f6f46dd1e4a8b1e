"""tf.distribute through the train scripts: two multi-worker processes on localhost end in sync and only the
chief exports; strategy names and TF_CONFIG roles."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from core import distribute
from core.errors import UserError
from tests.conftest import REPO


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


@pytest.mark.parametrize("tf_config, chief", [
    (None, True),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, True),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, False),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, True),
])
def test_chief_follows_tf_config(monkeypatch, tf_config, chief):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    assert distribute.is_chief() is chief


def test_strategy_mistakes_are_user_errors(monkeypatch):
    with pytest.raises(UserError, match="strategies are default, mirrored, multiworker"):
        distribute.get("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(UserError, match="--strategy multiworker needs TF_CONFIG"):
        distribute.get("multiworker")


def test_mirrored_strategy_scales_the_batch_per_replica():
    strategy = distribute.get("mirrored")
    assert distribute.global_batch_size(32, strategy) == 32 * strategy.num_replicas_in_sync
    assert distribute.get("mirrored") is strategy  # created once per process


def test_two_workers_on_localhost_train_in_sync_and_only_the_chief_exports(tmp_path):
    # Real processes on purpose: MultiWorkerMirroredStrategy needs one process per worker (TF_CONFIG, the
    # collective ops' servers), and what each worker prints and writes is the behaviour under test.
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    processes = []
    for index in range(2):
        environment = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                               "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "train_anomaly.py"), "--detector", "window",
             "--strategy", "multiworker", "--epochs", "2", "--verbose", "0"],
            cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=300))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-2000:]
    digests = [re.search(r"weights digest (\w+)", out).group(1) for out, _ in outputs]
    assert digests[0] == digests[1]  # synchronous data-parallel training: identical weights
    assert "SavedModel: saved_models/anomaly_dense/1" in outputs[0][0]
    assert "not the chief" in outputs[1][0]
    assert sorted(p.name for p in (tmp_path / "saved_models" / "anomaly_dense").iterdir()) == ["1"]
    assert len(list((tmp_path / "reports" / "anomaly_dense").iterdir())) == 1
