"""Every hyper-parameter and path of a text-classification run."""

import dataclasses
from dataclasses import field

from core.config import RunOptions, apply_preset
from core.errors import UserError

# The defaults of the regularisation fields: the best mean under test-cv
# (benchmarks/results/textclf_test_cv_l2_tok80k.md): L2 1e-4 only, every epoch trained, 80k-token vocabulary
# of words and bigrams. The compact variants differ by less than one standard deviation; early stopping was
# the one consistent loss. The one source of these values: the fields below and textclf/models.py's builders.
TUNED = {"dropout": 0.0, "l2": 1e-4, "label_smoothing": 0.0, "patience": 0, "reduce_lr_patience": 0}
# What a model's tuned defaults change: `wide_deep`'s deep path trains with dropout 0.5 (chosen on fold 1 of
# the test-cv benchmark among 0 and 0.5, benchmarks/results/textclf_test_cv_wide_deep.md).
MODEL_TUNED = {"wide_deep": {"dropout": 0.5}}
# The default model: the best test-cv mean measured (wide_deep 0.8876 +- 0.0064, bag 0.8870 +- 0.0083:
# benchmarks/results/textclf_test_cv_wide_deep_chars_naive_bayes.md; compact 0.871 +- 0.009,
# textclf_test_cv_l2_tok80k.md).
DEFAULT_MODEL = "wide_deep"


def tuned(model: str) -> dict:
    """The tuned regularisation of `model`: `TUNED` updated with `MODEL_TUNED[model]`."""
    return {**TUNED, **MODEL_TUNED.get(model, {})}

# The wide (TF-IDF bag) path of `wide_deep` and `bag`: the bag's L2-normalised TF-IDF is multiplied by this
# (textclf.layers.BagOfNgrams' `scale`) before the linear layer, so Adam at the default learning rate reaches
# the weights a logistic regression needs within the epochs (unscaled, 10 epochs move a weight by ~1.5 at
# most). Chosen on fold 1 of the test-cv benchmark among 1, 10 and 30 (disclosed in the benchmark summary).
BAG_SCALE = 10.0
# `wide_deep`'s PathDropout rate: the share of training examples on which only one path (deep or wide, at
# random) is trained.
PATH_DROPOUT = 0.5
# The deep path's inference weights tried by textclf.task.calibrate_paths (the one with the lowest
# validation log-loss is kept; the wide path keeps weight 1).
PATH_WEIGHT_GRID = tuple(round(0.05 * step, 2) for step in range(21))
# The naive Bayes path (`--naive-bayes`): its smoothing and its mixture weight are chosen with the deep path's
# weight on the validation part (lowest log-loss) from these grids (the smoothing's in units of the unit-norm
# TF-IDF; the mixture weight 0 turns the path off).
NB_ALPHA_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
NB_MIXTURE_GRID = tuple(round(0.05 * step, 2) for step in range(21))

# The seeds' regularisation comparison (each one thing on an unregularised base) and the tuned default.
# A variant sets these fields unless they are given explicitly (a flag, --set, a tuner's hyper-parameter).
VARIANTS = {
    "tuned": dict(TUNED),  # the shared part: a model's own tuned values, `tuned(model)`, are what --variant tuned sets
    "base": {"dropout": 0.0, "l2": 0.0, "label_smoothing": 0.0, "patience": 0, "reduce_lr_patience": 0},
    "l2": {"dropout": 0.0, "l2": 1e-4, "label_smoothing": 0.0, "patience": 0, "reduce_lr_patience": 0},
    "dropout": {"dropout": 0.1, "l2": 0.0, "label_smoothing": 0.0, "patience": 0, "reduce_lr_patience": 0},
    "early_stopping": {"dropout": 0.0, "l2": 0.0, "label_smoothing": 0.0, "patience": 2, "reduce_lr_patience": 0},
}


def _preset_values(variant: str | None, model: str) -> dict:
    return tuned(model) if variant in (None, "tuned") else VARIANTS[variant]


@dataclasses.dataclass
class TextConfig(RunOptions):
    EXPORT_PREFIX = "textclf"

    data_dir: str | None = field(default=None, metadata={"help": "AG News canonical layout: train.csv, test.csv"})
    csv: str | None = field(default=None, metadata={
        "help": "one labelled CSV (AG News format or label,text), split seeded and stratified"})
    validation_fraction: float = field(default=0.1, metadata={"help": "of the training data, for early stopping"})
    test_fraction: float = field(default=0.1, metadata={"help": "of --csv, held out for evaluation"})
    max_train: int | None = field(default=None, metadata={"help": "use at most N training texts (quick runs)"})
    model: str = field(default=DEFAULT_MODEL, metadata={
        "help": "registered model: wide_deep (the default: the best measured), compact, seed or bag"})
    variant: str | None = field(default=None, metadata={
        "help": "preset of dropout/l2/label_smoothing/patience/reduce_lr_patience (those flags, given too, win): "
                + ", ".join(VARIANTS), "choices": list(VARIANTS)})
    dropout: float = field(default=TUNED["dropout"], metadata={
        "help": "dropout of embeddings, attention, head (default: the model's tuned value, 0.5 for wide_deep, else 0)"})
    l2: float = field(default=TUNED["l2"], metadata={"help": "L2 factor on feed-forward and output kernels"})
    max_tokens: int = field(default=80000, metadata={"help": "vocabulary size (learnt from the training split)"})
    ngrams: int = field(default=2, metadata={"help": "1 = words, 2 = words and bigrams as tokens"})
    bag_tokens: int = field(default=200000, metadata={
        "help": "models with a TF-IDF bag (wide_deep, bag): its vocabulary size (learnt from the training split)"})
    bag_ngrams: int = field(default=2, metadata={"help": "the bag's n-grams: 1 = words, 2 = words and bigrams"})
    # Character n-grams and naive Bayes are on by default: together they score 0.8876 +- 0.0064 under test-cv,
    # 1.011 x the peer, serving 3,698 texts/s batched
    # (benchmarks/results/textclf_test_cv_wide_deep_chars_naive_bayes.md); character n-grams alone 0.8812
    # (textclf_test_cv_wide_deep_chars.md), neither 0.8795 (textclf_test_cv_wide_deep.md).
    bag_char_ngrams: int = field(default=5, metadata={
        "help": "models with a TF-IDF bag: add character 2..N-grams to it (0: words only)"})
    bag_char_tokens: int = field(default=300000, metadata={"help": "the bag's character n-gram vocabulary size"})
    bag_scale: float = field(default=BAG_SCALE, metadata={
        "help": "models with a TF-IDF bag: the L2-normalised TF-IDF is multiplied by this"})
    naive_bayes: bool = field(default=True, metadata={
        "help": "models with a TF-IDF bag: mix multinomial naive Bayes over the bag into their probabilities (its "
                "smoothing and weight chosen on validation data after training; --no-naive-bayes: none)"})
    path_dropout: float = field(default=PATH_DROPOUT, metadata={
        "help": "wide_deep: share of training examples that train only one path (deep or wide)"})
    sequence_length: int = field(default=128, metadata={"help": "tokens per text (longer texts are truncated)"})
    epochs: int = field(default=10, metadata={"help": "maximum epochs"})
    batch_size: int = field(default=32, metadata={"help": "texts per batch"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate"})
    optimizer: str = field(default="adam", metadata={"help": "adam, or adamw (decoupled weight decay)",
                                                     "choices": ["adam", "adamw"]})
    weight_decay: float = field(default=1e-4, metadata={"help": "AdamW weight decay (adamw only)"})
    schedule: str = field(default="plateau", metadata={
        "help": "plateau: halve the rate when validation loss stalls; cosine: linear warm-up, cosine decay to 0",
        "choices": ["plateau", "cosine"]})
    weight_averaging: float = field(default=0.0, metadata={
        "help": "momentum of an exponential moving average of the weights, used after training (0: off; e.g. 0.99)"})
    pretrain_epochs: int = field(default=0, metadata={
        "help": "epochs of masked-word pre-training of the embeddings and attention on the training texts before "
                "the classification fit (textclf.pretraining; 0: none; models without them skip it)"})
    warmup_epochs: float = field(default=1.0, metadata={"help": "warm-up length of the cosine schedule"})
    label_smoothing: float = field(default=TUNED["label_smoothing"], metadata={
        "help": "label smoothing of the cross-entropy"})
    patience: int = field(default=TUNED["patience"], metadata={
        "help": "early-stopping patience in epochs (0: no early stopping)"})
    reduce_lr_patience: int = field(default=TUNED["reduce_lr_patience"], metadata={
        "help": "plateau schedule: epochs without improvement before halving (0: never)"})
    test_curves: bool = field(default=True, metadata={
        "help": "also evaluate the test part each epoch for the report's curves (never used for choices)"})
    seed: int = field(default=0, metadata={"help": "random seed (splits, weights, shuffling)"})
    # The (variant, model) whose preset the preset fields hold (carried by dataclasses.replace; not a flag,
    # not saved).
    _preset: tuple | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        """Applies the preset of `variant` (none or "tuned": the model's tuned values, `tuned(model)`) to the
        preset fields that still hold the previous preset's values (the field defaults for a new config), so a
        value given explicitly wins: `replace(TextConfig(variant="base"), dropout=0.4).dropout == 0.4`, and
        `replace(config, variant="l2")` or `replace(config, model="compact")` switches the preset. A value equal
        to the previous preset's is indistinguishable from unset here: `core.config.build()` (used by flags,
        --set and load) sets explicit values again after the preset, so they always win."""
        if self.variant is not None and self.variant not in VARIANTS:
            raise UserError(f"--variant {self.variant!r} is unknown; variants are {', '.join(VARIANTS)}")
        key = (self.variant, self.model)
        if key == self._preset:
            return
        apply_preset(self, _preset_values(*self._preset) if self._preset else TUNED, _preset_values(*key))
        self._preset = key

    def validate(self) -> None:
        super().validate()
        if bool(self.data_dir) == bool(self.csv):
            raise UserError("pass exactly one of --data-dir (train.csv + test.csv) or --csv FILE")
        if not 0 < self.validation_fraction < 0.5 or not 0 < self.test_fraction < 0.5:
            raise UserError("--validation-fraction and --test-fraction must be in (0, 0.5)")
        if self.max_train is not None and self.max_train < 10:
            raise UserError(f"--max-train must be at least 10, got {self.max_train}")
        if self.patience < 0 or self.reduce_lr_patience < 0 or self.warmup_epochs < 0 or self.weight_decay < 0:
            raise UserError("--patience, --reduce-lr-patience, --warmup-epochs, --weight-decay must be >= 0")
        if self.epochs < 1 or self.batch_size < 1 or self.sequence_length < 2 or self.ngrams not in (1, 2):
            raise UserError("--epochs, --batch-size must be positive, --sequence-length >= 2, --ngrams 1 or 2")
        if not 0 <= self.dropout < 1 or not 0 <= self.label_smoothing < 1:
            raise UserError(f"--dropout and --label-smoothing must be in [0, 1), got {self.dropout} and "
                            f"{self.label_smoothing}")
        if self.l2 < 0 or self.learning_rate <= 0:
            raise UserError(f"--l2 must be >= 0 and --learning-rate positive, got {self.l2} and {self.learning_rate}")
        if self.pretrain_epochs < 0:
            raise UserError(f"--pretrain-epochs must be >= 0, got {self.pretrain_epochs}")
        if not 0 <= self.weight_averaging < 1:
            raise UserError(f"--weight-averaging must be in [0, 1), got {self.weight_averaging}")
        if self.bag_scale <= 0 or not 0 <= self.path_dropout <= 1:
            raise UserError(f"--bag-scale must be positive and --path-dropout in [0, 1], got {self.bag_scale} and "
                            f"{self.path_dropout}")
        if self.bag_char_ngrams not in (0, *range(2, 9)) or self.bag_char_tokens < 2:
            raise UserError(f"--bag-char-ngrams must be 0 or 2..8 and --bag-char-tokens at least 2, got "
                            f"{self.bag_char_ngrams} and {self.bag_char_tokens}")
        if self.bag_tokens < 2 or self.bag_ngrams not in (1, 2):
            raise UserError(f"--bag-tokens must be at least 2 and --bag-ngrams 1 or 2, got {self.bag_tokens} "
                            f"and {self.bag_ngrams}")
        if self.max_tokens < 3:
            raise UserError(f"--max-tokens must be at least 3 (padding, [UNK] and one token), got {self.max_tokens}")
