"""spaCy components backed by torch modules."""
