"""Custom layers of the text classifier, one public class per file."""

from textclf.layers.self_attention import SelfAttention

__all__ = ["SelfAttention"]
