"""Shared fixtures: a tiny tokenizer and random Llama model (no downloads), a hashing
embedder, and a factory for task folders."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

TINY_TOKENIZER_DIR = Path(__file__).resolve().parent / "fixtures" / "tiny_tokenizer"


DECISION_MARK = "pytestmark = pytest.mark.decision"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`pytest -m decision` imports only the modules of the decision tier: collecting the
    others would import torch (and take longer than the tier's tests)."""
    if config.getoption("markexpr") != "decision" or collection_path.suffix != ".py":
        return None
    if not collection_path.name.startswith("test_"):
        return None
    return DECISION_MARK not in collection_path.read_text(encoding="utf-8") or None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The decision tier (`pytest -m decision`) must never load torch: a test that needs a
    model belongs outside it (CONTRIBUTING.md, Tests). Fail the run when one did."""
    if session.config.getoption("markexpr") == "decision" and "torch" in sys.modules:
        print("\nERROR: the decision tier imported torch; move the test that needs it out")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(TINY_TOKENIZER_DIR)


def _random_llama_dir(tok, folder: Path, tied: bool, seed: int) -> Path:
    """A 2-layer random Llama (safetensors) and the tiny tokenizer, saved in `folder`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tok),
        max_position_embeddings=512,
        tie_word_embeddings=tied,
        # Wider than the 0.02 default so greedy decoding emits varied, non-empty text
        # (at 0.02 the random model just repeats the last token, "\n").
        initializer_range=0.2,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)  # transformers v5 writes safetensors
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_tokenizer, tmp_path_factory) -> Path:
    """A folder with a 2-layer random Llama (safetensors) and the tiny tokenizer."""
    return _random_llama_dir(tiny_tokenizer, tmp_path_factory.mktemp("tiny_model"), True, 0)


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir):
    from shouldtune.models.lm import LanguageModel

    return LanguageModel.load("tiny", tiny_model_dir)


class HashingEmbedder:
    """Deterministic bag-of-words embedder: each lower-cased word hashes to one of `dim`
    buckets (with a sign); rows are L2-normalised. Texts sharing words get high cosine."""

    name = "hashing-bow"

    def __init__(self, dim: int = 256):
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            vec[value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0] = 1.0  # empty text: a fixed unit vector, never NaN
            return vec
        return vec / norm

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)


@pytest.fixture(scope="session")
def fake_embedder() -> HashingEmbedder:
    return HashingEmbedder()


def _write_jsonl(path: Path, rows: Sequence[Any]) -> None:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.fixture
def make_task_dir(tmp_path) -> Callable[..., Path]:
    """make_task_dir(train, test=None, config=None, docs=None, name="task") -> folder.

    train/test: lists of dicts (dumped as JSON) or raw strings (written verbatim as lines).
    config: dict merged over {"name": name}; or a raw str written verbatim as task.yaml.
    docs: {"relative/path.md": "text"} written under docs/.
    """
    counter = {"n": 0}

    def make(
        train: Sequence[Any] | None = None,
        test: Sequence[Any] | None = None,
        config: dict[str, Any] | str | None = None,
        docs: dict[str, str] | None = None,
        name: str = "task",
    ) -> Path:
        counter["n"] += 1
        root = tmp_path / f"{name}{counter['n']}"
        root.mkdir()
        if isinstance(config, str):
            (root / "task.yaml").write_text(config, encoding="utf-8")
        else:
            data = {"name": name, **(config or {})}
            (root / "task.yaml").write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
        if train is not None:
            _write_jsonl(root / "train.jsonl", train)
        if test is not None:
            _write_jsonl(root / "test.jsonl", test)
        for rel, text in (docs or {}).items():
            path = root / "docs" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root

    return make


@pytest.fixture(scope="session")
def notemplate_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model as a base model ships: no chat template (plain fallback prompts) and no
    padding token (the end-of-text token pads)."""
    import shutil

    folder = tmp_path_factory.mktemp("notemplate_model")
    for f in tiny_model_dir.iterdir():
        if f.is_file() and f.name != "chat_template.jinja":
            shutil.copy(f, folder / f.name)
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    config["pad_token"] = None
    config_path.write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def notemplate_lm(notemplate_model_dir):
    from shouldtune.models.lm import LanguageModel

    lm = LanguageModel.load("plain", notemplate_model_dir)
    assert not lm.has_chat_template()
    return lm


@pytest.fixture(scope="session")
def untied_model_dir(tiny_tokenizer, tmp_path_factory) -> Path:
    """A 2-layer random Llama whose output head is its own matrix (untied embeddings)."""
    return _random_llama_dir(tiny_tokenizer, tmp_path_factory.mktemp("untied_model"), False, 1)


@pytest.fixture(autouse=True, scope="session")
def _calibration_cache(tmp_path_factory):
    """Speed calibrations (estimate/speed.py) go to a temporary folder, not ~/.cache: a test
    run must not leave files in the home folder, nor reuse a developer's calibration."""
    import os

    old = os.environ.get("SHOULDTUNE_CALIBRATION")
    folder = tmp_path_factory.mktemp("shouldtune_cache")
    os.environ["SHOULDTUNE_CALIBRATION"] = str(folder / "calibration.json")
    yield
    if old is None:
        os.environ.pop("SHOULDTUNE_CALIBRATION", None)
    else:
        os.environ["SHOULDTUNE_CALIBRATION"] = old
