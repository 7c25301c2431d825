"""longvid.compression — hierarchical visual-token compression (HiCo) and V2PE positions.

Layer 3: pure tensor code, no I/O and no model loading; may import ``longvid.ingest`` and
``longvid.encoders`` only.
"""
