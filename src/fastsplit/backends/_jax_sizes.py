"""What the jax backend allocates: its host backend's index pass, then device buffers.

Importable without jax. The permutation is computed on the host (the host
backend's index-mode peak), then on the device the permutation and the gathered
outputs are allocated (and any NumPy input moved there). On a CPU device both live
in host memory and add up; on an accelerator the device part is compared with the
device's own free memory.
"""

from __future__ import annotations

from .._labels import index_dtype
from ._interface import Inputs, MemoryModel, Need, Shape, plus


class JaxSizes:
    """The jax backend's allocations, on top of ``host`` (the host backend's model)."""

    def __init__(self, host: MemoryModel | None = None) -> None:
        if host is None:
            raise TypeError("the jax memory model needs the host backend's model")
        self.host = host

    def need(self, shape: Shape, *, code_bytes: int, inputs: Inputs) -> Need:
        n = shape.n
        if n == 0:
            return Need({}, {})
        index_host = self.host.need(shape, code_bytes=code_bytes, inputs=inputs).index
        order = n * index_dtype(n).itemsize
        copy_device = {
            "device_order": order,
            "outputs": n * sum(inputs.itemsizes),
            "uploads": n * inputs.upload_itemsize,
        }
        index_device = {"device_order": order} if inputs.device_arrays else {}
        if inputs.device_free is None:  # a CPU device: its buffers are host memory
            return Need(copy=plus(index_host, copy_device), index=plus(index_host, index_device))
        return Need(
            copy=dict(index_host),
            index=index_host,
            copy_device=copy_device,
            index_device=index_device,
        )


__all__ = ["JaxSizes"]
