"""Training workloads: model size and work per sample, and the dataset each one reads.

Every number states its unit and its public source. ``fwd_bwd_gflop_per_sample`` is the
floating-point work of one forward and one backward pass of one sample; following Kaplan et
al. 2020 ("Scaling Laws for Neural Language Models", section 2.1) the backward pass costs
twice the forward pass, so training work = 3 x forward work, and one multiply-accumulate is
2 FLOPs. Gradients are all-reduced in FP32 (PyTorch DDP reduces the gradient in the
parameter dtype, FP32 also under automatic mixed precision), so ``gradient_bytes`` =
4 bytes x parameters.

Data-pipeline rates (``prep_samples_per_s_per_vcpu``) are calibration assumptions, labelled
as such: they depend on the CPU, the decoder library and the augmentations; override them in
a scenario with your own measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

from cost_models.errors import DataError

FP32_BYTES = 4  # bytes per FP32 value (IEEE 754 binary32)
TRAINING_FLOPS_PER_FORWARD_FLOP = 3.0  # forward + backward = 3 x forward (Kaplan et al. 2020)
FLOPS_PER_MAC = 2.0  # one multiply-accumulate = 2 floating-point operations
FLOP_PER_GFLOP = 1e9  # SI prefix giga


@dataclass(frozen=True)
class Dataset:
    name: str
    train_samples: int  # samples per epoch
    sample_bytes: float  # average stored size of one sample, bytes
    prep_samples_per_s_per_vcpu: float  # CPU decode/augment rate of one vCPU (assumption)
    source: str

    @property
    def bytes_total(self) -> float:
        return self.train_samples * self.sample_bytes


@dataclass(frozen=True)
class TrainingModel:
    name: str
    parameters: int
    fwd_bwd_gflop_per_sample: float  # GFLOP per sample, forward + backward
    dataset: Dataset
    source: str

    @property
    def gradient_bytes(self) -> float:
        return self.parameters * FP32_BYTES


def _cnn_training_gflop(forward_gmac: float) -> float:
    """Training GFLOP per image from a forward multiply-accumulate count (GMAC)."""
    return forward_gmac * FLOPS_PER_MAC * TRAINING_FLOPS_PER_FORWARD_FLOP


def _transformer_training_gflop(
    non_embedding_params: float, layers: int, context: int, d_model: int
) -> float:
    """Training GFLOP per sequence: Kaplan et al. 2020 Table 1, C_forward per token =
    2 N + 2 n_layer n_ctx d_model, times 3 for forward + backward, times n_ctx tokens."""
    forward_per_token = 2 * non_embedding_params + 2 * layers * context * d_model
    return forward_per_token * TRAINING_FLOPS_PER_FORWARD_FLOP * context / FLOP_PER_GFLOP


IMAGENET = Dataset(
    "imagenet-1k",
    1_281_167,  # ILSVRC-2012 training images (Russakovsky et al., IJCV 2015, Table 2)
    138e9 / 1_281_167,  # ILSVRC2012_img_train.tar is 138 GB (image-net.org download page)
    # Assumption: JPEG decode + RandomResizedCrop + flip + normalise with PIL in PyTorch's
    # DataLoader, per vCPU (one hyper-thread). DS-Analyzer (Mohan et al., VLDB 2021) reports
    # that this pipeline needs several CPU cores per V100 to keep ResNet-class models fed.
    100.0,
    "ILSVRC-2012 (image-net.org); prep rate: calibration assumption",
)

MNLI_SEQ128 = Dataset(
    "mnli-seq128",
    392_702,  # MNLI training pairs (Williams et al., NAACL 2018; GLUE, Wang et al. 2019)
    3 * 128 * 8,  # pre-tokenised: input_ids, token_type_ids, attention_mask, 128 x int64 each
    # Assumption: collating pre-tokenised int64 tensors costs microseconds per sample.
    20_000.0,
    "MNLI (GLUE); stored pre-tokenised at sequence length 128; prep rate: assumption",
)

_BERT_BASE_LAYERS = 12  # Devlin et al., NAACL 2019, section 3: L=12, H=768, A=12
_BERT_BASE_D_MODEL = 768
_BERT_SEQUENCE = 128  # fine-tuning sequence length used for GLUE (Devlin et al. 2019, A.3)
_BERT_NON_EMBEDDING_PARAMS = 12 * _BERT_BASE_LAYERS * _BERT_BASE_D_MODEL**2  # Kaplan N = 12 L d^2

MODELS: dict[str, TrainingModel] = {
    m.name: m
    for m in (
        TrainingModel(
            "resnet50",
            25_557_032,
            _cnn_training_gflop(4.09),
            IMAGENET,
            "torchvision model zoo table (ResNet50_Weights.IMAGENET1K_V1: 25,557,032 params, "
            "4.09 GFLOPS reported as multiply-accumulates at 224x224)",
        ),
        TrainingModel(
            "vgg11",
            132_863_336,
            _cnn_training_gflop(7.61),
            IMAGENET,
            "torchvision model zoo table (VGG11_Weights.IMAGENET1K_V1: 132,863,336 params, "
            "7.61 GFLOPS as multiply-accumulates at 224x224)",
        ),
        TrainingModel(
            "alexnet",
            61_100_840,
            _cnn_training_gflop(0.71),
            IMAGENET,
            "torchvision model zoo table (AlexNet_Weights.IMAGENET1K_V1: 61,100,840 params, "
            "0.71 GFLOPS as multiply-accumulates at 224x224)",
        ),
        TrainingModel(
            "bert-base",
            109_482_240,
            _transformer_training_gflop(
                _BERT_NON_EMBEDDING_PARAMS, _BERT_BASE_LAYERS, _BERT_SEQUENCE, _BERT_BASE_D_MODEL
            ),
            MNLI_SEQ128,
            "Devlin et al., NAACL 2019 (BERT-base: L=12, H=768, 110M params; the Hugging Face "
            "bert-base-uncased checkpoint has 109,482,240); FLOPs per Kaplan et al. 2020",
        ),
    )
}


def training_model(name: str) -> TrainingModel:
    """Look a training model up by name; unknown names raise :class:`DataError`."""
    try:
        return MODELS[name]
    except KeyError:
        raise DataError(
            None, "model", f"one of {', '.join(sorted(MODELS))} (got {name!r})"
        ) from None
