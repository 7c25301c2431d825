"""longvid.index — the event store (SQLite) and vector indexes (FAISS), hybrid retrieval.

Layer 5: may import the layers below it.
"""
