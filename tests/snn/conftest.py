"""The SNN tests need the optional [snn] extra (torch, snnTorch, scikit-learn, mlxtend)."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("snntorch")
pytest.importorskip("sklearn")
