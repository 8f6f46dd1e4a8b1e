"""Image classifiers registered by name and built by one factory.

Every builder takes `input_shape` (height, width, 3) and `num_classes` and returns an uncompiled functional
`keras.Model` from float pixels in [0, 255] to class probabilities; each model scales its input itself, so
the serving signature only casts and resizes.

    model = build("resnet", input_shape=(32, 32, 3), num_classes=10, l2=1e-4)
"""

from core.registry import Registry

MODELS = Registry("vision model")
build = MODELS.build
names = MODELS.names

# Importing the family modules registers their builders.
from vision.models import airbench, efficientnet, resnet, vgg, vit  # noqa: E402,F401
