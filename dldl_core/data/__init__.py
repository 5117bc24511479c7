"""Datasets, image loading, augmentation and the synthetic scenes of the benchmarks."""
