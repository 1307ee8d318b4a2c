"""Hugging Face encoders that read spaCy Docs."""
