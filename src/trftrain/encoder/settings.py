"""The encoder's settings and their defaults, in one place: the registered architecture, the component factory,
TokenEncoder and `trftrain init-config` all read them from here."""
from dataclasses import asdict, dataclass
from typing import Optional


@dataclass(frozen=True)
class EncoderSettings:
    """window, stride (int): window length and distance between window starts, in pieces (specials excluded).
    pooling (str): how a token's pieces become its vector: "mean", "first" or "last".
    max_padded_pieces (int): padded pieces (specials included) per encoder call.
    attention_dropout, hidden_dropout (Optional[float]): training dropout instead of the encoder's own (None keeps it).
    inference_precision (str): "auto" (bf16 where the hardware multiplies it natively), "bf16", "fp16" or "off".
    layers (Optional[int]): keep only the encoder's first `layers` layers (a smaller student); None keeps all.
    layer_mix (str): "last" reads the last hidden layer; "scalar" a learned mix of all of them (layer_mix.py)."""

    window: int = 128
    stride: int = 96
    pooling: str = "mean"
    max_padded_pieces: int = 1024
    attention_dropout: Optional[float] = None
    hidden_dropout: Optional[float] = None
    inference_precision: str = "auto"
    layers: Optional[int] = None
    layer_mix: str = "last"

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT = EncoderSettings()


def sized_for(max_input: int, n_special: int) -> EncoderSettings:
    """The default settings with the window cut to what an encoder of `max_input` positions accepts; the stride
    keeps the default's ratio (a quarter of each window is context shared with the next)."""
    window = min(DEFAULT.window, max_input - n_special)
    stride = max(1, window * DEFAULT.stride // DEFAULT.window)
    return EncoderSettings(**{**DEFAULT.as_dict(), "window": window, "stride": stride})
