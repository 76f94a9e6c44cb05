"""The science built on ``fastsmp``: what SMP does inside a network, and its checks.

* :mod:`fastsmp.science.model`: the propagation model, which predicts the mean and
  the std of the SMP after convolution, ReLU, max pooling and stacks of them for
  stationary Gaussian inputs (``fastsmp.model`` is its short alias);
* :mod:`fastsmp.science.experiments`: the paper's experiments, which check the
  model against real torch blocks (``fastsmp reproduce``; ``fastsmp.experiments``
  is the short alias).

The library itself (``fastsmp.smp`` and its backends) does not import this
package; the model and the experiments call it like any other user.
"""
