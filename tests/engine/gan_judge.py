"""The independent judge of generated digits (tests of the GAN must-show): an sklearn MLP trained on the real
8x8 digits, never on anything the GAN made."""

from __future__ import annotations

import numpy as np

CONFIDENT = 0.9


def digit_judge():
    """(classifier, its accuracy on a held-out fifth of the real digits)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    raw = load_digits()
    X = raw.data.astype(np.float32) / 16.0  # the digits dataset's own scaling (0..1)
    X_tr, X_te, y_tr, y_te = train_test_split(X, raw.target, test_size=0.2, random_state=0, stratify=raw.target)
    clf = MLPClassifier((128,), max_iter=1000, random_state=0).fit(X_tr, y_tr)
    return clf, float(clf.score(X_te, y_te))


def judge(samples: np.ndarray) -> dict:
    """How the judge sees generated samples [N, 1, 8, 8]: the share it recognises with max probability >= 0.9,
    the classes among those, and its held-out accuracy on real digits."""
    clf, accuracy = digit_judge()
    probs = clf.predict_proba(np.asarray(samples, dtype=np.float32).reshape(len(samples), -1))
    confident = probs.max(1) >= CONFIDENT
    classes = sorted({int(c) for c in probs.argmax(1)[confident]})
    return {"confident": float(confident.mean()), "classes": classes, "judge_accuracy": accuracy,
            "counts": np.bincount(probs.argmax(1)[confident], minlength=10).tolist()}
