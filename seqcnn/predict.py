"""Batched prediction that leaves the model on its device and in its mode."""

from __future__ import annotations

import torch
from torch import nn

from seqcnn.sequence import CompactOneHot, reverse_complement_onehot, to_batch


def model_device(model: nn.Module) -> torch.device:
    """Where a model's parameters (else buffers) are; the CPU for a model with neither.

    Examples
    --------
    >>> model_device(nn.ReLU())
    device(type='cpu')
    """
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def predict(
    model: nn.Module,
    X: torch.Tensor | CompactOneHot,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    rc_average: bool = False,
    verbose: bool = False,
    amp: bool = False,
) -> torch.Tensor:
    """Model outputs for ``X``, computed in batches without gradients, in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
    X : torch.Tensor or CompactOneHot, shape (N, 4, L) or (N, C, H, W)
        Inputs on any device; each batch is moved to ``device`` (from pinned memory, without
        blocking, to CUDA; compact sequences travel as bytes and become one-hot there).
    batch_size : int
    device : str or torch.device, optional
        Where to compute; default: where the model's parameters are.
    rc_average : bool
        Also score the reverse complement of each sequence and average the two outputs
        (for models that score one strand; DeepBind-style models already score both).
    verbose : bool
        Show a progress bar.
    amp : bool
        On CUDA, compute in bfloat16 (float16 where bf16 is not supported) autocast; outputs
        come back as float32. Ignored on the CPU, where results stay exact.

    Returns
    -------
    torch.Tensor, shape (N, T)
        Outputs on the CPU (logits for classification models).

    Examples
    --------
    >>> from seqcnn.models import create_model
    >>> predict(create_model("deepbind"), torch.zeros(10, 4, 50), batch_size=4).shape
    torch.Size([10, 1])
    """
    from tqdm.auto import tqdm

    original = model_device(model)
    device = original if device is None else torch.device(device)
    was_training = model.training
    model.eval().to(device)
    outputs = []
    use_amp = amp and device.type == "cuda"
    amp_dtype = torch.bfloat16
    if use_amp and not torch.cuda.is_bf16_supported():
        amp_dtype = torch.float16
    try:
        with torch.inference_mode(), torch.autocast(device.type, amp_dtype, enabled=use_amp):
            for start in tqdm(range(0, len(X), batch_size), disable=not verbose, unit="batch"):
                x = to_batch(X, slice(start, start + batch_size), device)
                out = model(x)
                if rc_average:
                    out = (out + model(reverse_complement_onehot(x))) / 2
                outputs.append(out.float().cpu())
    finally:
        model.train(was_training).to(original)
    if not outputs:
        return torch.empty(0)
    return torch.cat(outputs)
