"""metrics: FID, Inception Score, modes, precision/recall and the toy's energy distance, on cases with known answers."""
import numpy as np
import pytest

from paddle_gan import metrics


def one_hot(classes, num_classes=10):
    return np.eye(num_classes)[classes]


# --- FID -------------------------------------------------------------------------------------------------------

def test_identical_sets_have_zero_fid():
    features = np.random.default_rng(0).standard_normal((500, 16)) @ np.random.default_rng(1).random((16, 16))
    stats = metrics.feature_stats(features)
    assert abs(metrics.frechet_distance(*stats, *stats)) < 1e-8


def test_fid_of_commuting_gaussians_is_the_closed_form():
    # Both covariances diagonal in one random basis: tr sqrt(s1 s2) = sum sqrt(a_i b_i).
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    got = metrics.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-9)


def test_fid_of_non_commuting_gaussians_matches_the_eigenvalues_of_the_product():
    # s1 s2 is not symmetric, but its eigenvalues are real and positive: tr sqrt(s1 s2) = sum sqrt(eig(s1 s2)).
    rng = np.random.default_rng(3)
    m1, m2 = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(5), m2 @ m2.T + 0.1 * np.eye(5)
    trace_root = np.sqrt(np.linalg.eigvals(s1 @ s2).real).sum()
    expected = np.trace(s1) + np.trace(s2) - 2 * trace_root
    assert metrics.frechet_distance(np.zeros(5), s1, np.zeros(5), s2) == pytest.approx(expected, rel=1e-9)


def test_shifted_gaussian_samples_give_the_squared_shift():
    rng = np.random.default_rng(4)
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    x, y = rng.standard_normal((20000, 4)), rng.standard_normal((20000, 4)) + shift
    fid = metrics.frechet_distance(*metrics.feature_stats(x), *metrics.feature_stats(y))
    assert fid == pytest.approx((shift ** 2).sum(), abs=0.05)  # 5.25, up to the sampling error of 20,000 points


# --- Inception Score and the class histogram -------------------------------------------------------------------

def test_one_class_scores_one_with_one_mode():
    probs = one_hot(np.full(1000, 3))
    assert metrics.inception_score(probs)[0] == pytest.approx(1.0)
    counts = metrics.class_histogram(probs)
    assert counts[3] == 1000 and metrics.modes_covered(counts) == 1
    assert metrics.kl_to_uniform(counts) == pytest.approx(np.log(10))


def test_confident_and_evenly_spread_classes_score_ten():
    probs = one_hot(np.arange(1000) % 10)
    score, spread = metrics.inception_score(probs)
    assert score == pytest.approx(10.0) and spread == pytest.approx(0.0, abs=1e-9)
    counts = metrics.class_histogram(probs)
    assert metrics.modes_covered(counts) == 10 and metrics.kl_to_uniform(counts) == pytest.approx(0.0, abs=1e-12)


def test_undecided_classifier_scores_one():
    assert metrics.inception_score(np.full((100, 10), 0.1))[0] == pytest.approx(1.0)


def test_label_accuracy_counts_samples_seen_as_the_class_asked_for():
    seen = one_hot([3, 3, 7, 7, 7, 1])
    overall, per_class = metrics.label_accuracy(seen, [3, 5, 7, 7, 1, 1])
    assert overall == pytest.approx(4 / 6)
    assert per_class[3] == 1.0 and per_class[5] == 0.0 and per_class[7] == 1.0 and per_class[1] == 0.5
    assert np.isnan(per_class[0])  # never asked for
    with pytest.raises(metrics.EvaluateError, match="5 labels for 6 samples"):
        metrics.label_accuracy(seen, [3, 5, 7, 7, 1])


def test_a_class_under_one_percent_is_not_a_mode():
    counts = np.array([99 * 10] * 9 + [9])  # the last class holds 9 of 8,919 samples, 0.1%
    assert metrics.modes_covered(counts) == 9


# --- precision and recall ---------------------------------------------------------------------------------------

def disc(n, radius, seed):
    rng = np.random.default_rng(seed)
    angle, r = rng.uniform(0, 2 * np.pi, n), radius * np.sqrt(rng.random(n))
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


def test_precision_recall_of_nested_discs():
    big, small = disc(2000, 1.0, 5), disc(2000, 0.5, 6)
    # Fakes filling only the centre: all of them look real (precision 1), a quarter of the reals are reached.
    precision, recall = metrics.precision_recall(big, small)
    assert precision > 0.97 and 0.2 < recall < 0.35
    # Fakes spread beyond the reals: three quarters of them fall outside, every real is reached.
    precision, recall = metrics.precision_recall(small, big)
    assert 0.2 < precision < 0.35 and recall > 0.97


def test_identical_clouds_have_full_precision_and_recall():
    points = disc(500, 1.0, 7)
    assert metrics.precision_recall(points, points) == (1.0, 1.0)


def test_knn_radius_is_the_kth_neighbour_not_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]])
    np.testing.assert_allclose(metrics.knn_radii(points, k=1), np.array([1, 1, 2, 3, 4]) ** 2)


# --- the uniform toy --------------------------------------------------------------------------------------------

def test_true_uniform_sample_scores_perfectly():
    scores = metrics.uniform_metrics(np.random.default_rng(8).random((5000, 2)), seed=0)
    assert scores["inside"] == 1.0 and scores["grid_coverage"] == 1.0
    assert abs(scores["energy_distance"]) < 0.002


def test_collapsed_half_square_is_caught():
    points = np.random.default_rng(9).random((5000, 2)) * [0.5, 1.0]
    scores = metrics.uniform_metrics(points, seed=0)
    assert scores["inside"] == 1.0 and scores["grid_coverage"] == 0.5
    assert scores["energy_distance"] > 0.05


def test_points_outside_the_square_are_counted():
    points = np.random.default_rng(10).random((1000, 2))
    points[:250] += 2.0
    assert metrics.uniform_metrics(points)["inside"] == pytest.approx(0.75)


def test_energy_distance_is_unbiased_for_small_samples():
    rng = np.random.default_rng(11)
    distances = [metrics.energy_distance(rng.random((50, 2)), rng.random((50, 2))) for _ in range(200)]
    assert abs(np.mean(distances)) < 0.003  # the biased (V-statistic) form would average 2*0.52/50 = 0.021
