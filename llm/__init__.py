"""longvid.llm — the long-context vision-language model and the answer backends.

Layer 4: may import the layers below it (ingest, encoders, compression).
"""
