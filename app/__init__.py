"""longvid.app — composes the stages: CLI, diagnostics, and (later) the Library API and web app.

Layer 6, the top: may import every other longvid package; nothing imports it.
"""
