"""Pictures: the grid puts each image where it belongs."""
import numpy as np
from matplotlib.image import imread

from paddle_gan.plots import image_grid, loss_figure, sample_figure, save_loss_curve, save_samples


def test_grid_layout_and_pixel_values():
    images = -np.ones((10, 1, 4, 5), np.float32)
    images[9] = 1.0  # the last image white: row 1, column 1 of an 8-wide grid
    grid = image_grid(images, nrow=8)
    assert grid.shape == (2 * 6 + 2, 8 * 7 + 2, 1)
    assert grid[2 + 6:2 + 6 + 4, 2 + 7:2 + 7 + 5].min() == 255
    assert grid[2:6, 2:7].max() == 0
    assert grid.sum() == 255 * 20


def test_png_files(tmp_path):
    save_samples(np.zeros((64, 3, 8, 8), np.float32), tmp_path / "rgb.png")
    assert imread(tmp_path / "rgb.png").shape[:2] == (8 * 10 + 2, 8 * 10 + 2)
    gray = np.linspace(-1, 1, 64 * 28 * 28, dtype=np.float32).reshape(64, 1, 28, 28)
    save_samples(gray, tmp_path / "gray.png")
    assert (imread(tmp_path / "gray.png")[:, :, 0] * 255).round().astype(np.uint8).tolist() == \
        image_grid(gray)[:, :, 0].tolist()  # the grid's own pixels, one to one
    save_samples(np.random.default_rng(0).random((50, 2)), tmp_path / "s.png", "t")
    save_loss_curve([0, 1, 2], [0.7, float("nan"), 0.6], [0.6, 0.7, float("nan")], tmp_path / "l.png")
    assert imread(tmp_path / "s.png").shape[2] in (3, 4) and (tmp_path / "l.png").stat().st_size > 1000


def test_the_loss_curve_draws_the_trend_over_the_faint_raw_values():
    rng = np.random.default_rng(0)
    iterations = np.arange(3000)
    d_loss = 0.7 - iterations / 6000 + rng.normal(0, 0.2, 3000)  # D pulling ahead under heavy noise
    g_loss = np.where(iterations % 3 == 0, np.nan, 0.7 + iterations / 3000 + rng.normal(0, 0.3, 3000))
    ax = loss_figure(iterations, d_loss, g_loss).axes[0]
    raw_d, trend_d, raw_g, trend_g = ax.lines[:4]
    assert raw_d.get_alpha() < 0.5 and trend_d.get_alpha() in (None, 1)
    assert len(raw_g.get_xdata()) == 2000  # the iterations where G's loss was computed
    for raw, trend, slope in ((raw_d, trend_d, -1 / 6000), (raw_g, trend_g, 1 / 3000)):
        y, x = np.asarray(trend.get_ydata()), np.asarray(trend.get_xdata())
        middle = slice(len(y) // 10, -len(y) // 10)  # away from the ends' shorter windows
        truth = 0.7 + slope * x[middle]
        # the trend, a quarter as far off on average as a raw point (0.2, 0.3)
        assert np.sqrt(np.mean((y[middle] - truth) ** 2)) < 0.06
        assert np.std(np.diff(y)) < np.std(np.diff(np.asarray(raw.get_ydata()))) / 10


def test_a_notebook_figure_shows_the_same_picture_as_the_file():
    images = np.random.default_rng(1).uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32)
    shown = sample_figure(images, "pass 0").axes[0]
    assert shown.get_title() == "pass 0"
    assert np.array_equal(shown.images[0].get_array(), np.repeat(image_grid(images), 3, axis=2))


def test_metrics_figure_draws_the_panels_of_the_metrics_it_is_given():
    from paddle_gan.plots import metrics_figure
    images = [{"fid": 300.0, "inception_score": 2.0, "precision": 0.8, "recall": 0.0},
              {"fid": 12.0, "inception_score": 8.5, "precision": 0.7, "recall": 0.4}]
    fig = metrics_figure([1, 2], images, "minutes", floor={"fid": 1.1, "inception_score": 9.8, "recall": 0.87})
    fid, score, pr = fig.axes
    assert fid.get_yscale() == "log" and score.get_yscale() == "linear"
    assert list(fid.lines[0].get_ydata()) == [300.0, 12.0] and fid.lines[1].get_ydata()[0] == 1.1  # the floor
    assert [line.get_label() for line in pr.lines] == ["precision", "recall", "recall, real data"]

    toy = [{"inside": 0.5, "grid_coverage": 0.6, "energy_distance": 0.2}]
    energy, share = metrics_figure([0], toy, "iteration", floor={"energy_distance": -1e-4}).axes
    assert len(energy.lines) == 1  # a negative real-data distance (unbiased estimate) has no place on a log axis
    assert [line.get_label() for line in share.lines] == ["inside", "grid_coverage"]


def test_the_toys_picture_shows_ds_view_computed_by_d(tmp_path):
    from conftest import tiny_config

    from paddle_gan import d_view, plots
    from paddle_gan.train import train
    config = tiny_config("uniform", iters_per_pass=200, batch_size=64)
    exe, programs, scope = train(config, tmp_path)
    seen = d_view.d_map(exe, programs, scope, config)
    assert seen.shape == (d_view.D_MAP_SIZE,) * 2 and 0 <= seen.min() and seen.max() <= 1
    assert seen.std() > 0.01  # a D trained for 200 iterations does not think the same of every point
    # each cell is D's own output at that point: (row i, column j) is (x_j, y_i)
    axis = np.linspace(*plots.SCATTER_LIMITS, d_view.D_MAP_SIZE, dtype=np.float32)
    for i, j in ((0, 0), (50, 70), (100, 30)):
        point = np.array([[axis[j], axis[i]]], np.float32)
        z = np.zeros((1, config["noise_dim"]), np.float32)
        alone = exe.run(programs.losses, feed={"img": point, "z": z}, fetch_list=programs.fetch["d_of_each"],
                        scope=scope)[0]
        np.testing.assert_allclose(float(np.asarray(alone).ravel()[0]), seen[i, j], rtol=1e-5, atol=1e-6)
    # the written picture: the background is coloured where D is sure (far from white), under the points
    picture = imread(tmp_path / "uniform_samples" / "train_pass0.png")[:, :, :3]
    plain = imread(save_plain(tmp_path, config))[:, :, :3]
    assert picture.shape[1] > plain.shape[1]  # room for the colour bar
    assert np.mean(np.abs(picture - picture.mean(axis=2, keepdims=True)) > 0.05) > 0.2  # colour, not gray/white


def save_plain(tmp_path, config):
    points = np.random.default_rng(0).random((50, 2))
    save_samples(points, tmp_path / "plain.png", "plain")
    return tmp_path / "plain.png"


def test_the_loss_curve_reads_ds_outputs_back_from_its_losses():
    from conftest import setup, tiny_config

    from paddle_gan import d_view, readers
    from paddle_gan.generate import sample
    config = tiny_config("uniform", ema_decay=0.0, batch_size=32)
    programs, scope, exe = setup(config)
    z = readers.noise(config, 32, seed=5)
    real = np.random.default_rng(2).random((32, 2)).astype(np.float32)
    fake = sample(exe, programs, scope, z)  # G in eval mode, as in the losses program

    def run(img):
        d_pos, d_neg, _ = (float(np.asarray(v)) for v in exe.run(programs.losses, feed={"img": img, "z": z},
                                                                   fetch_list=programs.fetch["losses"], scope=scope))
        each = np.asarray(exe.run(programs.losses, feed={"img": img, "z": z}, fetch_list=programs.fetch["d_of_each"],
                                  scope=scope)[0], np.float64).ravel()
        return d_pos, d_neg, each
    d_pos, d_neg, d_of_real = run(real)
    _, _, d_of_fake = run(fake)
    d_x, d_gz = d_view.d_outputs_from_losses([d_pos], [d_neg])
    np.testing.assert_allclose(d_x[0], np.exp(np.mean(np.log(d_of_real))), rtol=1e-4)
    np.testing.assert_allclose(d_gz[0], 1 - np.exp(np.mean(np.log(1 - d_of_fake))), rtol=1e-4)

    fig = loss_figure([0, 1, 2], [0.7, 0.6, np.nan], [0.6, np.nan, 0.8],
                      d_outputs=([0.5, 0.6, np.nan], [0.4, 0.3, np.nan]))
    losses, outputs = fig.axes
    assert outputs.get_ylim() == (0, 1) and [line.get_label() for line in outputs.lines][1::2][:2] == \
        ["D(x) (sliding mean)", "D(G(z)) (sliding mean)"]
    assert list(outputs.lines[0].get_ydata()) == [0.5, 0.6]  # the iterations where D trained
    assert len(loss_figure([0, 1], [0.7, 0.6], [0.6, 0.5]).axes) == 1  # without them, the losses alone
