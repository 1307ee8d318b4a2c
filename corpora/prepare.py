"""Fetch (or copy from a local folder), verify and convert the public corpora into corpora/converted/.

    python corpora/prepare.py --source ../shared/corpora        # offline, from a local copy
    python corpora/prepare.py                                   # download from the manifest's URLs
"""
import argparse
import hashlib
import json
import shutil
import sys
import urllib.request
from pathlib import Path

from spacy.tokens import DocBin
from spacy.vocab import Vocab

from trftrain.cli.convert import convert

HERE = Path(__file__).parent
CONVERSIONS = {
    "ud-en-ewt": [("en_ewt-ud-train.conllu", "ewt-train.spacy"), ("en_ewt-ud-dev.conllu", "ewt-dev.spacy"),
                  ("en_ewt-ud-test.conllu", "ewt-test.spacy")],
    "conll2003-en": [("eng.train", "conll-train.spacy"), ("eng.testa", "conll-dev.spacy"), ("eng.testb", "conll-test.spacy")],
    "sst2": [("stsa.binary.train", "sst2-train.spacy"), ("stsa.binary.dev", "sst2-dev.spacy"),
             ("stsa.binary.test", "sst2-test.spacy")],
    "goemotions": [("train.tsv", "goemotions-train.spacy"), ("dev.tsv", "goemotions-dev.spacy"),
                   ("test.tsv", "goemotions-test.spacy")],
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(name: str, entry: dict, source: Path, downloads: Path) -> Path:
    target = downloads / name
    target.mkdir(parents=True, exist_ok=True)
    for filename, digest in entry["files"].items():
        path = target / filename
        if not (path.exists() and sha256(path) == digest):
            if source is not None:
                if not (source / name / filename).is_file():
                    sys.exit(f"{source / name / filename} not found: --source (make: SOURCE=) must name the folder "
                             f"that holds {name}/ and the other corpora (e.g. ../shared/corpora beside this "
                             "clone), or be empty (SOURCE=) to download them.")
                shutil.copyfile(source / name / filename, path)
            else:
                remote = entry.get("renamed", {}).get(filename, filename)
                urllib.request.urlretrieve(entry["base_url"] + remote, path)
        if sha256(path) != digest:
            sys.exit(f"Checksum mismatch for {path}: expected {digest}. Remove it and fetch again.")
    return target


def convert_corpus(name: str, raw: Path, out: Path) -> None:
    for source_file, output_file in CONVERSIONS[name]:
        options = {}
        if name == "ud-en-ewt":
            fmt = "conllu"
        elif name == "conll2003-en":
            fmt = "conll-ner"
        elif name == "sst2":
            fmt, options = "tsv", dict(delimiter=" ", label_column=0, text_column=1, labels="NEG,POS")
        else:
            fmt, options = "tsv", dict(multilabel=True, labels=f"@{raw / 'emotions.txt'}")
        count = convert(raw / source_file, out / output_file, fmt, **options)
        print(f"  {output_file}: {count} docs")
    if name == "ud-en-ewt":
        # The slice the anchor figures use: the first 2,000 training sentences as 10-sentence docs.
        docs = list(DocBin().from_disk(out / "ewt-train.spacy").get_docs(Vocab()))[:200]
        DocBin(docs=docs).to_disk(out / "ewt-train-2k.spacy")
        print("  ewt-train-2k.spacy: 200 docs (first 2,000 sentences)")
        # The same sentences with the treebank's paragraph breaks as blank lines, as its raw text has them.
        for source_file, output_file in CONVERSIONS[name]:
            paragraphs_file = with_paragraphs(output_file)
            count = convert(raw / source_file, out / paragraphs_file, "conllu", paragraphs=True)
            print(f"  {paragraphs_file}: {count} docs")


def with_paragraphs(output_file: str) -> str:
    return output_file.replace(".spacy", "-paragraphs.spacy")


def outputs(name: str) -> list:
    """Every file convert_corpus writes for the corpus: all there means it is converted."""
    files = [target for _, target in CONVERSIONS[name]]
    if name == "ud-en-ewt":
        files += ["ewt-train-2k.spacy"] + [with_paragraphs(target) for target in files]
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="Folder holding the corpora (one sub-folder each), instead of downloading.")
    parser.add_argument("--only", default="", help="Comma-separated corpus names.")
    args = parser.parse_args()
    manifest = {k: v for k, v in json.loads((HERE / "manifest.json").read_text()).items() if not k.startswith("_")}
    names = [n for n in manifest if not args.only or n in args.only.split(",")]
    out = HERE / "converted"
    out.mkdir(exist_ok=True)
    for name in names:
        if all((out / target).exists() for target in outputs(name)):
            print(f"{name}: already converted")
            continue
        print(f"{name}:")
        raw = fetch(name, manifest[name], args.source, HERE / "downloads")
        convert_corpus(name, raw, out)


if __name__ == "__main__":
    main()
