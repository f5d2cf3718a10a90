"""A DNN layer as a GEMM ``(M x K) . (K x N)`` and the systolic dataflows.

Lowering (the im2col convention of SCALE-Sim, Samajdar et al., ISPASS 2020, section III):

* convolution: ``M = batch x output pixels``, ``K = filter window x input channels``,
  ``N = filters``; a grouped convolution (depthwise: groups = channels) is ``groups``
  independent GEMMs, each with ``K = window x channels/groups`` and ``N = filters/groups``;
* fully connected: ``M = batch``, ``K = input features``, ``N = output features``;
* recurrent cell (LSTM/GRU): per time step one GEMM of the concatenated ``[x_t, h_{t-1}]``
  with all gates' weights, ``M = batch``, ``K = input + hidden``, ``N = gates x hidden``,
  repeated for every time step with the same weights.

``ifmap_elems`` counts the distinct input elements (the tensor in DRAM), which for a
convolution is smaller than the im2col matrix ``M x K`` (overlapping windows re-read the
same pixel).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cost_models.errors import DataError


class Dataflow(enum.StrEnum):
    """Which operand stays in the PEs (Chen et al., ISCA 2016 taxonomy; SCALE-Sim's names)."""

    OUTPUT_STATIONARY = "os"
    WEIGHT_STATIONARY = "ws"
    INPUT_STATIONARY = "is"


DATAFLOWS: tuple[Dataflow, ...] = tuple(Dataflow)


@dataclass(frozen=True)
class Gemm:
    """One layer: ``repeats`` independent GEMMs of shape ``(m x k) . (k x n)``.

    ``shared_filter``: every repeat uses the same ``k x n`` weights (RNN time steps), so the
    weights cross the DRAM interface once when they fit in the buffer.
    ``reads_previous``: the layer's input is exactly the previous layer's output (a chain),
    which is what cross-layer reuse can keep on chip.
    """

    name: str
    m: int
    k: int
    n: int
    repeats: int = 1
    ifmap_elems: int = 0  # distinct input elements per repeat; 0 means m * k
    shared_filter: bool = False
    reads_previous: bool = False

    def __post_init__(self) -> None:
        for key in ("m", "k", "n", "repeats"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise DataError(None, f"{self.name}.{key}", f"an integer >= 1 (got {value!r})")
        if self.ifmap_elems < 0 or self.ifmap_elems > self.m * self.k:
            raise DataError(None, f"{self.name}.ifmap_elems", "0 or 1 .. m * k")

    @property
    def input_elems(self) -> int:
        """Distinct input elements of one repeat."""
        return self.ifmap_elems or self.m * self.k

    @property
    def filter_elems(self) -> int:
        return self.k * self.n

    @property
    def output_elems(self) -> int:
        return self.m * self.n

    @property
    def macs(self) -> int:
        return self.repeats * self.m * self.k * self.n


def conv_gemm(
    name: str,
    *,
    batch: int,
    in_channels: int,
    height: int,
    width: int,
    out_channels: int,
    kernel: int,
    stride: int = 1,
    padding: int | None = None,
    groups: int = 1,
    reads_previous: bool = True,
) -> tuple[Gemm, tuple[int, int, int]]:
    """Lower a square-kernel convolution; returns the GEMM and the output (channels, h, w).

    ``padding`` defaults to ``kernel // 2`` ("same" for odd kernels, as in ResNet, VGG and
    MobileNet); SCALE-Sim's own convolution reader has no padding (``padding=0``).
    """
    pad = kernel // 2 if padding is None else padding
    out_h = (height + 2 * pad - kernel) // stride + 1
    out_w = (width + 2 * pad - kernel) // stride + 1
    if out_h < 1 or out_w < 1 or in_channels % groups or out_channels % groups:
        raise DataError(
            None,
            f"{name}",
            "a convolution whose output is non-empty and whose channels divide into the groups",
        )
    gemm = Gemm(
        name,
        m=batch * out_h * out_w,
        k=kernel * kernel * (in_channels // groups),
        n=out_channels // groups,
        repeats=groups,
        ifmap_elems=min(
            batch * height * width * (in_channels // groups),
            batch * out_h * out_w * kernel * kernel * (in_channels // groups),
        ),
        reads_previous=reads_previous,
    )
    return gemm, (out_channels, out_h, out_w)


def linear_gemm(
    name: str, *, batch: int, in_features: int, out_features: int, reads_previous: bool = True
) -> Gemm:
    return Gemm(name, m=batch, k=in_features, n=out_features, reads_previous=reads_previous)


def rnn_gemm(
    name: str, *, batch: int, input_size: int, hidden: int, gates: int, steps: int
) -> Gemm:
    """All gates of one recurrent layer over ``steps`` time steps (LSTM: 4 gates; GRU: 3)."""
    return Gemm(
        name,
        m=batch,
        k=input_size + hidden,
        n=gates * hidden,
        repeats=steps,
        shared_filter=True,
    )
