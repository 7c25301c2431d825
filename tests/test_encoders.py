"""Frame encoders, text embeddings and OCR with the embedded profile's real models (no downloads), and
open_clip with a tiny random model of the real architecture built from a config in the test."""

import json

import numpy as np
import pytest
import skimage.data

from longvid.app.eval.synth import text_slide
from longvid.encoders import ModelUnavailableError, OcrReader, TextEmbedder, create_frame_encoder
from longvid.encoders.wordsplit import embedded_splitter
from longvid.ingest import FrameBatch


def _batch(*images, size=(320, 240)):
    from PIL import Image

    pixels = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(im)).resize(size)) for im in images])
    return FrameBatch("vid", np.arange(len(images), dtype=np.float64), pixels)


@pytest.fixture(scope="module")
def efficientnet():
    return create_frame_encoder("efficientnet-lite0")


def test_efficientnet_tags_and_features(efficientnet):
    cat, coffee = skimage.data.chelsea(), skimage.data.coffee()
    feats = efficientnet.encode(_batch(cat, coffee, cat[:, 20:]))
    assert feats.embeddings.shape == (3, 1280) and feats.metric == "cosine"
    np.testing.assert_allclose(np.linalg.norm(feats.embeddings, axis=1), 1.0, rtol=1e-5)
    assert any("cat" in tag for tag in feats.tags[0]), feats.tags[0]
    assert "espresso" in feats.tags[1], feats.tags[1]
    sims = feats.embeddings @ feats.embeddings.T
    assert sims[0, 2] > sims[0, 1] + 0.2  # a cropped cat is nearer the cat than the coffee is


def test_efficientnet_as_run_is_the_model_as_published(efficientnet, monkeypatch):
    """Batch norms folded into convolutions, pads into them: the same features (to float rounding) and tags as
    the model as loaded from its package, with no batch norm or separate pad left."""
    import torch

    from longvid.encoders import efficientnet as module

    monkeypatch.setattr(module, "_fused", lambda model: model)
    published = create_frame_encoder("efficientnet-lite0")
    batch = _batch(skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut(), skimage.data.rocket())
    ours, theirs = efficientnet.encode(batch), published.encode(batch)
    np.testing.assert_allclose(ours.embeddings, theirs.embeddings, atol=2e-5)
    assert ours.tags == theirs.tags
    np.testing.assert_allclose(np.array(ours.tag_scores[0]), np.array(theirs.tag_scores[0]), atol=2e-4)
    kinds = {type(m) for m in efficientnet.model.modules()}
    assert torch.nn.BatchNorm2d not in kinds and torch.nn.ZeroPad2d in kinds  # only the asymmetric pads stay
    assert sum(isinstance(m, torch.nn.ZeroPad2d) for m in efficientnet.model.modules()) < 8
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in published.model.modules())


def test_efficientnet_on_onnx_runtime_is_the_torch_model(efficientnet):
    """On CPU the encoder runs the ONNX export of its PyTorch model: the same pooled features and probabilities."""
    import torch

    from longvid.encoders.frames import to_tensor

    batch = _batch(skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut())
    x = (to_tensor(batch.pixels, (224, 224), torch.device("cpu")) - 127.0) / 128.0
    pooled, probs = efficientnet.session.run(None, {"pixels": x.numpy()})
    with torch.inference_mode():
        want_pooled, want_probs = efficientnet.model(x)
    np.testing.assert_allclose(pooled, want_pooled.numpy(), atol=2e-5)
    np.testing.assert_allclose(probs, want_probs.numpy(), atol=2e-6)
    assert pooled.max() > 1.0 and probs.max() > 0.5  # real activations, a confident class


def test_efficientnet_export_is_cached_by_model_and_redone_when_damaged(efficientnet, tmp_path, monkeypatch, caplog):
    """The export is keyed on the model itself: a changed model gets a file of its own; a damaged file is exported
    again."""
    from longvid.encoders import efficientnet as module

    monkeypatch.setenv("LONGVID_CACHE", str(tmp_path))
    first = module.onnx_file(efficientnet.model, 224)
    assert first.parent == tmp_path / "models" / "efficientnet-lite0-onnx"
    written = first.stat().st_mtime_ns
    assert module.onnx_file(efficientnet.model, 224) == first and first.stat().st_mtime_ns == written  # not redone
    changed = _copy_with_bias(efficientnet.model, 0.5)
    assert module.onnx_file(changed, 224) != first
    first.write_bytes(first.read_bytes()[:1000])  # a truncated copy
    with caplog.at_level("WARNING", logger="longvid.encoders.efficientnet"):
        again = create_frame_encoder("efficientnet-lite0")
    assert "exporting the model again" in caplog.text
    feats = again.encode(_batch(skimage.data.coffee()))
    assert "espresso" in feats.tags[0]
    assert first.stat().st_size > 1_000_000


def _copy_with_bias(model, delta):
    import copy

    import torch

    other = copy.deepcopy(model)
    with torch.no_grad():
        other.net._fc.bias += delta
    return other


def test_unknown_encoder():
    with pytest.raises(ModelUnavailableError, match="unknown frame encoder 'resnet9000'"):
        create_frame_encoder("resnet9000")


def test_open_clip_tiny_model_embeds_images_and_text(tmp_path):
    import open_clip

    config = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    }
    (tmp_path / "tiny-clip-test.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path)
    enc = create_frame_encoder("open_clip:tiny-clip-test")
    assert enc.text_aligned
    feats = enc.encode(_batch(skimage.data.chelsea(), skimage.data.coffee()))
    text = enc.embed_text(["a cat", "a cup of coffee", "a rocket"])
    assert feats.embeddings.shape == (2, 16) and text.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(text @ feats.embeddings.T).all()


def test_efficientnet_has_no_text_space(efficientnet):
    with pytest.raises(NotImplementedError, match="frames only"):
        efficientnet.embed_text(["a cat"])


def test_text_embedder_ranks_by_meaning():
    emb = TextEmbedder("embedded")
    vectors = emb.embed(["the budget for the new bridge was approved", "money allocated to build a bridge",
                         "a cat sleeps on the sofa"])  # fmt: skip
    assert vectors.shape == (3, emb.dim) == (3, 384)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.3


def test_ocr_reads_slides_and_ignores_photos():
    reader = OcrReader()
    lines = reader.read(text_slide(["LIGHTHOUSE PROJECT", "Deadline: March 3"]))
    assert [line.text for line in lines] == ["LIGHTHOUSE PROJECT", "Deadline: March 3"]
    assert all(0 <= v <= 1 for line in lines for v in line.box) and lines[0].score > 0.9
    assert reader.read(np.ascontiguousarray(skimage.data.coffee())) == ()


def test_ocr_puts_back_the_spaces_it_drops():
    """At 320x180 the recogniser joins words; the dictionary splitter separates them again."""
    slide = text_slide(["BOARDING GATE", "B17", "ROAD CLOSED UNTIL"], size=(320, 180), font_px=25)
    joined = [line.text for line in OcrReader(split_words=False).read(slide)]
    split = [line.text for line in OcrReader().read(slide)]
    assert "BOARDINGGATE" in joined  # what RapidOCR returns on its own
    assert split == ["BOARDING GATE", "B17", "ROAD CLOSED UNTIL"]


def test_word_splitter_splits_only_what_spells_dictionary_words():
    splitter = embedded_splitter()
    assert splitter.line("QUARTERLYREVIEW / SPECIALOFTHEDAY") == "QUARTERLY REVIEW / SPECIAL OF THE DAY"
    assert splitter.line("Backintenminutes") == "Back in ten minutes"
    for kept in ("LASAGNA", "ROSALIND", "Copenhagen", "misunderstanding", "B17", "00:00:04.000", "Deadline: March 3"):
        assert splitter.line(kept) == kept
