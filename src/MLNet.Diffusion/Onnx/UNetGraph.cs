using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Onnx;

/// <summary>
/// <see cref="UNet2D"/>'s forward pass as ONNX nodes (opset <see cref="OnnxGraph.Opset"/>), with the network's weights as
/// initializers named <c>unet.</c> + their state-dict name. Every layer is written with plain ops that ONNX Runtime's CPU
/// provider implements (Conv, Gemm, MatMul, Softmax, ReduceMean, Resize, element-wise arithmetic, reshapes), mirroring
/// the TorchSharp code line by line; the comments say which PyTorch layer each decomposition follows. Only the batch size
/// is left dynamic: every Reshape target uses 0 (copy the input's dimension) or −1 entries, or the input's own shape.
/// </summary>
internal static class UNetGraph
{
    /// <summary>The prefix of the network's initializer names.</summary>
    public const string Prefix = "unet.";

    /// <summary>
    /// The epsilon of every GroupNorm: <see cref="Layers.GroupNorm"/> keeps TorchSharp's <c>nn.GroupNorm</c> default,
    /// PyTorch's 1e-5 (the tests check the default has not changed).
    /// </summary>
    public const float GroupNormEpsilon = 1e-5f;

    /// <summary>
    /// Adds every entry of <paramref name="network"/>'s state dict (names such as <c>down.0.norm1.weight</c>) as a float32
    /// initializer of <paramref name="graph"/>'s root, named <see cref="Prefix"/> + the state-dict name, with the tensor's
    /// shape. The values are copied, from whatever device the network is on.
    /// </summary>
    /// <param name="graph">The graph (or any subgraph of it: initializers always go to the root).</param>
    /// <param name="network">The network whose weights <see cref="Emit"/>'s nodes read.</param>
    public static void AddWeights(OnnxGraph graph, UNet2D network)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(network);
        using var noGrad = torch.no_grad();
        foreach (var (name, tensor) in network.state_dict())
        {
            using var scope = torch.NewDisposeScope();
            var values = tensor.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
            graph.Initializer(Prefix + name, values, tensor.shape);
        }
    }

    /// <summary>
    /// Adds the nodes that compute <see cref="UNet2D.Forward"/> (in evaluation mode: dropout is the identity) to
    /// <paramref name="graph"/> and returns the name of their float [B, OutChannels, S, S] output. The weights are read
    /// by name from the initializers <see cref="AddWeights"/> adds to the root graph, so <paramref name="graph"/> may be a
    /// loop body (ONNX's outer-scope rule).
    /// </summary>
    /// <param name="graph">The graph or subgraph to add the nodes to.</param>
    /// <param name="config">The network's configuration (<see cref="UNet2D.Config"/>).</param>
    /// <param name="x">A float [B, InChannels, S, S] value: the images, S = <see cref="UNetConfig.ImageSize"/>.</param>
    /// <param name="timeEmbedding">
    /// A float [1 or B, BaseChannels] value: the sinusoidal timestep embedding (<see cref="UNet2D.TimestepEmbedding"/>'s
    /// output, the input of <c>time_in</c>), which the caller computes; one row is broadcast over the batch.
    /// </param>
    /// <param name="classes">
    /// Null for an unconditional model; for a class-conditional one an int64 [B] value of labels in [0, NumClasses]
    /// (NumClasses is the null label).
    /// </param>
    public static string Emit(OnnxGraph graph, UNetConfig config, string x, string timeEmbedding, string? classes)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(x);
        ArgumentException.ThrowIfNullOrEmpty(timeEmbedding);
        config = config.Validated();
        if ((classes is null) != (config.NumClasses is null))
        {
            throw new ArgumentException(config.NumClasses is null
                ? "The model is unconditional; it takes no class labels."
                : "The model is class-conditional; give its labels (NumClasses for the null label).", nameof(classes));
        }

        return new Emitter(graph, config).Forward(x, timeEmbedding, classes);
    }

    /// <summary>Writes the layers; each method mirrors the TorchSharp module of the same name.</summary>
    private sealed class Emitter(OnnxGraph graph, UNetConfig config)
    {
        /// <summary>UNet2D.Forward; the module indexes follow the order in which UNet2D's constructor fills its lists.</summary>
        public string Forward(string x, string timeEmbedding, string? classes)
        {
            var ch = config.BaseChannels;
            var levels = config.ChannelMultipliers.Count;
            var perLevel = config.ResBlocksPerLevel;

            // embedding = time_out(silu(time_in(sinusoidal))) [+ class_embedding(labels)]; the blocks take silu(embedding).
            var embedding = Linear("time_out", Silu(Linear("time_in", timeEmbedding)));
            if (classes is not null)
            {
                // nn.Embedding: a row lookup in the [NumClasses + 1, E] weight.
                embedding = graph.Node("Add", [embedding, graph.Node("Gather", [Weight("class_embedding.weight"), classes], ("axis", 0L))]);
            }

            var activated = Silu(embedding);

            var skips = new Stack<(string Value, int Channels)>();
            var h = Conv("conv_in", x, kernel: 3);
            var current = ch;
            skips.Push((h, current));
            var index = 0;
            for (var level = 0; level < levels; level++)
            {
                var outChannels = ch * config.ChannelMultipliers[level];
                var attend = config.AttentionResolutions.Contains(config.ImageSize >> level);
                for (var i = 0; i < perLevel; i++)
                {
                    h = ResidualBlock($"down.{index++}", h, activated, current, outChannels);
                    if (attend)
                    {
                        h = Attention($"down.{index++}", h, outChannels);
                    }

                    current = outChannels;
                    skips.Push((h, current));
                }

                if (level != levels - 1)
                {
                    h = Conv($"down.{index++}", h, kernel: 3, stride: 2);
                    skips.Push((h, current));
                }
            }

            h = ResidualBlock("mid_block1", h, activated, current, current);
            h = Attention("mid_attention", h, current);
            h = ResidualBlock("mid_block2", h, activated, current, current);

            index = 0;
            for (var level = levels - 1; level >= 0; level--)
            {
                var outChannels = ch * config.ChannelMultipliers[level];
                var attend = config.AttentionResolutions.Contains(config.ImageSize >> level);
                for (var i = 0; i <= perLevel; i++)
                {
                    var (skip, skipChannels) = skips.Pop();
                    h = graph.Node("Concat", [h, skip], ("axis", 1L));
                    h = ResidualBlock($"up.{index++}", h, activated, current + skipChannels, outChannels);
                    if (attend)
                    {
                        h = Attention($"up.{index++}", h, outChannels);
                    }

                    current = outChannels;
                }

                if (level != 0)
                {
                    h = Conv($"up.{index++}", UpsampleNearest(h), kernel: 3);
                }
            }

            return Conv("conv_out", Silu(GroupNorm("norm_out", h)), kernel: 3);
        }

        /// <summary>
        /// ResidualBlock.Forward: conv1(silu(norm1(x))) + time_proj(embedding)[..., None, None], then
        /// conv2(silu(norm2(·))) (dropout is the identity in evaluation), plus x or shortcut(x).
        /// </summary>
        private string ResidualBlock(string name, string x, string activated, int inChannels, int outChannels)
        {
            var h = Conv($"{name}.conv1", Silu(GroupNorm($"{name}.norm1", x)), kernel: 3);
            var projection = graph.Node("Unsqueeze", [Linear($"{name}.time_proj", activated), graph.Int64s(2, 3)]);
            h = graph.Node("Add", [h, projection]);
            h = Conv($"{name}.conv2", Silu(GroupNorm($"{name}.norm2", h)), kernel: 3);
            var skip = inChannels == outChannels ? x : Conv($"{name}.shortcut", x, kernel: 1);
            return graph.Node("Add", [skip, h]);
        }

        /// <summary>
        /// AttentionBlock.Forward: qkv = qkv(norm(x)) reshaped to [B, 3, heads, d, HW]; for each head
        /// softmax(q kᵀ/√d) v (scaled_dot_product_attention without mask or dropout), back to [B, C, H, W], proj, plus x.
        /// </summary>
        /// <remarks>
        /// q, k and v stay [B, heads, d, HW] (the reshape's layout), and the nodes compute the transposed product, so no
        /// HW×HW matrix is transposed: with scores S = q̂ k̂ᵀ/√d, where q̂ = qᵀ and k̂ = kᵀ are the [HW, d] matrices
        /// TorchSharp passes to scaled_dot_product_attention, Sᵀ = (kᵀ · q)/√d, softmax along S's last axis is softmax
        /// along Sᵀ's axis −2, and the attended values transposed back, (softmax(S) v̂)ᵀ = v · softmax(S)ᵀ, are
        /// [B, heads, d, HW]: what the TorchSharp code reshapes to [B, C, H, W].
        /// </remarks>
        private string Attention(string name, string x, int channels)
        {
            var heads = config.AttentionHeads;
            var depth = channels / heads;
            var qkv = Conv($"{name}.qkv", GroupNorm($"{name}.norm", x), kernel: 1);
            qkv = graph.Node("Reshape", [qkv, graph.Int64s(0, 3, heads, depth, -1)]);
            string Part(long i) => graph.Node("Gather", [qkv, graph.Int64Scalar(i)], ("axis", 1L));  // [B, heads, d, HW]
            var q = graph.Node("Mul", [Part(0), graph.Scalar((float)(1 / Math.Sqrt(depth)))]);
            var k = Part(1);
            var v = Part(2);
            var scoresT = graph.Node("MatMul", [graph.Node("Transpose", [k], ("perm", new long[] { 0, 1, 3, 2 })), q]);
            var weightsT = graph.Node("Softmax", [scoresT], ("axis", -2L));
            var attended = graph.Node("MatMul", [v, weightsT]);  // [B, heads, d, HW]
            attended = graph.Node("Reshape", [attended, graph.Node("Shape", [x])]);
            return graph.Node("Add", [x, Conv($"{name}.proj", attended, kernel: 1)]);
        }

        /// <summary>
        /// nn.GroupNorm (PyTorch's definition): split the channels into G groups, normalise each sample's group by its mean
        /// and biased variance (the mean of the squared deviation), then scale and shift each channel by weight and bias.
        /// Written out rather than with ONNX's GroupNormalization, which ONNX Runtime's CPU provider does not run usefully.
        /// </summary>
        private string GroupNorm(string name, string x)
        {
            var axes = graph.Int64s(2);
            var grouped = graph.Node("Reshape", [x, graph.Int64s(0, config.GroupNormGroups, -1)]);  // [B, G, C/G·H·W]
            var deviation = graph.Node("Sub", [grouped, graph.Node("ReduceMean", [grouped, axes])]);
            var variance = graph.Node("ReduceMean", [graph.Node("Mul", [deviation, deviation]), axes]);
            var normalised = graph.Node("Div", [deviation, graph.Node("Sqrt", [graph.Node("Add", [variance, graph.Scalar(GroupNormEpsilon)])])]);
            normalised = graph.Node("Reshape", [normalised, graph.Node("Shape", [x])]);
            var perChannel = graph.Int64s(-1, 1, 1);  // [C] → [C, 1, 1], broadcast over [B, C, H, W]
            var scaled = graph.Node("Mul", [normalised, graph.Node("Reshape", [Weight($"{name}.weight"), perChannel])]);
            return graph.Node("Add", [scaled, graph.Node("Reshape", [Weight($"{name}.bias"), perChannel])]);
        }

        /// <summary>nn.Conv2d with padding (kernel − 1)/2, i.e. 1 for 3×3 and 0 for 1×1, and the given stride.</summary>
        private string Conv(string name, string x, int kernel, int stride = 1)
        {
            long pad = (kernel - 1) / 2;
            return graph.Node("Conv", [x, Weight($"{name}.weight"), Weight($"{name}.bias")],
                ("kernel_shape", new long[] { kernel, kernel }),
                ("pads", new[] { pad, pad, pad, pad }),
                ("strides", new long[] { stride, stride }));
        }

        /// <summary>nn.Linear, x Wᵀ + b on a [N, in] value: Gemm with transB.</summary>
        private string Linear(string name, string x) =>
            graph.Node("Gemm", [x, Weight($"{name}.weight"), Weight($"{name}.bias")], ("transB", 1L));

        /// <summary>SiLU, x·σ(x).</summary>
        private string Silu(string x) => graph.Node("Mul", [x, graph.Node("Sigmoid", [x])]);

        /// <summary>
        /// interpolate(mode: Nearest) to twice the size: PyTorch's legacy nearest takes source index floor(i · in/out) =
        /// floor(i/2), which is Resize's "asymmetric" coordinates (x_in = x_out / scale) rounded by "floor". (Resize's
        /// defaults, half_pixel with round_prefer_floor, pick the same pixels for an exact ×2, but these say what is meant.)
        /// </summary>
        private string UpsampleNearest(string x) =>
            graph.Node("Resize", [x, string.Empty, graph.Constant([1, 1, 2, 2], 4)],
                ("mode", "nearest"),
                ("coordinate_transformation_mode", "asymmetric"),
                ("nearest_mode", "floor"));

        private static string Weight(string name) => Prefix + name;
    }
}
