"""Training device choice: implicit's CUDA build when present, always served from CPU factors."""

import implicit.gpu
import implicit.gpu.als
import numpy as np

from kefu.recsys import Recommender
from kefu.recsys.factor_model import gpu_available


class _FakeGpuAls:
    """Stands in for implicit.gpu.als.AlternatingLeastSquares on machines without CUDA."""

    instances: list["_FakeGpuAls"] = []

    def __init__(self, **params):  # type: ignore[no-untyped-def]
        from implicit.cpu.als import AlternatingLeastSquares

        self.params = params
        self._cpu = AlternatingLeastSquares(num_threads=1, **params)
        self.converted = False
        type(self).instances.append(self)

    def fit(self, matrix, show_progress=False):  # type: ignore[no-untyped-def]
        self._cpu.fit(matrix, show_progress=show_progress)

    def to_cpu(self):  # type: ignore[no-untyped-def]
        self.converted = True
        return self._cpu


def test_uses_the_gpu_build_when_cuda_is_there(events, make_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", True)
    monkeypatch.setattr(implicit.gpu.als, "AlternatingLeastSquares", _FakeGpuAls)
    _FakeGpuAls.instances.clear()
    assert gpu_available()
    model = Recommender(make_config()).fit(events)
    assert len(_FakeGpuAls.instances) == 1 and _FakeGpuAls.instances[0].converted
    assert _FakeGpuAls.instances[0].params["factors"] == 8
    assert isinstance(model._require().factors.user_factors, np.ndarray)
    assert model.recommend("u1", 3)


def test_cpu_when_asked_or_without_cuda(events, make_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", True)
    monkeypatch.setattr(implicit.gpu.als, "AlternatingLeastSquares", _FakeGpuAls)
    _FakeGpuAls.instances.clear()
    Recommender(make_config(use_gpu=False)).fit(events)
    assert _FakeGpuAls.instances == []
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", False)
    Recommender(make_config()).fit(events)
    assert _FakeGpuAls.instances == []
