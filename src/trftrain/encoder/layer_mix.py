"""A learned mix of the encoder's hidden layers (the scalar mix of ELMo, offered by MaChAmp and
curated-transformers; UDPipe 2 averages the last four): lower layers carry more of the morphology and syntax
that tagging and parsing read, the last one more of what the pretraining task needed."""
from typing import Sequence

import torch

LAYER_MIXES = ("last", "scalar")
# Adam moves a parameter by about its learning rate per step whatever the size of its gradient, so at the heads'
# rate (1e-3, warmed up and decayed) stored mix logits moved less than 0.3 in a 240-step run: the mix stayed the
# even average it starts as. The logits are stored divided by this factor, which makes them learn that much faster.
LOGIT_SCALE = 30.0


class ScalarMix(torch.nn.Module):
    """softmax(LOGIT_SCALE * logits) . layers, times a learned scale. Starts as the plain average of all layers."""

    def __init__(self, n_layers: int):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.zeros(n_layers))
        self.scale = torch.nn.Parameter(torch.ones(()))
        self._register_load_state_dict_pre_hook(_read_unscaled_weights)

    def layer_weights(self) -> torch.Tensor:
        """The share of each layer in the mix (sums to 1)."""
        return torch.softmax(LOGIT_SCALE * self.logits, dim=0)

    def forward(self, layers: Sequence[torch.Tensor]) -> torch.Tensor:
        """layers: n_layers tensors of one shape, e.g. (windows, pieces, width) -> one tensor of that shape."""
        weights = self.layer_weights().to(layers[0].dtype)
        mixed = weights[0] * layers[0]
        for weight, layer in zip(weights[1:], layers[1:]):
            mixed = mixed + weight * layer
        return self.scale.to(mixed.dtype) * mixed


def _read_unscaled_weights(state_dict, prefix, *args) -> None:
    """Pipelines saved before LOGIT_SCALE stored the softmax's input itself as `weights`: keep their mix."""
    old = state_dict.pop(prefix + "weights", None)
    if old is not None and prefix + "logits" not in state_dict:
        state_dict[prefix + "logits"] = old / LOGIT_SCALE
