"""Unit tests of the kernel generator (run with `python -m unittest discover -s tests/generator -t .`)."""
