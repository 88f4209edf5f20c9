"""Moved to `models/likelihood.py` (label ranking uses it too); kept for old imports."""

from ..models.likelihood import (  # noqa: F401
    OptionScore,
    choose,
    continuation,
    encode_pair,
    option_logprobs,
)
