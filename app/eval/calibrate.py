"""Confidence floors chosen on held-out data: ``longvid eval calibrate``.

Three floors decide what counts as seen or found (``frames.tag_floor``, ``objects.min_score`` and the
``[search]`` floors of a profile); this module measures them on ``assets/calibration/calibration.toml``,
which no evaluation uses (the NIAH needles are other photos, sentences and questions):

* **visual tags and objects**: what the tags of a frame state at a floor (the encoder's proposals, kept
  by the pipeline's rule: a label over the floor, or the most specific general word whose summed
  probability is) and every object the detector proposes (score >= 0.05), on labelled photos and on
  blank frames (test patterns, textures). A tag or object is right when one of its words (label,
  synonyms, general words) is among the photo's plain words; on a blank frame every one is wrong. The
  floor is the lowest one whose precision reaches :data:`PRECISION` (so that what answers state is right
  at least that often), recall as high as that allows;
* **search floors**: a moment is found when its cosine with the question clears the text floor or its share
  of the question's words clears the keyword floor; each (question, text) pair's question should find its
  own text and no other, and questions about nothing in the texts should find nothing. The two floors are
  chosen together for the best balanced accuracy (the mean of the two rates).

The result is a table per floor and the chosen values, to put in the profile::

    >>> proposals = [(0.9, True, 0), (0.7, False, 1), (0.4, True, 2)]  # (score, right, photo)
    >>> pick_precision_floor(lambda f: [(ok, i) for s, ok, i in proposals if s >= f], [0.3, 0.5, 0.8], "x", 3).floor
    0.8
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from longvid.encoders.concepts import concept, confident_labels
from longvid.index.retrieval import floor_terms, fts_query

from .haystack import photo

log = logging.getLogger(__name__)

PRECISION = 0.9  # tags and objects: the least precision the chosen floor must reach
PROPOSAL_FLOOR = 0.05  # what the models are asked to propose before any floor applies
GRID = tuple(round(x, 2) for x in np.arange(0.05, 0.96, 0.05))  # floors tried for tags and objects


@dataclass(frozen=True)
class FloorChoice:
    name: str
    floor: float
    rows: tuple[tuple[float, float, float], ...]  # (floor, precision or true-positive rate, recall or TNR)


def pick_precision_floor(kept_at: Callable[[float], Sequence[tuple[bool, int]]], grid: Sequence[float], name: str,
                         photos: int) -> FloorChoice:  # fmt: skip
    """The lowest floor whose kept proposals (``kept_at(floor)``: ``(right, photo)`` each) are right at least
    :data:`PRECISION` of the time; rows are (floor, precision, share of the photos given a right one)."""
    rows = []
    for floor in grid:
        kept = kept_at(floor)
        precision = sum(ok for ok, _ in kept) / len(kept) if kept else 1.0
        rows.append((floor, precision, len({i for ok, i in kept if ok}) / max(photos, 1)))
    good = [r for r in rows if r[1] >= PRECISION]
    return FloorChoice(name, good[0][0] if good else grid[-1], tuple(rows))


@dataclass(frozen=True)
class Calibration:
    tags: FloorChoice
    objects: FloorChoice
    text: FloorChoice
    keyword: FloorChoice

    def report(self) -> str:
        out = []
        for choice, cols in ((self.tags, "precision  recall"), (self.objects, "precision  recall"),
                             (self.text, "found-own  found-nothing-else (at the chosen keyword floor)"),
                             (self.keyword, "found-own  found-nothing-else (at the chosen text floor)")):  # fmt: skip
            out.append(f"{choice.name}: chosen floor {choice.floor:.2f}\n  floor  {cols}")
            out += [
                f"  {f:5.2f}  {a:9.2f}  {b:6.2f}" + ("  <-" if f == choice.floor else "") for f, a, b in choice.rows
            ]
        return "\n".join(out)


def load_calibration(path: str | Path | None = None) -> dict:
    if path is None:
        return tomllib.loads(resources.files("longvid.assets").joinpath("calibration", "calibration.toml").read_text())
    return tomllib.loads(Path(path).read_text())


def frame_of(source: str, size: tuple[int, int] = (480, 270)) -> np.ndarray:
    """``lavfi:NAME[=OPTIONS]`` (an FFmpeg test source's 3rd second) or ``skimage:NAME`` as (H, W, 3) uint8 RGB."""
    kind, name = source.split(":", 1)
    if kind == "skimage":
        return photo(name)
    if kind != "lavfi":
        raise ValueError(f"unknown frame source {source!r}: use lavfi:NAME or skimage:NAME")
    from PIL import Image

    from longvid.ingest.ffmpeg_cli import run_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "frame.png"
        sep = ":" if "=" in name else "="  # NAME or NAME=OPTIONS (e.g. life=seed=7: random sources need a seed)
        run_ffmpeg(f"-f lavfi -i {name}{sep}size={size[0]}x{size[1]}:rate=10 -ss 3 -frames:v 1 {{png}}", png=png)
        with Image.open(png) as picture:
            return np.array(picture.convert("RGB"))


def _right(words: Sequence[str], shows: set[str]) -> bool:
    return any(w.lower() in shows for w in words)


Frame = tuple[
    tuple[str, ...], tuple[float, ...], set[str], int
]  # tag proposals, their scores, what it shows, its number


def kept_tags(frames: Sequence[Frame], floor: float) -> list[tuple[bool, int]]:
    """``(right, frame)`` for what each frame's tags state at ``floor`` (the pipeline's own rule,
    :func:`~longvid.encoders.concepts.confident_labels`)."""
    return [(_right(concept(word).words, shows), n) for labels, scores, shows, n in frames
            for word, _ in confident_labels(labels, scores, floor)]  # fmt: skip


def visual_proposals(data: dict) -> tuple[list[Frame], list[tuple[float, bool, int]], int]:
    """(tag proposals per frame, object proposals as (score, right, frame number), labelled photos)."""
    from longvid.encoders.efficientnet import EfficientNetLite0Encoder
    from longvid.encoders.objects import ObjectDetector
    from longvid.ingest import FrameBatch

    encoder = EfficientNetLite0Encoder()  # its own proposals (top 20, >= 0.01), as the pipeline gets them
    detector = ObjectDetector(min_score=PROPOSAL_FLOOR)
    tags, objects, photos = [], [], 0
    for n, (item, shows) in enumerate(
        [(p, {w.lower() for w in p["shows"]}) for p in data.get("photo", [])]
        + [(b, set()) for b in data.get("blank", [])]
    ):
        pixels = frame_of(item["source"])
        photos += bool(shows)
        feats = encoder.encode(FrameBatch("calibration", np.zeros(1), pixels[None]))
        tags.append((feats.tags[0], feats.tag_scores[0], shows, n))
        best: dict[str, float] = {}
        for o in detector.detect(pixels[None])[0]:
            best[o.label] = max(best.get(o.label, 0.0), o.score)  # a kind once per frame: counts are not scored
        for label, score in best.items():
            objects.append((score, _right((label, *concept(label, "coco").words), shows), n))
        log.info(
            "%s: tags %s; objects %s", item["source"], list(zip(feats.tags[0], feats.tag_scores[0], strict=True)), best
        )
    return tags, objects, photos


def search_floors(data: dict, embed: Callable[[list[str]], np.ndarray], text_grid: Sequence[float],
                  keyword_grid: Sequence[float]) -> tuple[FloorChoice, FloorChoice]:  # fmt: skip
    """The text and keyword floors, chosen together: a moment is found when its cosine clears the text floor
    *or* its share of the question's words clears the keyword floor. A pair's question should find its own
    text (positive) and no unrelated one; an absent question should find nothing (negatives). The pair of
    floors with the best balanced accuracy wins (the lowest text floor, then the lowest keyword floor)."""
    pairs = [(p["question"], p["text"]) for p in data.get("pair", [])]
    absent = [a["question"] for a in data.get("absent", [])]
    texts = [t for _, t in pairs]
    questions = [q for q, _ in pairs] + absent
    sims = embed(questions) @ embed(texts).T  # (Q, T) cosines of unit rows
    shares = _keyword_shares(questions, texts)  # (Q, T)
    unrelated = np.ones_like(sims, dtype=bool)
    unrelated[np.arange(len(pairs)), np.arange(len(pairs))] = False
    best, rows = None, {}
    for t in text_grid:
        for k in keyword_grid:
            found = (sims >= t) | (shares >= k)  # (Q, T)
            tpr = float(np.mean([found[i, i] for i in range(len(pairs))]))
            tnr = float(np.mean(~(found & unrelated).any(axis=1)))
            rows[(t, k)] = (tpr, tnr)
            if best is None or tpr + tnr > sum(rows[best]) + 1e-12:
                best = (t, k)
    t, k = best
    text_rows = tuple((x, *rows[(x, k)]) for x in text_grid)
    keyword_rows = tuple((x, *rows[(t, x)]) for x in keyword_grid)
    return FloorChoice("search.text_floor", t, text_rows), FloorChoice("search.keyword_floor", k, keyword_rows)


def _keyword_shares(questions: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """Share of each question's :func:`~longvid.index.retrieval.floor_terms` each text holds, by SQLite FTS5
    with the catalog's tokenizer (as the keyword floor counts them)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5 (text, tokenize = 'porter unicode61 remove_diacritics 2')")
    conn.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", list(enumerate(texts)))
    out = np.zeros((len(questions), len(texts)))
    for i, question in enumerate(questions):
        terms = floor_terms(question)
        for term in terms:
            for (row,) in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts_query(term),)):
                out[i, row] += 1 / len(terms)
    return out


def calibrate(data: dict | None = None) -> Calibration:
    """Measure every floor on the calibration set (the embedded profile's models)."""
    from longvid.encoders.text import TextEmbedder

    data = data or load_calibration()
    tags, objects, photos = visual_proposals(data)
    embedder = TextEmbedder("embedded")
    text, keyword = search_floors(data, embedder.embed, tuple(round(x, 2) for x in np.arange(0.1, 0.61, 0.02)),
                                  tuple(round(x, 2) for x in np.arange(0.25, 1.01, 0.25)))  # fmt: skip
    return Calibration(
        tags=pick_precision_floor(lambda f: kept_tags(tags, f), GRID, "frames.tag_floor", photos),
        objects=pick_precision_floor(
            lambda f: [(ok, i) for s, ok, i in objects if s >= f], GRID, "objects.min_score", photos
        ),
        text=text,
        keyword=keyword,
    )
