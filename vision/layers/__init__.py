"""Custom layers of the vision models, one public class per file."""

from vision.layers.locality_self_attention import LocalitySelfAttention
from vision.layers.shifted_patch_tokenization import ShiftedPatchTokenization

__all__ = ["LocalitySelfAttention", "ShiftedPatchTokenization"]
