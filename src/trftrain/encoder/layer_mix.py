"""A learned mix of the encoder's hidden layers (the scalar mix of ELMo, offered by MaChAmp and
curated-transformers; UDPipe 2 averages the last four): lower layers carry more of the morphology and syntax
that tagging and parsing read, the last one more of what the pretraining task needed."""
from typing import Sequence

import torch

LAYER_MIXES = ("last", "scalar")


class ScalarMix(torch.nn.Module):
    """softmax(weights) . layers, times a learned scale. Starts as the plain average of all layers."""

    def __init__(self, n_layers: int):
        super().__init__()
        self.weights = torch.nn.Parameter(torch.zeros(n_layers))
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, layers: Sequence[torch.Tensor]) -> torch.Tensor:
        """layers: n_layers tensors of one shape, e.g. (windows, pieces, width) -> one tensor of that shape."""
        weights = torch.softmax(self.weights, dim=0).to(layers[0].dtype)
        mixed = weights[0] * layers[0]
        for weight, layer in zip(weights[1:], layers[1:]):
            mixed = mixed + weight * layer
        return self.scale.to(mixed.dtype) * mixed
