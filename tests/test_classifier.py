"""classifier: the evaluator's CNN learns a tiny labelled set, and its cache is reused and verified."""
import json

import numpy as np

from paddle_gan import classifier


def test_classifier_learns_a_tiny_set_and_its_cache_is_reused_and_verified(labelled, tmp_path):
    messages = []
    net, info = classifier.load_classifier("mnist", labelled, tmp_path, log=messages.append)
    assert any("no cached classifier" in m for m in messages)
    assert info["val_accuracy"] == 1.0 and info["test_accuracy"] == 1.0
    weights, info_file = classifier.classifier_paths("mnist", tmp_path)
    assert json.loads(info_file.read_text())["sha256"] == classifier._sha256(weights)

    messages.clear()
    cached, cached_info = classifier.load_classifier("mnist", labelled, tmp_path, log=messages.append)
    assert messages == [] and cached_info == info  # reused: nothing trained
    images = classifier.load_splits("mnist", labelled)["test"][0]
    np.testing.assert_allclose(classifier.classify(cached, images)[1], classifier.classify(net, images)[1], atol=1e-6)

    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    weights.write_bytes(bytes(data))
    _, rebuilt = classifier.load_classifier("mnist", labelled, tmp_path, log=messages.append)
    assert any("does not match the SHA-256" in m for m in messages)
    assert any("training the mnist classifier" in m for m in messages)
    assert rebuilt["sha256"] == classifier._sha256(weights) and rebuilt["test_accuracy"] == 1.0
