"""Custom layers of the vision models, one public class per file."""

from vision.layers.locality_self_attention import LocalitySelfAttention
from vision.layers.patch_whitening import PatchWhitening
from vision.layers.scaled_bias import ScaledBias
from vision.layers.shifted_patch_tokenization import ShiftedPatchTokenization

__all__ = ["LocalitySelfAttention", "PatchWhitening", "ScaledBias", "ShiftedPatchTokenization"]
