"""Train an image classifier (VGG, ResNet, ViT or EfficientNet), evaluate it, and export a SavedModel that
takes uint8 images or encoded image bytes.

    python scripts/train_vision.py --model resnet --data path/to/cifar10_jpg.zip --classes dog,automobile,truck
    python scripts/train_vision.py --model vit --data flowers/ --epochs 50      # <class>/<image> or train/, test/
    python scripts/train_vision.py --model vgg --data cifar10                  # tfds (downloads when online)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.quiet import quiet  # noqa: E402  (TensorFlow start-up noise off; see core/quiet.py)

quiet()

from core import config as core_config  # noqa: E402
from core.errors import exit_on_user_error  # noqa: E402
from vision import data  # noqa: E402
from vision.config import VisionConfig  # noqa: E402


@exit_on_user_error
def main(argv=None) -> int:
    config = core_config.parse(VisionConfig, __doc__, argv)
    parts = data.load_for(config)  # images decoded and checked before TensorFlow loads
    print(f"images: {parts['train'].size_note}; {', '.join(f'{name} {len(part)}' for name, part in parts.items())}")

    from vision import models, task

    models.MODELS.get(config.model)  # a UserError listing the registered models
    from core import distribute

    distribute.get(config.strategy)  # before any other TensorFlow op (multi-worker needs that)
    result = task.run(config, parts)
    test = result.metrics["test"]
    tta = result.metrics["tta"]
    print(f"test: accuracy {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f} "
          f"({result.metrics['sizes']['test']} images{', flip-averaged' if tta['served'] else ''}); accuracy "
          f"without / with test-time flip averaging {tta['without']['accuracy']:.3f} / {tta['with']['accuracy']:.3f}")
    if result.metrics["skipped_files"]:
        print(f"skipped {len(result.metrics['skipped_files'])} unusable file(s) (undecodable, or over the pixel "
              "budget): see the report")
    distribute.print_outcome(config, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
