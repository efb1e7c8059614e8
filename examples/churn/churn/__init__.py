"""Customer-churn model: feature preparation, training and evaluation."""

__version__ = "0.1.0"
