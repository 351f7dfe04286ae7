"""The pictures a person looks at: sample grids, 2-D scatter plots, loss curves (PNG files, or inline in Jupyter).

Figures are made with matplotlib's `Figure` directly, not pyplot: they need no display and no backend to be
written to a file during training, and choosing one here would stop a notebook from showing them inline.
"""
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave
from matplotlib.patches import Rectangle

GRID_PADDING = 2


def image_grid(images, nrow=None):
    """(N, C, H, W) images in [-1, 1] -> one (rows, cols, C) uint8 picture, `nrow` images a row (None: as square as
    N allows, so 64 images make 8x8 and a conditional run's 100 make 10x10, a class a row), 2-pixel gaps."""
    n, c, h, w = images.shape
    ncol = nrow or math.ceil(math.sqrt(n))
    nrows = -(-n // ncol)
    step_h, step_w = h + GRID_PADDING, w + GRID_PADDING
    grid = np.zeros((nrows * step_h + GRID_PADDING, ncol * step_w + GRID_PADDING, c), np.uint8)
    pixels = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    for i in range(n):
        top, left = GRID_PADDING + (i // ncol) * step_h, GRID_PADDING + (i % ncol) * step_w
        grid[top:top + h, left:left + w] = pixels[i]
    return grid


SCATTER_LIMITS = (-0.5, 1.5)  # the plotted area of the toy's pictures, on both axes


def scatter_figure(points, title, d_map=None):
    """A scatter plot of 2-D `points` with the unit square (where the real data lives) drawn in. `d_map`: D's
    probability that a point is real, on a square grid over SCATTER_LIMITS (row i: y, column j: x), drawn
    underneath as a colour map with its 0.5 contour: what D thinks, which is what moves G's points."""
    fig = Figure(figsize=(5.6, 5) if d_map is not None else (5, 5))
    ax = fig.subplots()
    if d_map is not None:
        shown = ax.imshow(d_map, origin="lower", extent=(*SCATTER_LIMITS, *SCATTER_LIMITS), cmap="coolwarm_r",
                          vmin=0, vmax=1, alpha=0.6, interpolation="bilinear")
        axis = np.linspace(*SCATTER_LIMITS, d_map.shape[0])
        if d_map.min() < 0.5 < d_map.max():
            ax.contour(axis, axis, d_map, levels=[0.5], colors="k", linewidths=0.8, linestyles="--")
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="D(x): real (1) or fake (0), dashed at 0.5")
    ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor="tab:red", linewidth=1.5, label="U[0,1)²"))
    # black over D's blue-to-red view, which the default blue would blend into
    ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, label="G(z)", color="k" if d_map is not None else None)
    ax.set_xlim(*SCATTER_LIMITS)
    ax.set_ylim(*SCATTER_LIMITS)
    ax.set_aspect("equal")
    ax.set_title(title)
    fig.legend(loc="lower center", ncol=2, frameon=False)  # below the axes, never over the points
    return fig


def density_axis(numbers, normal, points=401):
    """`points` x values over which the Gaussian toy's picture is drawn: the real N(mean, std) over mean ± 4 std,
    widened to the middle 99% of G's `numbers` wherever they stray (within ± 20 std), so both show."""
    mean, std = normal
    numbers = np.asarray(numbers, np.float64).ravel()
    numbers = numbers[np.isfinite(numbers)]
    low, high = mean - 4 * std, mean + 4 * std
    if len(numbers):
        low = max(min(low, np.quantile(numbers, 0.005)), mean - 20 * std)
        high = min(max(high, np.quantile(numbers, 0.995)), mean + 20 * std)
    return np.linspace(low, high, points)


def density_figure(numbers, title, normal, d_curve=None):
    """The textbook's figure of a 1-D GAN (Goodfellow et al. 2014, Fig. 1): the real density N(`normal`) as its
    exact curve, the density of G's `numbers` as a histogram, and, on a second axis, `d_curve` = (x, D(x)): D's
    probability that x is real, which is what moves G's samples."""
    mean, std = normal
    x = d_curve[0] if d_curve is not None else density_axis(numbers, normal)
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    ax.plot(x, np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi)), color="tab:green",
            linewidth=2, label=f"real data N({mean:g}, {std:g})")
    ax.hist(np.asarray(numbers).ravel(), bins=60, range=(x[0], x[-1]), density=True,
            color="tab:blue", alpha=0.45, label="G(z), density")
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title(title)
    if d_curve is not None:
        d_axis = ax.twinx()
        d_axis.plot(x, d_curve[1], color="tab:red", linewidth=1.5, label="D(x)")
        d_axis.axhline(0.5, color="tab:red", linestyle=":", linewidth=0.8)
        d_axis.set_ylim(0, 1)
        d_axis.set_ylabel("D(x): real (1) or fake (0)", color="tab:red")
    fig.legend(loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend below the axes
    return fig


def sample_picture(samples, title=None, d_view=None, normal=None):
    """What samples look like, as an (H, W, 3) uint8 RGB picture: the 8x8 grid for images; for the toys a rendered
    plot with `title`: a scatter plot of 2-D points (D's view `d_view`, a grid over SCATTER_LIMITS, underneath if
    given), the density figure of 1-D numbers against N(`normal`) (D's view `d_view` = (x, D(x)) beside it).
    Every sample picture paddle_gan shows or writes comes from here."""
    if samples.ndim == 2:
        if samples.shape[1] == 1:
            fig = density_figure(samples, title, normal, d_view)
        else:
            fig = scatter_figure(samples, title, d_view)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
    grid = image_grid(samples)
    return np.repeat(grid, 3, axis=2) if grid.shape[2] == 1 else grid  # gray as RGB: a colormap would shift levels


def save_samples(samples, path, title=None, d_view=None, normal=None):
    """Write `sample_picture(samples, title, d_view, normal)` as a PNG (or another type matplotlib writes)."""
    save_picture(sample_picture(samples, title, d_view, normal), path)


def save_picture(picture, path):
    """Write an RGB picture (sample_picture's) to `path`: the v0 demo's train_pass{N}.png."""
    imsave(path, picture)


def save_progress_animation(frames, path, seconds_per_frame=0.5):
    """Write the pictures `frames` (PNG paths, oldest first: every pass's train_pass{N}.png) as an animated GIF
    that loops, the run's evolution at a glance. Frames of another size are scaled to the first's."""
    from PIL import Image  # matplotlib's own dependency
    images = [Image.open(frame).convert("RGB") for frame in frames]
    images = [image if image.size == images[0].size else image.resize(images[0].size) for image in images]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(seconds_per_frame * 1000), loop=0,
                   optimize=False)


def sample_figure(samples, title):
    """The samples' picture in a figure with `title`, for a notebook to show inline."""
    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    ax.imshow(sample_picture(samples))
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def smoothed(values, points=50):
    """`values` averaged over a sliding window of about 1/`points` of their length (at least 1), the ends over the
    part of the window that exists: the trend that per-iteration noise hides."""
    window = max(1, len(values) // points)
    if window == 1:
        return np.asarray(values, dtype=np.float64)
    kernel = np.ones(window)
    return np.convolve(values, kernel, "same") / np.convolve(np.ones(len(values)), kernel, "same")


def loss_figure(iterations, d_loss, g_loss, d_outputs=None):
    """D's and G's losses against the iteration count, each as its raw values (faint) and their sliding mean;
    -log(0.5) marks the balance the v0 text hoped for. `d_outputs` = (D(x), D(G(z))) per iteration: a second panel
    of what D says of the real and the fake batches (0.5 for both is the balance)."""
    fig = Figure(figsize=(8, 6.5) if d_outputs is not None else (8, 4))
    axes = fig.subplots(2 if d_outputs is not None else 1, 1, sharex=True, squeeze=False)[:, 0]
    _raw_and_smoothed(axes[0], iterations, ((d_loss, "d_loss"), (g_loss, "g_loss")))
    axes[0].axhline(np.log(2.0), color="gray", linestyle="--", linewidth=0.8, label="-log(0.5)")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    if d_outputs is not None:
        _raw_and_smoothed(axes[1], iterations, zip(d_outputs, ("D(x)", "D(G(z))")))
        axes[1].axhline(0.5, color="gray", linestyle="--", linewidth=0.8, label="0.5")
        axes[1].set_ylim(0, 1)
        axes[1].set_ylabel("D's output (batch's geometric mean)")
        axes[1].legend()
    axes[-1].set_xlabel("iteration")
    fig.tight_layout()
    return fig


def _raw_and_smoothed(ax, iterations, series):
    for i, (values, label) in enumerate(series):
        values = np.asarray(values, dtype=np.float64)
        known = np.isfinite(values)  # under kstep each loss is computed on its own network's iterations only
        x = np.asarray(iterations)[known]
        ax.plot(x, values[known], linewidth=0.5, alpha=0.25, color=f"C{i}")
        ax.plot(x, smoothed(values[known]), linewidth=1.5, color=f"C{i}", label=f"{label} (sliding mean)")


def save_loss_curve(iterations, d_loss, g_loss, path, d_outputs=None):
    """Write `loss_figure(...)` as a PNG."""
    loss_figure(iterations, d_loss, g_loss, d_outputs).savefig(path, dpi=100)


METRIC_PANELS = {  # one panel per line: (metrics drawn in it, y-axis label, log scale)
    "fid": (("fid",), "FID (lower is better)", True),
    "inception_score": (("inception_score",), "Inception Score (10 at best)", False),
    "precision": (("precision", "recall"), "precision, recall", False),
    "energy_distance": (("energy_distance",), "energy distance to U[0,1)² (lower is better)", True),
    "inside": (("inside", "grid_coverage"), "share inside, 10×10 coverage", False),
    "mean": (("mean", "std"), "mean and std of G's samples", False),
    "ks": (("ks", "wasserstein"), "KS and Wasserstein distance to N(mean, std)", True),
    "label_accuracy": (("label_accuracy",), "label accuracy (drawn as asked)", False),
}


def metrics_figure(x, rows, xlabel, floor=None):
    """Sample quality over training: FID, IS and precision/recall for images (and label accuracy for a conditional
    run), energy distance and coverage for the uniform toy, mean, std and distances for the Gaussian toy (whichever
    `rows`, dicts of metrics, hold), against `x` (iterations or seconds). `floor`: the metrics of real data, drawn as
    dashed lines."""
    panels = [panel for key, panel in METRIC_PANELS.items() if key in rows[0]]
    fig = Figure(figsize=(5 * len(panels), 3.8))
    for ax, (keys, ylabel, log) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        for i, key in enumerate(keys):
            color = f"C{i}"
            ax.plot(x, [float(row[key]) for row in rows], marker="o", markersize=3, color=color, label=key)
            if floor and key in floor and (floor[key] > 0 or not log):  # real data's energy distance can be < 0
                ax.axhline(floor[key], color=color, linestyle="--", linewidth=0.8, label=f"{key}, real data")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def save_metrics_plot(x, rows, xlabel, path, floor=None):
    """Write `metrics_figure(...)` as a PNG."""
    metrics_figure(x, rows, xlabel, floor).savefig(path, dpi=100)
