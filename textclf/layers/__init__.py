"""Custom layers of the text classifier, one public class per file."""

from textclf.layers.add_sine_positions import AddSinePositions
from textclf.layers.bag_of_ngrams import BagOfNgrams
from textclf.layers.encoder_block import EncoderBlock
from textclf.layers.multinomial_naive_bayes import MultinomialNaiveBayes
from textclf.layers.path_dropout import PathDropout
from textclf.layers.probability_mixture import ProbabilityMixture
from textclf.layers.self_attention import SelfAttention

__all__ = ["AddSinePositions", "BagOfNgrams", "EncoderBlock", "MultinomialNaiveBayes", "PathDropout",
           "ProbabilityMixture", "SelfAttention"]
