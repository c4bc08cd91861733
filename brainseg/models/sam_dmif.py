"""SAM-DMIF: a Segment Anything encoder with dynamic modal interactive fusion (seed paper 003, BrainSegDMIF).

Slice-wise (2D). Each of the four sequences runs through one shared SAM ViT image encoder as its own stream.
After every ViT block a DMIF module (paper Eq. 1-7) fuses the four streams token by token and feeds the
fused tokens back into each stream; the last block's fused tokens go through SAM's neck to the decoder. A
prompt generator (Eq. 8-9) turns learned mask tokens, one per output region, into automatic prompts by
self-attention and cross-attention with the image tokens; a layer-by-layer upsampling decoder (Eq. 10-13)
predicts the masks at three scales, modulated by the mask tokens, and sums them.

Built on segment-anything's modules so that its pretrained SAM weights load and its prompts work:
``ImageEncoderViT`` (patch embedding, blocks, neck), ``PromptEncoder`` (points, boxes, mask logits, added to
the automatic mask tokens exactly as SAM adds them to its output tokens, for interactive refinement) and the
``TwoWayTransformer`` at the heart of SAM's ``MaskDecoder``. ``MaskDecoder`` itself is not used: its forward
hard-wires SAM's single 4x upscaling head and the IoU token, which the paper replaces by the layer-by-layer
decoder.

Sequence input: each sequence is one grey channel replicated to RGB, so SAM's pretrained 3-channel patch
embedding loads unchanged (``strict=True``) and is shared by the four streams, as the paper's "unified SAM
encoder". A per-sequence patch embedding would make the streams differ before any fusion and leave nothing
pretrained to load. The replication is computed as the grey channel through the kernel summed over RGB: the
same result for a third of the work.

The ViT works on the input's own token grid: SAM's absolute position table (sized for ``image_size``) is
resized to it and the relative position tables are resized by SAM itself, so BraTS slices need no resizing
(240 / 16 = 15 tokens a side). The paper has no deep supervision.

    >>> model = create("sam-dmif", "demo")
    >>> out = model(torch.zeros(2, 4, 240, 240))  # out.logits: (2, 3, 240, 240)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

import torch
import torch.nn.functional as F
from segment_anything.modeling import ImageEncoderViT, PromptEncoder, TwoWayTransformer
from segment_anything.modeling.mask_decoder import MLP
from segment_anything.modeling.transformer import Attention
from torch import nn

from brainseg.models.blocks import upsample_to
from brainseg.models.contract import DataContract, ModelConfig, ModelConfigError, ModelOutput, SegmentationModel
from brainseg.models.registry import Variant, VariantRecipe, register


@dataclass
class SamDmifConfig(ModelConfig):
    """Architecture of :class:`SamDmif`; sizes live in ``configs/sam-dmif/<size>.json``.

    The ViT fields are those of segment-anything's ``ImageEncoderViT`` (SAM ViT-B: 1024, 16, 768, 12, 12,
    window 14, global attention in blocks 2, 5, 8, 11, relative positions).
    """

    variant: ClassVar[str] = "sam-dmif"
    data: DataContract = field(default_factory=lambda: DataContract(dims=2))
    image_size: int = 240  # the size SAM's position table is made for; inputs of other sizes resize it
    patch_size: int = 16  # also the model's stride: inputs must be divisible by it
    embed_dim: int = 96
    depth: int = 3
    num_heads: int = 4
    mlp_ratio: float = 4.0
    window_size: int = 0  # 0 = global attention in every block
    global_attn_indexes: list[int] = field(default_factory=list)  # blocks with global attention when windowed
    use_rel_pos: bool = False
    # SAM ViT weights for the image encoder, e.g. "sam-vit-base" or "hf-hub:org/repo@rev" (transformers' SAM
    # layout); None = random. Recorded only: building never loads; brainseg.hub.backbones loads it.
    pretrained: str | None = None
    prompt_dim: int = 64  # SAM's neck output and prompt/decoder width (256 in SAM)
    decoder_depth: int = 2  # two-way transformer blocks of the prompt generator
    decoder_heads: int = 4
    decoder_mlp_dim: int = 256
    decoder_channels: int = 16  # channels of each upsampled scale (SAM's head: prompt_dim // 8)
    # Upsampling factor of each decoder scale relative to the token grid (Eq. 10); with patch 16 the three
    # scales are 1/8, 1/4 and 1/2 of the input (the paper size goes to 1/1). The coarser ones are resized to
    # the finest and summed; the sum is resized to the input. Full resolution costs 4x the decoder time.
    upsample_factors: list[int] = field(default_factory=lambda: [2, 4, 8])
    # Hidden width of the MLP that scores the modalities (Eq. 3). The paper gives none; with 64 and DMIF
    # after each of SAM-B's 12 blocks the paper size has 353.5M parameters, the paper's 354M.
    dmif_weight_hidden: int = 64
    # Initial per-channel scale of the fused tokens added back into each stream. Small, so that pretrained
    # SAM features are barely disturbed at first; not zero, so that every DMIF gets gradient from step one.
    feedback_init: float = 0.1

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ModelConfigError(f"sam-dmif image_size {self.image_size} not divisible by patch {self.patch_size}")
        if self.embed_dim % self.num_heads or self.prompt_dim % (2 * self.decoder_heads):
            raise ModelConfigError(
                f"sam-dmif heads must divide widths: embed_dim {self.embed_dim} / {self.num_heads} heads, "
                f"prompt_dim {self.prompt_dim} / (2 x {self.decoder_heads} heads, SAM halves cross-attention)"
            )
        if self.depth < 1 or len(self.upsample_factors) < 1:
            raise ModelConfigError(f"sam-dmif needs depth >= 1 and upsample_factors, got {self}")


class DynamicModalInteractiveFusion(nn.Module):
    """DMIF (paper 3.1): fuse M sequence streams token by token.

    ``forward(streams (B, M, h, w, D)) -> (fused (B, h, w, D), weights (B, M, h, w))``; the weights are the
    softmax over modalities of Eq. 3-4, so they sum to one at every token.
    """

    def __init__(self, dim: int, num_modalities: int, weight_hidden: int) -> None:
        super().__init__()
        width = dim * num_modalities  # the concatenated tokens of all modalities
        # Inter-modal interaction, Eq. 1-2: f' = LN(W1 f + b1), f'' = W2 GELU(f') + b2 (the norm after W1, as
        # the equation writes it).
        self.interact_in = nn.Linear(width, width)
        self.interact_norm = nn.LayerNorm(width)
        self.interact_out = nn.Linear(width, width)
        # Dynamic weights, Eq. 3: one score per modality and token.
        self.score = nn.Sequential(nn.Linear(width, weight_hidden), nn.GELU(), nn.Linear(weight_hidden, num_modalities))
        # Enhancement branch gamma: a complementary view of the original concatenated tokens (3.1.3).
        self.enhance = nn.Sequential(nn.Linear(width, dim), nn.GELU())

    def forward(self, streams: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, m, h, w, d = streams.shape
        concat = streams.permute(0, 2, 3, 1, 4).reshape(b, h, w, m * d)  # f_i: (B, h, w, M*D)
        interacted = self.interact_out(F.gelu(self.interact_norm(self.interact_in(concat))))  # f'': (B, h, w, M*D)
        weights = self.score(interacted).softmax(dim=-1)  # W_modal, Eq. 3-4: (B, h, w, M)
        weighted = interacted.view(b, h, w, m, d) * weights.unsqueeze(-1)  # f''', Eq. 5: (B, h, w, M, D)
        fused = weighted.sum(dim=3) + self.enhance(concat)  # F_c = Eq. 6 + gamma(f_i): (B, h, w, D)
        fused = fused + streams.mean(dim=1)  # f_fus, Eq. 7: mean residual over modalities
        return fused, weights.permute(0, 3, 1, 2)  # (B, h, w, D), (B, M, h, w)


def cross_attention_weights(attention: Attention, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Softmax weights of a SAM ``Attention`` layer, averaged over heads: (B, Nq, C), (B, Nk, C) -> (B, Nq, Nk)."""
    q = attention.q_proj(queries)  # (B, Nq, Ci)
    k = attention.k_proj(keys)  # (B, Nk, Ci)
    b, n_q, c = q.shape
    heads = attention.num_heads
    q = q.view(b, n_q, heads, c // heads).transpose(1, 2)  # (B, nh, Nq, Ci / nh)
    k = k.view(b, k.shape[1], heads, c // heads).transpose(1, 2)  # (B, nh, Nk, Ci / nh)
    return (q @ k.transpose(-2, -1) / math.sqrt(c // heads)).softmax(dim=-1).mean(dim=1)  # (B, Nq, Nk)


class LayerwiseUpsamplingDecoder(nn.Module):
    """Prompt generator (paper 3.2, Eq. 8-9) and layer-by-layer upsampling decoder (3.3, Eq. 10-13).

    One learned mask token per output region (M_Q) joins SAM's sparse prompt embeddings as the queries of a
    SAM two-way transformer: self-attention among tokens, token-to-image cross-attention (Eq. 8), an MLP
    (M_T), image-to-token cross-attention giving the enhanced image tokens M''_Q (Eq. 9), and a final
    token-to-image attention giving the region tokens O_Q. Each scale transposes M''_Q up (Eq. 10, followed
    by a GELU as SAM's upscaling head ends; no LayerNorm, which costs more than the convolution at these
    sizes on CPU); a per-region MLP G maps O_Q to channel gains that
    modulate it and sum over channels to one logit map per region (Eq. 11, SAM's hypernetwork product); the
    scales are resized to the finest and summed (Eq. 12-13).
    """

    def __init__(self, config: SamDmifConfig, num_regions: int) -> None:
        super().__init__()
        dim, channels = config.prompt_dim, config.decoder_channels
        self.num_regions = num_regions
        self.factors = list(config.upsample_factors)
        self.mask_tokens = nn.Embedding(num_regions, dim)  # M_Q
        self.transformer = TwoWayTransformer(config.decoder_depth, dim, config.decoder_heads, config.decoder_mlp_dim)
        self.upsamplers = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(dim, channels, f, stride=f), nn.GELU()) for f in self.factors
        )
        self.modulators = nn.ModuleList(MLP(dim, dim, channels * len(self.factors), 3) for _ in range(num_regions))

    def forward(
        self, image: torch.Tensor, image_pe: torch.Tensor, sparse: torch.Tensor, dense: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Region logits and token attention.

        Args:
            image: fused image embedding (B, C, h, w).
            image_pe: SAM's dense positional encoding (1, C, h, w).
            sparse: point / box embeddings (B, P, C), P may be 0.
            dense: mask-prompt embedding (B, C, h, w).

        Returns:
            logits (B, K, h * max(factor), w * max(factor)) and the attention of each region token over the
            image tokens in the final token-to-image layer (B, K, h, w), each map summing to one.
        """
        b, c, h, w = image.shape
        k = self.num_regions
        tokens = torch.cat([self.mask_tokens.weight.expand(b, -1, -1), sparse], dim=1)  # (B, K + P, C)
        keys = (image + dense).flatten(2).transpose(1, 2)  # (B, h*w, C)
        key_pe = image_pe.flatten(2).transpose(1, 2).expand(b, -1, -1)  # (B, h*w, C)
        # TwoWayTransformer.forward, written out to read the final attention's weights.
        t = self.transformer
        queries = tokens
        for layer in t.layers:
            queries, keys = layer(queries=queries, keys=keys, query_pe=tokens, key_pe=key_pe)
        q, k_in = queries + tokens, keys + key_pe
        attention = cross_attention_weights(t.final_attn_token_to_image, q[:, :k], k_in)  # (B, K, h*w)
        queries = t.norm_final_attn(queries + t.final_attn_token_to_image(q=q, k=k_in, v=keys))  # (B, K + P, C)

        enhanced = keys.transpose(1, 2).reshape(b, c, h, w)  # M''_Q: (B, C, h, w)
        region_tokens = queries[:, :k]  # O_Q: (B, K, C)
        gains = torch.stack([g(region_tokens[:, i]) for i, g in enumerate(self.modulators)], dim=1)  # (B, K, S*c)
        gains = gains.view(b, k, len(self.factors), -1)  # (B, K, S, c)
        finest = (h * max(self.factors), w * max(self.factors))
        logits = 0
        for s, upsample in enumerate(self.upsamplers):
            scale = upsample(enhanced)  # D_s, Eq. 10: (B, c, f_s h, f_s w)
            modulated = torch.einsum("bkc,bchw->bkhw", gains[:, :, s], scale)  # G(O_Q) . D_s, Eq. 11: (B, K, ...)
            logits = logits + upsample_to(modulated, finest)  # Eq. 12-13
        return logits, attention.view(b, k, h, w)  # (B, K, H', W'), (B, K, h, w)


@dataclass
class ImageEmbedding:
    """What :meth:`SamDmif.encode` caches for repeated prompting of one batch of slices.

    Attributes:
        embedding: fused, neck-projected tokens (B, prompt_dim, h, w), h = H / patch_size.
        modality_weights: DMIF weights of the last block (B, M, h, w), summing to one over M.
        input_size: (H, W) of the slices, pixels.
    """

    embedding: torch.Tensor
    modality_weights: torch.Tensor
    input_size: tuple[int, int]


class SamDmif(SegmentationModel):
    """SAM ViT encoder with DMIF fusion, automatic mask tokens and a layer-by-layer upsampling decoder.

    Args:
        config: a :class:`SamDmifConfig`.

    Input slices are (B, 4, H, W) float32, channels in ``config.data.sequences`` order, H and W divisible by
    ``patch_size``. Output logits are WT / TC / ET, (B, 3, H, W). Attention maps, (B, 1, H, W) in [0, 1]:
    ``WT``, ``TC``, ``ET`` (each region token's attention over the image, divided by its maximum),
    ``semantic`` (their mean) and ``modality_<sequence>`` (the last DMIF weight of that sequence).
    """

    config: SamDmifConfig

    def __init__(self, config: SamDmifConfig) -> None:
        super().__init__(config)
        self.sequences = list(config.data.sequences)
        grid = config.image_size // config.patch_size
        self.image_encoder = ImageEncoderViT(
            img_size=config.image_size,
            patch_size=config.patch_size,
            embed_dim=config.embed_dim,
            depth=config.depth,
            num_heads=config.num_heads,
            mlp_ratio=config.mlp_ratio,
            out_chans=config.prompt_dim,
            qkv_bias=True,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),  # SAM's epsilon, which its weights were trained with
            use_rel_pos=config.use_rel_pos,
            window_size=config.window_size,
            global_attn_indexes=tuple(config.global_attn_indexes),
        )
        self.dmif = nn.ModuleList(
            DynamicModalInteractiveFusion(config.embed_dim, len(self.sequences), config.dmif_weight_hidden)
            for _ in range(config.depth)
        )
        # Blocks 0 .. depth-2 feed fused tokens back into every stream; the last block's go to the neck.
        self.feedback_scale = nn.Parameter(torch.full((config.depth - 1, config.embed_dim), config.feedback_init))
        self.prompt_encoder = PromptEncoder(
            embed_dim=config.prompt_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(config.image_size, config.image_size),
            mask_in_chans=16,  # SAM's value
        )
        self.decoder = LayerwiseUpsamplingDecoder(config, len(config.data.outputs))

    def check_images(self, images: torch.Tensor) -> None:
        p = self.config.patch_size
        if images.dim() != 4 or images.shape[1] != len(self.sequences) or images.shape[2] % p or images.shape[3] % p:
            raise ValueError(
                f"sam-dmif expects slices (B, {len(self.sequences)}, H, W) with H, W divisible by {p}, "
                f"got {tuple(images.shape)}"
            )

    def encode(self, images: torch.Tensor) -> ImageEmbedding:
        """Run the four sequence streams through the shared ViT with DMIF after every block (the costly part)."""
        self.check_images(images)
        encoder = self.image_encoder
        b, m, height, width = images.shape
        # Grey replicated to RGB through SAM's patch embedding equals one grey channel through the kernel
        # summed over RGB: same result, a third of the work, SAM's weights unchanged.
        proj = encoder.patch_embed.proj
        x = images.reshape(b * m, 1, height, width)  # (B*M, 1, H, W)
        x = F.conv2d(x, proj.weight.sum(dim=1, keepdim=True), proj.bias, stride=proj.stride)  # (B*M, D, h, w)
        x = x.permute(0, 2, 3, 1)  # (B*M, h, w, D)
        h, w, d = x.shape[1:]
        x = x + upsample_to(encoder.pos_embed.permute(0, 3, 1, 2), (h, w)).permute(0, 2, 3, 1)  # (B*M, h, w, D)
        for i, block in enumerate(encoder.blocks):
            x = block(x)  # (B*M, h, w, D)
            fused, weights = self.dmif[i](x.view(b, m, h, w, d))  # (B, h, w, D), (B, M, h, w)
            if i < len(encoder.blocks) - 1:
                x = x.view(b, m, h, w, d) + self.feedback_scale[i] * fused.unsqueeze(1)  # (B, M, h, w, D)
                x = x.view(b * m, h, w, d)
        embedding = encoder.neck(fused.permute(0, 3, 1, 2))  # (B, C, h, w)
        return ImageEmbedding(embedding, weights, (height, width))

    def embed_prompts(
        self,
        encoded: ImageEmbedding,
        points: tuple[torch.Tensor, torch.Tensor] | None,
        boxes: torch.Tensor | None,
        mask_logits: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM prompt embeddings in this input's frame: sparse (B, P, C) and dense (B, C, h, w)."""
        b, c, h, w = encoded.embedding.shape
        height, width = encoded.input_size
        sparse = encoded.embedding.new_zeros(b, 0, c)
        dense = self.prompt_encoder.no_mask_embed.weight.view(1, c, 1, 1).expand(b, c, h, w)
        if points is None and boxes is None and mask_logits is None:
            return sparse, dense
        # The prompt encoder normalizes coordinates by image_size; map input pixels onto that frame.
        frame = encoded.embedding.new_tensor([self.config.image_size / width, self.config.image_size / height])
        if points is not None:
            coords, labels = points
            if coords.shape[:1] != (b,) or coords.shape[-1] != 2 or labels.shape != coords.shape[:2]:
                raise ValueError(
                    f"points must be coords (B={b}, P, 2) and labels (B, P), got "
                    f"{tuple(coords.shape)} and {tuple(labels.shape)}"
                )
            points = ((coords + 0.5) * frame - 0.5, labels)  # SAM adds the half pixel back
        if boxes is not None:
            if tuple(boxes.shape) != (b, 4):
                raise ValueError(f"boxes must be (B={b}, 4) as x0, y0, x1, y1, got {tuple(boxes.shape)}")
            boxes = (boxes.view(b, 2, 2) + 0.5) * frame - 0.5  # (B, 2, 2)
        masks = None
        if mask_logits is not None:
            if tuple(mask_logits.shape) != (b, 1, height, width):
                raise ValueError(f"mask_logits must be (B={b}, 1, {height}, {width}), got {tuple(mask_logits.shape)}")
            masks = upsample_to(mask_logits, (4 * h, 4 * w))  # SAM's mask input is 4x the token grid
        sparse, mask_dense = self.prompt_encoder(points=points, boxes=boxes, masks=masks)  # (B, P, C), (B, C, ...)
        return sparse, mask_dense if masks is not None else dense

    def decode(
        self,
        encoded: ImageEmbedding,
        points: tuple[torch.Tensor, torch.Tensor] | None = None,
        boxes: torch.Tensor | None = None,
        mask_logits: torch.Tensor | None = None,
    ) -> ModelOutput:
        """Masks for a cached :class:`ImageEmbedding`, optionally refined by SAM prompts (see :meth:`forward`)."""
        sparse, dense = self.embed_prompts(encoded, points, boxes, mask_logits)
        h, w = encoded.embedding.shape[2:]
        image_pe = self.prompt_encoder.pe_layer((h, w)).unsqueeze(0)  # (1, C, h, w)
        logits, token_attention = self.decoder(encoded.embedding, image_pe, sparse, dense)  # (B, K, ...)
        region_maps = token_attention / token_attention.amax(dim=(2, 3), keepdim=True)  # (B, K, h, w), max 1
        maps = torch.cat([region_maps, region_maps.mean(dim=1, keepdim=True), encoded.modality_weights], dim=1)
        maps = upsample_to(maps, encoded.input_size).clamp(0, 1)  # (B, K + 1 + M, H, W); bilinear keeps [0, 1]
        names = [*self.config.data.outputs, "semantic", *(f"modality_{s}" for s in self.sequences)]
        attention = {name: maps[:, i : i + 1] for i, name in enumerate(names)}
        return ModelOutput(logits=upsample_to(logits, encoded.input_size), attention=attention)

    def forward(
        self,
        images: torch.Tensor,
        prompts: list[str] | None = None,
        points: tuple[torch.Tensor, torch.Tensor] | None = None,
        boxes: torch.Tensor | None = None,
        mask_logits: torch.Tensor | None = None,
    ) -> ModelOutput:
        """Segment slices automatically, optionally refined by SAM prompts.

        Args:
            images: (B, 4, H, W) float32, H and W divisible by ``patch_size``.
            prompts: ignored (the model has no text input; it always answers WT, TC and ET).
            points: coords (B, P, 2) float, pixels of the input slice as (x, y) = (index along W, index along
                H) like SAM, and labels (B, P): 1 foreground, 0 background, -1 padding.
            boxes: (B, 4) float, x0, y0, x1, y1 in the same pixel frame.
            mask_logits: (B, 1, H, W) logits of a previous prediction to refine (SAM's mask prompt).

        Returns:
            :class:`ModelOutput` with logits (B, 3, H, W) and the attention maps listed on the class.
        """
        if prompts is not None and len(prompts) != images.shape[0]:
            raise ValueError(f"sam-dmif got {len(prompts)} prompts for a batch of {images.shape[0]} slices")
        return self.decode(self.encode(images), points, boxes, mask_logits)


register(
    Variant(
        name="sam-dmif",
        description="2D SAM ViT shared by the four sequences, dynamic modal fusion, automatic mask tokens, "
        "layer-by-layer upsampling decoder; accepts SAM points and boxes",
        paper="003_040c58516ac7d322.txt",
        citation="Wang, H., Wu, Y., et al.: BrainSegDMIF: A Dynamic Fusion-enhanced SAM for Brain Lesion "
        "Segmentation (2025)",
        config_class=SamDmifConfig,
        build=SamDmif,
        # Paper 003 (SAM fine-tuning): Dice + BCE on the automatic masks.
        recipe=VariantRecipe("dice-bce", slices_per_patch=8, batch_dice=True),
    )
)
