"""Send one request to an exported model: locally on the SavedModel, or to TF Serving's REST API.

    python scripts/predict.py --model-dir saved_models/textclf_wide_deep --input headlines.txt
    python scripts/predict.py --model-dir saved_models/vision_resnet --input cat.jpg        # serving_bytes
    python scripts/predict.py --model-dir saved_models/anomaly_dense --input windows.csv --url http://localhost:8501
    python scripts/predict.py --model-dir saved_models/vision_vit --input request.json --print-request

Input files: .json (a TF Serving REST body {"instances": [...]}), .txt (one text per line), .csv (one window
per line), or an image file. The request is checked against the signature of the local SavedModel first;
with --url the identical REST body goes to POST URL/v1/models/NAME[/versions/V]:predict, NAME being the
model folder's name. The answer is printed as JSON ({"predictions": [...]}, as TF Serving returns it).
A mistake (a model folder whose newest version is empty, an input file that is not UTF-8, invalid base64,
bytes the model cannot decode) is one line naming the file or flag, exit code 2.
"""

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402  (TensorFlow start-up noise off; see core/quiet.py)

quiet()

from core import client, serving  # noqa: E402
from core.errors import UserError, exit_on_user_error  # noqa: E402


@exit_on_user_error
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True, help="saved_models/NAME (holding numeric versions)")
    parser.add_argument("--version", type=int, default=None, help="version to use (default: the newest)")
    parser.add_argument("--input", required=True, help="request file: .json, .txt, .csv or an image")
    parser.add_argument("--signature", default=None, help="signature name (default: from the input, else "
                        "serving_default)")
    parser.add_argument("--url", default=None, help="TF Serving REST address, e.g. http://localhost:8501")
    parser.add_argument("--print-request", action="store_true", help="print the REST body and exit")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server")
    arguments = parser.parse_args(argv)
    if arguments.url is not None and not arguments.url.startswith(("http://", "https://")):
        raise UserError(f"--url {arguments.url!r}: give the REST address with its scheme, e.g. http://localhost:8501")
    if not (math.isfinite(arguments.timeout) and arguments.timeout > 0):
        raise UserError(f"--timeout must be a positive number of seconds, got {arguments.timeout}")
    serving.version_dir(arguments.model_dir, arguments.version)  # a clear error before TensorFlow loads
    file_signature, instances = client.read_input(arguments.input)
    signature = arguments.signature or file_signature or "serving_default"

    loaded, _ = client.load(arguments.model_dir, arguments.version)
    try:
        inputs = client.to_inputs(instances, client.signature_inputs(loaded, signature))
    except UserError as error:
        raise UserError(f"--input {arguments.input}: {error}") from None
    body = serving.rest_request(signature, inputs)
    if arguments.print_request:
        print(serving.to_json(body))
        return 0
    if arguments.url:
        url = client.rest_url(arguments.url, Path(arguments.model_dir).resolve().name, arguments.version)
        answer = client.predict_rest(url, body, arguments.timeout)
    else:
        try:
            answer = client.predict_local(loaded, signature, inputs)
        except UserError as error:
            raise UserError(f"--input {arguments.input}: {error}") from None
    print(json.dumps(answer, allow_nan=False))  # core.client answers null for NaN and infinities
    return 0


if __name__ == "__main__":
    sys.exit(main())
