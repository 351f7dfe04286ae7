"""The pictures a person looks at: sample grids, 2-D scatter plots, loss curves (PNG files)."""
import matplotlib

matplotlib.use("Agg")  # files only; no display is needed, or wanted, during training
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.image import imsave  # noqa: E402

GRID_PADDING = 2


def image_grid(images, nrow=8):
    """(N, C, H, W) images in [-1, 1] -> one (rows, cols, C) uint8 picture, `nrow` images a row, 2-pixel gaps."""
    n, c, h, w = images.shape
    ncol = nrow
    nrows = -(-n // ncol)
    step_h, step_w = h + GRID_PADDING, w + GRID_PADDING
    grid = np.zeros((nrows * step_h + GRID_PADDING, ncol * step_w + GRID_PADDING, c), np.uint8)
    pixels = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    for i in range(n):
        top, left = GRID_PADDING + (i // ncol) * step_h, GRID_PADDING + (i % ncol) * step_w
        grid[top:top + h, left:left + w] = pixels[i]
    return grid


def save_image_grid(images, path, nrow=8):
    """Write `images` ((N, C, H, W) in [-1, 1]) as a grid PNG."""
    grid = image_grid(images, nrow)
    if grid.shape[2] == 1:
        imsave(path, grid[:, :, 0], cmap="gray", vmin=0, vmax=255)
    else:
        imsave(path, grid)


def save_scatter(points, path, title):
    """Write a scatter plot of 2-D `points` with the unit square (where the real data lives) drawn in."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.add_patch(plt.Rectangle((0, 0), 1, 1, fill=False, edgecolor="tab:red", linewidth=1.5, label="U[0,1)²"))
    ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, label="G(z)")
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_aspect("equal")
    ax.set_title(title)
    fig.legend(loc="lower center", ncol=2, frameon=False)  # below the axes, never over the points
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_loss_curve(iterations, d_loss, g_loss, path):
    """Write D's and G's losses against the iteration count; -log(0.5) marks the balance the v0 text hoped for."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for values, label in ((d_loss, "d_loss"), (g_loss, "g_loss")):
        values = np.asarray(values, dtype=np.float64)
        known = np.isfinite(values)
        ax.plot(np.asarray(iterations)[known], values[known], linewidth=0.8, label=label)
    ax.axhline(np.log(2.0), color="gray", linestyle="--", linewidth=0.8, label="-log(0.5)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
