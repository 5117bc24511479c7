"""Training: the trainer, its configuration and checkpoints."""
