"""Pictures of what the network learned: the paper's Figure 3 (conv1 kernels)."""

from __future__ import annotations

import numpy as np


def conv1_kernels(model) -> list[np.ndarray]:
    """conv1's kernels per tower: [(11, 11, 3, 48) tower a, (11, 11, 3, 48) tower b]
    (one array for a one-tower model)."""
    present = {layer.name for layer in model.layers}
    names = [n for n in ("conv1a", "conv1b", "conv1") if n in present]
    return [np.asarray(model.get_layer(n).kernel.numpy(), np.float32) for n in names]


def filter_grid(model, columns: int = 16, pad: int = 1, scale: int = 1) -> np.ndarray:
    """Figure 3: conv1's kernels as RGB tiles, each tower's in its own block of rows
    (tower a above tower b). Each kernel is stretched to 0-255 on its own, as the paper
    shows them. Returns uint8 (H, W, 3)."""
    blocks = []
    for kernels in conv1_kernels(model):
        k, _, _, n = kernels.shape
        rows = -(-n // columns)
        block = np.full((rows * (k + pad) + pad, columns * (k + pad) + pad, 3), 255, np.uint8)
        for i in range(n):
            tile = kernels[..., i]
            lo, hi = tile.min(), tile.max()
            tile = (tile - lo) / (hi - lo) if hi > lo else np.zeros_like(tile)
            r, c = divmod(i, columns)
            y, x = pad + r * (k + pad), pad + c * (k + pad)
            block[y : y + k, x : x + k] = np.round(tile * 255).astype(np.uint8)
        blocks.append(block)
    gap = np.full((4 * pad, blocks[0].shape[1], 3), 255, np.uint8)
    grid = np.concatenate([b for block in blocks for b in (block, gap)][:-1], axis=0)
    return grid.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else grid
