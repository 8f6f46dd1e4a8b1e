"""Train a transformer text classifier, evaluate it, and export a SavedModel that takes raw strings.

    python scripts/train_textclf.py --csv ../shared/data/ag_news/test_subset.csv --max-train 2000 --epochs 1
    python scripts/train_textclf.py --data-dir ag_news_csv          # canonical train.csv + test.csv
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402

quiet()  # before anything imports TensorFlow: no absl/CUDA start-up noise

from core import config as core_config  # noqa: E402
from core.errors import exit_on_user_error  # noqa: E402
from textclf.config import TextConfig  # noqa: E402


@exit_on_user_error
def main(argv=None) -> int:
    config = core_config.parse(TextConfig, __doc__, argv)

    from textclf import task  # TensorFlow loads only once the flags are valid

    parts = task.prepare(config)
    from core import distribute

    distribute.get(config.strategy)  # before any other TensorFlow op (multi-worker needs that)
    result = task.run(config, parts)
    test = result.metrics["test"]
    print(f"test: accuracy {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f} "
          f"({result.metrics['sizes']['test']} texts)")
    distribute.print_outcome(config, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
