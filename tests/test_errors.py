"""The error catalogue: stable, unique codes that users can search for, each one raised somewhere."""
import re
from pathlib import Path

from trftrain.errors import Errors, Warnings, codes

SRC = Path(__file__).parent.parent / "src" / "trftrain"


def test_codes_are_unique_and_shown_with_the_message():
    text = (SRC / "errors.py").read_text()
    defined = re.findall(r"^\s+([EW]\d{3}) =", text, flags=re.MULTILINE)
    assert len(defined) == len(set(defined)), sorted(c for c in defined if defined.count(c) > 1)
    assert Errors.E001.startswith("[E001] ") and codes(Errors)["E001"].startswith("Config file")


def test_every_code_is_raised_somewhere():
    source = "\n".join(p.read_text() for p in SRC.rglob("*.py") if p.name != "errors.py")
    unused = [code for catalogue, name in ((Errors, "Errors"), (Warnings, "Warnings")) for code in codes(catalogue)
              if f"{name}.{code}" not in source]
    assert not unused, unused
