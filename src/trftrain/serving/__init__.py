"""`trftrain serve` and remote encoders: one server runs the transformer of trained pipelines, batching windows
of piece ids from many CPU processes that tokenize, pool and run the heads themselves."""
