"""shouldtune: measure whether fine-tuning beats the alternatives for your task."""

__version__ = "0.1.0"
