"""The benchmark's zoo: models trained locally in seconds, on scikit-learn's
bundled data sets and synthetic ones (nothing downloaded).

Each :class:`Model` is a NumPy-in, NumPy-out function with its family, its
label (``"nonsmooth"``, ``"smooth"`` or ``"confounder"``) and the examples
(``X``) to probe it with. torch and scikit-learn are imported here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Model", "DATASETS", "FAMILIES", "build_zoo"]

NONSMOOTH = ["relu", "leaky_relu", "prelu", "relu6", "hardtanh", "hardswish", "cnn_relu", "cnn_maxpool"]
SMOOTH = ["tanh", "sigmoid", "gelu", "silu", "mish", "softplus1", "softplus10", "softplus100",
          "kernel_ridge_rbf", "gp_rbf", "gp_matern52", "svr_rbf", "cubic_spline", "poly_ridge", "cnn_tanh"]
CONFOUNDERS = ["linear_spline", "gbt", "knn", "laplacian_ridge"]
#: family -> label
FAMILIES = {**{f: "nonsmooth" for f in NONSMOOTH}, **{f: "smooth" for f in SMOOTH}, **{f: "confounder" for f in CONFOUNDERS}}
DATASETS = ["diabetes", "friedman1", "friedman3", "linnerud"]
IMAGE_FAMILIES = {"cnn_relu", "cnn_maxpool", "cnn_tanh"}


@dataclass
class Model:
    family: str
    label: str
    dataset: str
    f: Callable
    X: np.ndarray  #: examples to probe with (held-out rows)
    note: str = ""


def load_dataset(name, seed=0):
    """``(X, y)`` standardised, float32 (y: (n,) or (n, k))."""
    from sklearn import datasets

    if name == "diabetes":
        X, y = datasets.load_diabetes(return_X_y=True)
    elif name == "friedman1":
        X, y = datasets.make_friedman1(n_samples=400, random_state=seed)
    elif name == "friedman3":
        X, y = datasets.make_friedman3(n_samples=400, random_state=seed)
    elif name == "linnerud":
        X, y = datasets.load_linnerud(return_X_y=True)
    elif name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        X, y = X[:600], y[:600].astype(np.float64)
    else:
        raise ValueError(f"unknown data set {name!r}")
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    y = (y - y.mean(0)) / y.std(0)
    return X.astype(np.float32), y.astype(np.float32)


def _activation(name, nn):
    if name.startswith("softplus"):
        return nn.Softplus(beta=float(name[len("softplus"):]))
    return {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU, "relu6": nn.ReLU6, "hardtanh": nn.Hardtanh,
            "hardswish": nn.Hardswish, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "silu": nn.SiLU,
            "mish": nn.Mish}[name]()


def _train_torch(net, X, y, steps, seed):
    import torch

    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y).reshape(len(y), -1)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((net(Xt) - yt) ** 2)
        loss.backward()
        opt.step()
    net.eval()

    def f(x):
        with torch.no_grad():
            return net(torch.as_tensor(np.asarray(x, dtype=np.float32))).numpy()

    return f


def _mlp(family, X, y, rng, steps):
    import torch
    from torch import nn

    depth = int(rng.integers(1, 5))
    width = int(rng.choice([16, 32, 64, 128, 256]))
    torch.manual_seed(int(rng.integers(1 << 30)))
    layers, d = [], X.shape[1]
    for _ in range(depth):
        layers += [nn.Linear(d, width), _activation(family, nn)]
        d = width
    k = 1 if y.ndim == 1 else y.shape[1]
    layers.append(nn.Linear(d, k))
    net = nn.Sequential(*layers)
    return _train_torch(net, X, y, steps, int(rng.integers(1 << 30))), f"depth {depth} width {width}"


def _cnn(family, X, y, rng, steps):
    import torch
    from torch import nn

    torch.manual_seed(int(rng.integers(1 << 30)))
    c = int(rng.choice([8, 16]))
    if family == "cnn_relu":
        body = [nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU()]
    elif family == "cnn_maxpool":  # max pooling is the only nonsmooth operation
        body = [nn.Conv2d(1, c, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(c, c, 3, padding=1), nn.MaxPool2d(2)]
    else:
        body = [nn.Conv2d(1, c, 3, padding=1), nn.Tanh(), nn.Conv2d(c, c, 3, padding=1), nn.Tanh()]
    net = nn.Sequential(*body, nn.Flatten(), nn.LazyLinear(1))
    net(torch.zeros(1, 1, 8, 8))
    return _train_torch(net, X.reshape(-1, 1, 8, 8), y, steps, int(rng.integers(1 << 30))), f"{c} channels"


def _sklearn(family, X, y, rng):
    from sklearn import ensemble, gaussian_process, kernel_ridge, neighbors, pipeline, preprocessing, svm
    from sklearn.linear_model import Ridge
    from sklearn.multioutput import MultiOutputRegressor

    gp = gaussian_process.kernels
    make = {
        "kernel_ridge_rbf": lambda: kernel_ridge.KernelRidge(alpha=0.1, kernel="rbf", gamma=float(rng.uniform(0.02, 0.3))),
        "gp_rbf": lambda: gaussian_process.GaussianProcessRegressor(gp.RBF(float(rng.uniform(1, 4))) + gp.WhiteKernel(0.1), optimizer=None),
        "gp_matern52": lambda: gaussian_process.GaussianProcessRegressor(gp.Matern(float(rng.uniform(1, 4)), nu=2.5) + gp.WhiteKernel(0.1), optimizer=None),
        "svr_rbf": lambda: MultiOutputRegressor(svm.SVR(C=3.0, gamma=float(rng.uniform(0.02, 0.3)))),
        # extrapolation="continue": the default ("constant") clamps the basis beyond the
        # data, which puts true kinks on the data's bounding box
        "cubic_spline": lambda: pipeline.make_pipeline(preprocessing.SplineTransformer(n_knots=6, degree=3, extrapolation="continue"), Ridge(1.0)),
        "poly_ridge": lambda: pipeline.make_pipeline(preprocessing.PolynomialFeatures(3), Ridge(1.0)),
        "linear_spline": lambda: pipeline.make_pipeline(preprocessing.SplineTransformer(n_knots=8, degree=1), Ridge(1.0)),
        "gbt": lambda: MultiOutputRegressor(ensemble.GradientBoostingRegressor(n_estimators=50, max_depth=3)),
        "knn": lambda: neighbors.KNeighborsRegressor(int(rng.integers(3, 10)), weights="distance"),
        "laplacian_ridge": lambda: kernel_ridge.KernelRidge(alpha=0.1, kernel="laplacian", gamma=float(rng.uniform(0.02, 0.3))),
    }[family]()
    model = make.fit(X.astype(np.float64), y.reshape(len(y), -1).astype(np.float64))
    return (lambda x: model.predict(np.asarray(x, dtype=np.float64).reshape(len(x), -1))), ""


def build_zoo(datasets=DATASETS, families=None, seed=0, steps=150, probe_rows=16):
    """Train every family on every data set (images for the CNN families).

    Returns a list of :class:`Model`; ``X`` holds ``probe_rows`` rows not
    used for training.
    """
    import torch

    torch.set_num_threads(1)
    families = list(FAMILIES) if families is None else families
    models = []
    rng = np.random.default_rng(seed)
    for family in families:
        for ds in (["digits"] if family in IMAGE_FAMILIES else datasets):
            X, y = load_dataset(ds, seed)
            perm = rng.permutation(len(X))
            train, held = perm[probe_rows:], perm[:probe_rows]
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if family in IMAGE_FAMILIES:
                f, note = _cnn(family, X[train], y[train], rng, steps)
                Xp = X[held].reshape(-1, 1, 8, 8)
            elif family in FAMILIES and family in NONSMOOTH + SMOOTH[:8]:
                f, note = _mlp(family, X[train], y[train], rng, steps)
                Xp = X[held]
            else:
                f, note = _sklearn(family, X[train], y[train], rng)
                Xp = X[held]
            models.append(Model(family, FAMILIES[family], ds, f, Xp, note))
    return models
