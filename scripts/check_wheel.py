"""Install a pipeline wheel into a fresh virtual environment that has trftrain, load it offline, and
check that it predicts what the source pipeline predicts.

    python scripts/check_wheel.py WHEEL NAME SOURCE_MODEL [--scratch DIR]
"""
import argparse
import json
import os
import site
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

PROBE = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
texts = ["Apple is looking at buying a U.K. startup for $1 billion.", "She didn't go to Berlin on Sunday."]
out = []
for doc in nlp.pipe(texts):
    out.append({"tags": [t.tag_ for t in doc], "heads": [t.head.i for t in doc], "deps": [t.dep_ for t in doc],
                "ents": [(e.start, e.end, e.label_) for e in doc.ents], "cats": {k: round(v, 4) for k, v in doc.cats.items()}})
print(json.dumps(out))
"""


def predictions(python: str, model: str, env: dict) -> list:
    result = subprocess.run([python, "-c", PROBE, model], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"Loading '{model}' failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("wheel", type=Path)
    parser.add_argument("name")
    parser.add_argument("source_model")
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="trftrain-wheel-"))
    venv.EnvBuilder(with_pip=True, clear=True).create(scratch)
    python = str(scratch / "bin" / "python")
    # The scratch environment sees this environment's packages (trftrain, spaCy, torch) through a .pth file,
    # and nothing of the pipeline: that comes from the wheel alone.
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # addsitedir (not a plain path) so that the parent's own .pth files, editable installs among them, apply too.
    lines = [f"import site; site.addsitedir({path!r})" for path in site.getsitepackages()]
    Path(purelib, "parent_env.pth").write_text("\n".join(lines) + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(args.wheel)], check=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    installed = predictions(python, args.name, env)
    source = predictions(sys.executable, args.source_model, env)
    if installed != source:
        sys.exit("The installed package predicts differently from the source pipeline.")
    print(f"✔ spacy.load('{args.name}') works offline in a fresh environment; predictions match the source model.")


if __name__ == "__main__":
    main()
