"""Tool use: schemas from typed Python functions, reply parsing, and the chat protocol."""
