"""Evaluate one strategy on the held-out set: quality with CI, latency, throughput, memory."""
