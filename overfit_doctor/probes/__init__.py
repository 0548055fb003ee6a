"""Active experiments on a model and its data; the only package that imports torch."""
