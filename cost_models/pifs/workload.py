"""DLRM embedding workloads: tables, batch, hotness, and public configurations.

Per batch of ``B`` samples a table with pooling factor ``L`` (lookups per sample), ``dim``
elements of ``bytes_per_element`` bytes per row (``row_bytes = dim * bytes_per_element``)
reads ``B * L`` rows; bucket b (row share ``rho_b``, lookup share ``lambda_b``) holds
``rows * rho_b * row_bytes`` bytes and serves ``B * L * lambda_b * row_bytes`` bytes of
lookups per batch. Pooling (summing a sample's rows of one table) produces one
``row_bytes`` vector per sample and table wherever it runs.

Public configurations (sources in each entry):

* DeepRecSys RM1/RM2/RM3: Gupta et al., "DeepRecSys: A System for Optimizing End-To-End
  At-Scale Neural Recommendation Inference", ISCA 2020, Table I (as summarised in the
  issue brief): RM1 8 tables x 4M rows, dim 32, pooling 80; RM2 32 x 500k, dim 64, pooling
  120; RM3 10 x 2M, dim 32, pooling 20. FP32 rows (assumption: the paper's Caffe2 models).
* Criteo Kaggle and Terabyte: the 26 categorical cardinalities of facebookresearch/dlrm
  (``dlrm_s_pytorch.py``: Kaggle with ``--arch-sparse-feature-size=16``; Terabyte with
  MLPerf's ``--max-ind-range=40000000`` and dim 128). One lookup per sample per table
  (one-hot features), FP32.
* A synthetic workload shaped like Meta's public trace (facebookresearch/dlrm_datasets,
  2022): ``n_tables`` tables whose mean pooling factor is the trace's lookups per sample
  and table (1,405,163,864 / 131,072 / 788 = 13.6); per-table pooling and row counts are
  drawn log-normally from a seed (synthetic assumption; the trace does not publish table
  sizes), FP16 rows of dim 128 (assumption).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cost_models.errors import DataError
from cost_models.pifs.hotness import Bucket


@dataclass(frozen=True)
class EmbeddingTable:
    name: str
    rows: int
    dim: int
    bytes_per_element: int
    pooling: float  # lookups per sample
    buckets: tuple[Bucket, ...]

    @property
    def row_bytes(self) -> int:
        return self.dim * self.bytes_per_element

    @property
    def bytes(self) -> float:
        return float(self.rows * self.row_bytes)

    def bucket_bytes(self, b: int) -> float:
        return self.rows * self.buckets[b].row_share * self.row_bytes

    def bucket_lookup_bytes(self, b: int, batch_size: int) -> float:
        """Bytes of rows read from bucket ``b`` per batch."""
        return batch_size * self.pooling * self.buckets[b].lookup_share * self.row_bytes

    def pooled_bytes(self, batch_size: int) -> float:
        """Bytes of one pooled vector per sample of the batch."""
        return float(batch_size * self.row_bytes)


@dataclass(frozen=True)
class Workload:
    tables: tuple[EmbeddingTable, ...]
    batch_size: int
    batches_per_s: float | None = None  # offered load, for utilisation (optional)
    bucket_arrays: BucketArrays = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Every (table, bucket) pair flattened in table order (``bucket_arrays``)."""
        pairs = [
            (t, table, b) for t, table in enumerate(self.tables) for b in range(len(table.buckets))
        ]
        arrays = BucketArrays(
            table=np.array([t for t, _, _ in pairs], dtype=np.int64),
            bytes=np.array([table.bucket_bytes(b) for _, table, b in pairs]),
            lookup_bytes=np.array(
                [table.bucket_lookup_bytes(b, self.batch_size) for _, table, b in pairs]
            ),
        )
        object.__setattr__(self, "bucket_arrays", arrays)


@dataclass(frozen=True)
class BucketArrays:
    """Per flattened bucket k: its table, stored bytes and lookup bytes per batch."""

    table: np.ndarray  # table index of k (non-decreasing)
    bytes: np.ndarray  # stored bytes of bucket k
    lookup_bytes: np.ndarray  # bytes of rows read from bucket k per batch


@dataclass(frozen=True)
class TableShape:
    """A table before hotness is attached."""

    name: str
    rows: int
    dim: int
    bytes_per_element: int
    pooling: float


def _uniform(prefix: str, n: int, rows: int, dim: int, pooling: float) -> list[TableShape]:
    return [TableShape(f"{prefix}_t{i}", rows, dim, 4, pooling) for i in range(n)]


CRITEO_KAGGLE_ROWS = (  # facebookresearch/dlrm, Criteo Kaggle day split
    1460,
    583,
    10131227,
    2202608,
    305,
    24,
    12517,
    633,
    3,
    93145,
    5683,
    8351593,
    3194,
    27,
    14992,
    5461306,
    10,
    5652,
    2173,
    4,
    7046547,
    18,
    15,
    286181,
    105,
    142572,
)
CRITEO_TERABYTE_ROWS = (  # facebookresearch/dlrm, Terabyte with --max-ind-range=40000000
    39884406,
    39043,
    17289,
    7420,
    20263,
    3,
    7120,
    1543,
    63,
    38532951,
    2953546,
    403346,
    10,
    2208,
    11938,
    155,
    4,
    976,
    14,
    39979771,
    25641295,
    39664984,
    585935,
    12972,
    108,
    36,
)

PRESETS: dict[str, Callable[[], list[TableShape]]] = {
    "rm1": lambda: _uniform("rm1", 8, 4_000_000, 32, 80.0),
    "rm2": lambda: _uniform("rm2", 32, 500_000, 64, 120.0),
    "rm3": lambda: _uniform("rm3", 10, 2_000_000, 32, 20.0),
    "criteo_kaggle": lambda: [
        TableShape(f"C{i + 1}", r, 16, 4, 1.0) for i, r in enumerate(CRITEO_KAGGLE_ROWS)
    ],
    "criteo_terabyte": lambda: [
        TableShape(f"C{i + 1}", r, 128, 4, 1.0) for i, r in enumerate(CRITEO_TERABYTE_ROWS)
    ],
}

META_MEAN_POOLING = 1_405_163_864 / 131_072 / 788  # lookups per sample and table (trace)
META_MEDIAN_ROWS = 1_000_000  # synthetic assumption
META_ROWS_SIGMA = 1.5  # log-normal spread of rows (synthetic assumption)
META_POOLING_SIGMA = 1.0  # log-normal spread of pooling factors (synthetic assumption)


def meta_like_tables(
    n_tables: int,
    seed: int,
    mean_pooling: float = META_MEAN_POOLING,
    dim: int = 128,
    bytes_per_element: int = 2,
) -> list[TableShape]:
    """Synthetic tables shaped like Meta's trace (see the module docstring)."""
    if n_tables < 1:
        raise DataError(None, "workload.tables", "at least one table")
    rng = np.random.default_rng(seed)
    rows = np.clip(
        rng.lognormal(np.log(META_MEDIAN_ROWS), META_ROWS_SIGMA, n_tables), 1_000, 50_000_000
    ).astype(np.int64)
    pooling = rng.lognormal(0.0, META_POOLING_SIGMA, n_tables)
    pooling *= mean_pooling / pooling.mean()
    return [
        TableShape(f"meta_t{i}", int(r), dim, bytes_per_element, float(round(p, 3)))
        for i, (r, p) in enumerate(zip(rows, pooling, strict=True))
    ]


def with_hotness(
    shapes: Sequence[TableShape], buckets_for: Callable[[TableShape], tuple[Bucket, ...]]
) -> tuple[EmbeddingTable, ...]:
    """Attach hotness buckets to each table shape."""
    return tuple(
        EmbeddingTable(s.name, s.rows, s.dim, s.bytes_per_element, s.pooling, buckets_for(s))
        for s in shapes
    )
