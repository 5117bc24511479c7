"""The maths in pure functions: label distributions, accuracy metrics, intervals."""
