"""The one training loop every fine-tuning strategy shares, and its data preparation."""
