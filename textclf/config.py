"""Every hyper-parameter and path of a text-classification run."""

import dataclasses
from dataclasses import field

from core.config import RunOptions
from core.errors import UserError

# The seeds' regularisation comparison (each one thing on an unregularised base) and the tuned default.
# A variant sets these fields, overriding their flags.
VARIANTS = {
    # The field defaults below: the best mean under test-cv (benchmarks/results/textclf_test_cv_l2_tok80k.md):
    # L2 1e-4 only, every epoch trained, 80k-token vocabulary of words and bigrams. The compact variants differ
    # by less than one standard deviation; early stopping was the one consistent loss.
    "tuned": {},
    "base": {"dropout": 0.0, "l2": 0.0, "label_smoothing": 0.0, "patience": 0, "reduce_lr_patience": 0},
    "l2": {"dropout": 0.0, "l2": 1e-4, "label_smoothing": 0.0, "patience": 0, "reduce_lr_patience": 0},
    "dropout": {"dropout": 0.1, "l2": 0.0, "label_smoothing": 0.0, "patience": 0, "reduce_lr_patience": 0},
    "early_stopping": {"dropout": 0.0, "l2": 0.0, "label_smoothing": 0.0, "patience": 2, "reduce_lr_patience": 0},
}


@dataclasses.dataclass
class TextConfig(RunOptions):
    EXPORT_PREFIX = "textclf"

    data_dir: str | None = field(default=None, metadata={"help": "AG News canonical layout: train.csv, test.csv"})
    csv: str | None = field(default=None, metadata={
        "help": "one labelled CSV (AG News format or label,text), split seeded and stratified"})
    validation_fraction: float = field(default=0.1, metadata={"help": "of the training data, for early stopping"})
    test_fraction: float = field(default=0.1, metadata={"help": "of --csv, held out for evaluation"})
    max_train: int | None = field(default=None, metadata={"help": "use at most N training texts (quick runs)"})
    model: str = field(default="compact", metadata={"help": "registered model: compact or seed"})
    variant: str | None = field(default=None, metadata={
        "help": "preset of dropout/l2/label_smoothing/patience (overrides those flags): " + ", ".join(VARIANTS),
        "choices": list(VARIANTS)})
    dropout: float = field(default=0.0, metadata={"help": "dropout of embeddings, attention, head"})
    l2: float = field(default=1e-4, metadata={"help": "L2 factor on feed-forward and output kernels"})
    max_tokens: int = field(default=80000, metadata={"help": "vocabulary size (learnt from the training split)"})
    ngrams: int = field(default=2, metadata={"help": "1 = words, 2 = words and bigrams as tokens"})
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
    warmup_epochs: float = field(default=1.0, metadata={"help": "warm-up length of the cosine schedule"})
    label_smoothing: float = field(default=0.0, metadata={"help": "label smoothing of the cross-entropy"})
    patience: int = field(default=0, metadata={"help": "early-stopping patience in epochs (0: no early stopping)"})
    reduce_lr_patience: int = field(default=0, metadata={
        "help": "plateau schedule: epochs without improvement before halving (0: never)"})
    test_curves: bool = field(default=True, metadata={
        "help": "also evaluate the test part each epoch for the report's curves (never used for choices)"})
    seed: int = field(default=0, metadata={"help": "random seed (splits, weights, shuffling)"})

    def __post_init__(self):
        if self.variant is not None:
            if self.variant not in VARIANTS:
                raise UserError(f"--variant {self.variant!r} is unknown; variants are {', '.join(VARIANTS)}")
            for key, value in VARIANTS[self.variant].items():
                setattr(self, key, value)

    def validate(self) -> None:
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
