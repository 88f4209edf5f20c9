"""Hallucination, new knowledge and forgetting: SliCK on the training data, abstention and
fabrication on SelfAware, general-knowledge forgetting, before and after each fine-tune."""
