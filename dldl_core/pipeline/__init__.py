"""Prediction: face detection and alignment, the network's forward path, predictors."""
