"""Pictures: the grid puts each image where it belongs."""
import numpy as np
from matplotlib.image import imread

from paddle_gan.plots import image_grid, save_image_grid, save_loss_curve, save_scatter


def test_grid_layout_and_pixel_values():
    images = -np.ones((10, 1, 4, 5), np.float32)
    images[9] = 1.0  # the last image white: row 1, column 1 of an 8-wide grid
    grid = image_grid(images, nrow=8)
    assert grid.shape == (2 * 6 + 2, 8 * 7 + 2, 1)
    assert grid[2 + 6:2 + 6 + 4, 2 + 7:2 + 7 + 5].min() == 255
    assert grid[2:6, 2:7].max() == 0
    assert grid.sum() == 255 * 20


def test_png_files(tmp_path):
    save_image_grid(np.zeros((64, 3, 8, 8), np.float32), tmp_path / "rgb.png")
    assert imread(tmp_path / "rgb.png").shape[:2] == (8 * 10 + 2, 8 * 10 + 2)
    save_scatter(np.random.default_rng(0).random((50, 2)), tmp_path / "s.png", "t")
    save_loss_curve([0, 1, 2], [0.7, float("nan"), 0.6], [0.6, 0.7, float("nan")], tmp_path / "l.png")
    assert imread(tmp_path / "s.png").shape[2] in (3, 4) and (tmp_path / "l.png").stat().st_size > 1000
