"""longvid.encoders — models that turn media into features or text (frame encoders, speech, OCR, text).

Layer 2: may import ``longvid.ingest`` only.
"""
