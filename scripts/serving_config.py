"""Write a TF Serving `models.config` listing every model folder (with numeric versions) under a root.

    python scripts/serving_config.py saved_models/                        # absolute paths of this machine
    python scripts/serving_config.py saved_models/ --base-path /models    # paths inside the serving container
    docker run -p 8500:8500 -p 8501:8501 -v "$PWD/saved_models:/models" tensorflow/serving \\
        --model_config_file=/models/models.config

Model folders whose versions are all empty (no saved_model.pb) and nested folders (a `/` in the export name)
are left out with a note on stderr; a model whose newest version is empty is pinned to its newest servable one.
The output's folder is created when missing.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import serving  # noqa: E402
from core.errors import UserError, exit_on_user_error  # noqa: E402


@exit_on_user_error
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="folder of model folders, e.g. saved_models/")
    parser.add_argument("--base-path", default=None, help="path of the root as the server sees it (e.g. /models)")
    parser.add_argument("--output", default=None, help="file to write (default: ROOT/models.config)")
    arguments = parser.parse_args(argv)
    notes = []
    text = serving.models_config(arguments.root, arguments.base_path, notes)
    output = Path(arguments.output or Path(arguments.root) / "models.config")
    if output.is_dir():
        raise UserError(f"--output {output}: is a directory; give the file to write")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--output {output}: cannot create its folder ({error.strerror})") from None
    with tempfile.NamedTemporaryFile("w", dir=output.parent, delete=False, suffix=".tmp") as file:
        file.write(text)
    os.replace(file.name, output)  # atomic: a server never reads half a config
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    models = text.count("\n  config {\n")  # one per model in the text format
    print(f"{output}: {models} model(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
