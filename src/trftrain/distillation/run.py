"""A distillation run: check the student against the teacher, fill (or reuse) the teacher's cache from the raw
text, then train the student on it with the loop its kind uses (trftrain's for a trftrain student, spaCy's for
a spaCy pipeline), gold examples mixed in when given."""
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..errors import Errors, TrftrainError
from .annotate import fill_cache
from .cache import META_FILE, TeacherCache, pipeline_fingerprint, raw_identity
from .pairing import pair_components, pipeline_factories, unpaired
from .raw_text import RawTextReader
from .student_config import SPACY, TRFTRAIN, dev_path, read_student_config, teacher_encoder_folder
from .teacher import Teacher, load_teacher_pipeline

STUDENT_CONFIG_FILE = "student.cfg"
SHOWN_PROBLEMS = 5


@dataclass
class DistillOptions:
    """temperature (float): softens teacher and student scores alike (1: as they are); gold_fraction (float): share
    of training batches drawn from --gold; soft (bool): soft targets where the student can take them (False: the
    teacher's decoded labels only); top_k (int): labels and parser heads cached per token; batch_size (int): texts
    per teacher call; max_chars (int): longest raw text kept; text_field (str): the text's field in .jsonl;
    shard_docs (int): docs per cache shard (what a student holds in memory at once)."""

    temperature: float = 2.0
    gold_fraction: Optional[float] = None
    soft: bool = True
    top_k: int = 8
    batch_size: int = 64
    max_chars: int = 100_000
    text_field: str = "text"
    shard_docs: int = 1000

    def check(self, gold: Optional[Path]) -> float:
        """The gold fraction to use; refuses values that make no sense."""
        if not self.temperature > 0:
            raise TrftrainError(Errors.E507.format(option="temperature", value=self.temperature,
                                                   problem="must be > 0 (1 keeps the scores as they are)."))
        if self.top_k < 1 or self.batch_size < 1 or self.shard_docs < 1:
            raise TrftrainError(Errors.E507.format(option="top-k / --teacher-batch-size / --shard-docs",
                                                   value=(self.top_k, self.batch_size, self.shard_docs),
                                                   problem="must be >= 1."))
        fraction = self.gold_fraction if self.gold_fraction is not None else (0.25 if gold is not None else 0.0)
        if not 0 <= fraction < 1:
            raise TrftrainError(Errors.E507.format(option="gold-fraction", value=fraction,
                                                   problem="must be >= 0 and < 1 (the rest are teacher batches)."))
        if fraction > 0 and gold is None:
            raise TrftrainError(Errors.E507.format(option="gold-fraction", value=fraction,
                                                   problem="needs --gold CORPUS.spacy to draw gold batches from."))
        if gold is not None and not Path(gold).exists():
            raise TrftrainError(Errors.E507.format(option="gold", value=gold, problem="no such file or folder."))
        return fraction


def teacher_folder(teacher: str) -> Path:
    """The teacher's pipeline folder (the one holding config.cfg): the folder given, or the data folder of an
    installed pipeline package."""
    from spacy.util import get_package_path, is_package

    if Path(teacher).exists():
        return Path(teacher)
    if is_package(teacher):
        package = get_package_path(teacher)
        found = sorted(package.glob("*/config.cfg"))
        return found[0].parent if found else package
    raise TrftrainError(Errors.E508.format(path=teacher, problem="no such folder or installed package"))


def distill(teacher: str, student_config: Path, raw: Path, output: Path, *, gold: Optional[Path] = None,
            dev: Optional[Path] = None, cache: Optional[Path] = None, options: DistillOptions = DistillOptions(),
            overrides: Optional[dict] = None, gpu_id: int = -1, resume: bool = False, overwrite: bool = False,
            teacher_remote: Sequence[str] = (), stdout=None, stderr=None) -> Optional[Path]:
    """Train the student STUDENT_CONFIG describes on TEACHER's annotation of RAW; returns the student's model-best
    (model-last without an evaluation), in OUTPUT. teacher_remote: URLs of `trftrain serve` servers that serve the
    teacher's encoder (its heads then run here); empty runs the whole teacher here."""
    from ..runtime import select_device
    from ..training.output import OutputFolder

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr

    def say(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    gold_fraction = options.check(gold)
    kind, config = read_student_config(student_config, overrides)
    dev_corpus = dev_path(config, dev, student_config)
    if resume and kind == SPACY:
        raise TrftrainError(Errors.E509.format(path=output, config=student_config))
    reader = RawTextReader(raw, max_chars=options.max_chars, text_field=options.text_field)
    folder = teacher_folder(teacher)
    cache_dir = Path(cache) if cache is not None else Path(output) / "cache"
    identity = {"teacher": {"path": str(teacher), "fingerprint": pipeline_fingerprint(folder)},
                "raw": raw_identity(raw, max_chars=options.max_chars, text_field=options.text_field),
                "top_k": options.top_k}
    teacher_model, teacher_cache = None, None
    if _complete(cache_dir):
        teacher_cache = TeacherCache.open(cache_dir, identity)  # checks that it is this teacher's; writes nothing
        components, teacher_factories = teacher_cache.components, teacher_cache.meta["teacher"]["factories"]
    else:
        teacher_model = Teacher(load_teacher_pipeline(teacher, select_device(gpu_id), teacher_remote),
                                top_k=options.top_k)
        components, teacher_factories = teacher_model.components, teacher_model.factories
    # Refused before anything is written: a student that cannot learn from this teacher.
    student_factories = pipeline_factories(config)
    pairs = pair_components(student_factories, {n: c["factory"] for n, c in components.items()},
                            student_label=str(student_config), teacher_label=str(teacher))
    OutputFolder(output).prepare(resume=resume, overwrite=overwrite)
    for name in unpaired(student_factories, pairs):
        say(f"ℹ '{name}' has no counterpart in the teacher: it learns from --gold examples only.")
    say("Pairs (student <- teacher): " + ", ".join(
        f"{p.student} <- {p.teacher} ({'soft' if p.soft and options.soft else 'hard labels'})" for p in pairs))
    if teacher_model is not None:
        identity["teacher"].update(components=components, factories=teacher_factories)
        teacher_cache = TeacherCache.open(cache_dir, identity)
        say(f"Teacher '{teacher}' is annotating {raw} into {cache_dir} ...")
        fill_cache(teacher_model, reader, teacher_cache, batch_size=options.batch_size,
                   shard_docs=options.shard_docs, say=say)
        del teacher_model
    else:
        say(f"Reusing the teacher's annotation in {cache_dir}.")
    _report(teacher_cache, raw, say)
    if teacher_cache.n_docs == 0:
        problems = "; ".join(str(p) for p in teacher_cache.problems()[:SHOWN_PROBLEMS]) or "the file is empty"
        raise TrftrainError(Errors.E502.format(path=raw, problems=problems, field=options.text_field))
    encoder = teacher_encoder_folder(folder, components, teacher_factories)
    if kind == TRFTRAIN:
        return _train_trftrain(config, pairs, teacher_cache, output, options, gold=gold, gold_fraction=gold_fraction,
                               dev=dev_corpus, teacher_encoder=encoder, gpu_id=gpu_id, resume=resume,
                               stdout=stdout, stderr=stderr)
    return _train_spacy(config, teacher_cache, output, gold=gold, gold_fraction=gold_fraction, dev=dev_corpus,
                        teacher_encoder=encoder, gpu_id=gpu_id, stdout=stdout, stderr=stderr)


def _complete(cache_dir: Path) -> bool:
    import json

    try:
        return bool(json.loads((cache_dir / META_FILE).read_text(encoding="utf8")).get("complete"))
    except (OSError, ValueError):
        return False


def _report(cache: TeacherCache, raw: Path, say) -> None:
    problems = cache.problems()
    say(f"Teacher's annotation: {cache.n_docs:,} texts, "
        f"{sum(s['tokens'] for s in cache.meta['shards']):,} tokens in {cache.n_shards} shard(s).")
    if problems:
        shown = "; ".join(str(p) for p in problems[:SHOWN_PROBLEMS])
        more = f" (and {len(problems) - SHOWN_PROBLEMS:,} more)" if len(problems) > SHOWN_PROBLEMS else ""
        say(f"⚠ Skipped {len(problems):,} raw input(s) of {raw}: {shown}{more}. "
            f"All of them: {cache.path / 'raw-problems.jsonl'}")


def _train_trftrain(config, pairs, cache, output: Path, options: DistillOptions, *, gold, gold_fraction, dev,
                    teacher_encoder, gpu_id, resume, stdout, stderr) -> Optional[Path]:
    from ..training.loop import train
    from .student_config import prepare_trftrain
    from .training_source import DistillationSource

    config = prepare_trftrain(config, pairs, cache.components, cache=cache.path, gold=gold, gold_fraction=gold_fraction,
                              dev=dev, teacher_encoder=teacher_encoder)
    path = Path(output) / STUDENT_CONFIG_FILE
    path.write_text(config.to_str(), encoding="utf8")
    source = DistillationSource(cache, pairs, temperature=options.temperature, soft=options.soft, gold=gold,
                                gold_fraction=gold_fraction)
    return train(path, output, gpu_id=gpu_id, resume=resume, stdout=stdout, stderr=stderr, source=source)


def _train_spacy(config, cache, output: Path, *, gold, gold_fraction, dev, teacher_encoder, gpu_id, stdout,
                 stderr) -> Optional[Path]:
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_nlp

    from . import spacy_corpus  # noqa: F401  (registers trftrain.TeacherCorpus.v1)
    from .student_config import prepare_spacy

    config = prepare_spacy(config, cache=cache.path, gold=gold, gold_fraction=gold_fraction, dev=dev,
                           teacher_encoder=teacher_encoder)
    (Path(output) / STUDENT_CONFIG_FILE).write_text(config.to_str(), encoding="utf8")
    use_gpu = gpu_id if gpu_id >= 0 and _has_cupy() else -1
    if gpu_id >= 0 and use_gpu < 0:
        stderr.write("ℹ spaCy's components train on the CPU here (they need CuPy for a GPU); the teacher used the GPU.\n")
    if use_gpu >= 0:
        from thinc.api import require_gpu

        require_gpu(use_gpu)
    # spaCy initializes from the first 100 examples of a streamed corpus (max_epochs -1), so a tag, relation or
    # entity type that the teacher or the gold first uses later is unknown to the student and stops its training
    # (KeyError in the loss). One full pass instead finds every label, one shard in memory at a time; it costs
    # each component that collects labels a pass at start-up (the quick bench's CNN tagger+parser: 16 s instead of
    # 2 s for 9,601 texts on 2 cores), and a sample of label values alone missed 3 of the parser's 49 labels.
    nlp = init_nlp(_with_max_epochs(config, 1), use_gpu=use_gpu)
    nlp.config["training"]["max_epochs"] = -1
    train_nlp(nlp, Path(output), use_gpu=use_gpu, stdout=stdout, stderr=stderr)
    best = Path(output) / "model-best"
    return best if best.exists() else Path(output) / "model-last"


def _with_max_epochs(config, epochs: int):
    changed = config.copy()
    changed["training"]["max_epochs"] = epochs
    return changed


def _has_cupy() -> bool:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True
