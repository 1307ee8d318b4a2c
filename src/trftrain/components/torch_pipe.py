"""What every trftrain component shares: torch modules, a device, and saving as safetensors + JSON."""
import tempfile
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Tuple

import srsly
import torch
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.util import minibatch

from ..cpu_threads import apply_thread_policy
from ..errors import Errors, TrftrainError

WEIGHTS_FILE = "model.safetensors"
SETTINGS_FILE = "cfg.json"


class TorchPipe(Pipe):
    """A spaCy pipe whose weights are torch modules, trained by trftrain's trainer rather than `nlp.update`."""

    def __init__(self, vocab, name: str):
        self.vocab = vocab
        self.name = name
        self.device = torch.device("cpu")
        apply_thread_policy()

    @property
    def is_trainable(self) -> bool:
        # True so that spaCy's loggers show this component's loss column.
        return True

    def update(self, *args, **kwargs):
        raise NotImplementedError(f"'{self.name}' is trained by `trftrain train`, not by `nlp.update`.")

    def torch_modules(self) -> Dict[str, torch.nn.Module]:
        """The modules whose weights are saved, by file-safe name."""
        raise NotImplementedError

    def to(self, device) -> "TorchPipe":
        self.device = torch.device(device)
        for module in self.torch_modules().values():
            module.to(self.device)
        return self

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        apply_thread_policy()  # a no-op once per process; decides again in a forked worker (nlp.pipe n_process)
        for docs in minibatch(stream, size=batch_size):
            self.set_annotations(docs, self.predict(docs))
            yield from docs

    def __call__(self, doc: Doc) -> Doc:
        apply_thread_policy()
        self.set_annotations([doc], self.predict([doc]))
        return doc

    # -- serialization: a folder per component; subclasses add their own files ------------------------------
    def to_disk(self, path, *, exclude=tuple()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / SETTINGS_FILE, self.settings())
        self.save_weights(path)
        # safetensors creates its files readable by their owner alone (0600), unlike every other file of a
        # pipeline; a model folder shared with a team or copied into a container should read the same throughout.
        # The settings file just written has the mode the user's umask gives.
        mode = (path / SETTINGS_FILE).stat().st_mode & 0o777
        for file in path.rglob("*.safetensors"):
            file.chmod(mode)

    def from_disk(self, path, *, exclude=tuple()) -> "TorchPipe":
        path = Path(path)
        self.load_settings(srsly.read_json(path / SETTINGS_FILE))
        self.load_weights(path)
        return self

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            self.to_disk(tmp, exclude=exclude)
            files = {p.relative_to(tmp).as_posix(): p.read_bytes() for p in Path(tmp).rglob("*") if p.is_file()}
        return srsly.msgpack_dumps(files)

    def from_bytes(self, data: bytes, *, exclude=tuple()) -> "TorchPipe":
        files = srsly.msgpack_loads(data)
        if not isinstance(files, dict):
            raise TrftrainError(Errors.E701.format(component=self.name, found=type(files).__name__))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp).resolve()
            # Every name is checked before anything is written: a blob from elsewhere must not write outside tmp.
            targets = [(inside_folder(root, name, self.name), content) for name, content in files.items()]
            for target, content in targets:
                if not isinstance(content, bytes):
                    raise TrftrainError(Errors.E701.format(component=self.name, found=type(content).__name__))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            self.from_disk(root, exclude=exclude)
        return self

    def settings(self) -> dict:
        return {}

    def load_settings(self, settings: dict) -> None:
        pass

    def save_weights(self, path: Path) -> None:
        raise NotImplementedError

    def load_weights(self, path: Path) -> None:
        raise NotImplementedError


def inside_folder(root: Path, name, component: str) -> Path:
    """root / name, refused unless name is a relative path that stays inside root (no "..", no absolute
    name, no backslash, no link out).

    root (Path): resolved folder the files go to.
    name (str): a file name from a serialized blob.
    component (str): the component being loaded, for the message.
    """
    if not isinstance(name, str) or not name or "\x00" in name or "\\" in name:
        raise TrftrainError(Errors.E700.format(component=component, name=repr(name)))
    relative = Path(name)
    if relative.is_absolute() or relative.anchor or ".." in relative.parts:
        raise TrftrainError(Errors.E700.format(component=component, name=repr(name)))
    target = (root / relative).resolve()
    if root not in target.parents:
        raise TrftrainError(Errors.E700.format(component=component, name=repr(name)))
    return target


def encoders_of(nlp) -> Iterator[Tuple[str, torch.nn.Module]]:
    """(component name, encoder) for the shared transformer and every private encoder of a pipeline."""
    for name, proc in nlp.pipeline:
        if isinstance(proc, TorchPipe):
            for key, module in proc.torch_modules().items():
                if key == "encoder":
                    yield name, module


def labels_in_order(counts: Dict[str, int]) -> List[str]:
    """Labels sorted for a stable output layer whatever order the corpus had."""
    return sorted(label for label in counts if label)
