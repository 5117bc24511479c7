"""Evaluation on labelled data, the wild proxy's summary, export parity."""
