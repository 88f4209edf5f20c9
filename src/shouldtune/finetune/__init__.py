"""The one training loop every fine-tuning strategy shares, and its data preparation: the
components. The strategies built on them live in strategies/ (finetuned.py and its variants)."""
