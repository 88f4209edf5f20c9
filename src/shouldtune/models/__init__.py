"""Model resolution and the language-model wrapper (torch lives here, not in core)."""
