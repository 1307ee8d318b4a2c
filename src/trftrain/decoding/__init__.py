"""Decoders that turn scores into valid structures."""
