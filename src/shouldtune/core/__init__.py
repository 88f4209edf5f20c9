"""Plain data types, task loading, metrics, statistics and the verdict. Never imports torch."""
