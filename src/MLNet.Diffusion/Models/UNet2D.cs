using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace MLNet.Diffusion.Models;

/// <summary>
/// The DDPM U-Net (Ho et al. 2020, Appendix B; PixelCNN++-style residual blocks with self-attention), optionally
/// class-conditional as in ADM (a label embedding added to the timestep embedding). Input [B, C, H, W] images,
/// int64 timesteps [B] and, for a class-conditional model, int64 labels [B] in [0, NumClasses], where NumClasses
/// is the null label of classifier-free guidance. The output has the input's spatial size and OutChannels channels.
/// </summary>
public sealed class UNet2D : nn.Module
{
    private readonly Linear _timeIn;
    private readonly Linear _timeOut;
    private readonly Embedding? _classEmbedding;
    private readonly Conv2d _convIn;
    private readonly List<UNetLevel> _downLevels = [];
    private readonly ResidualBlock _middle1;
    private readonly AttentionBlock _middleAttention;
    private readonly ResidualBlock _middle2;
    private readonly List<UNetLevel> _upLevels = [];
    private readonly GroupNorm _normOut;
    private readonly Conv2d _convOut;

    /// <summary>Builds the network described by <paramref name="config"/> with PyTorch's default initialisation.</summary>
    public UNet2D(UNetConfig config)
        : base(nameof(UNet2D))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validated();
        // TorchSharp 0.107's Conv2d init leaves a view of each weight (tensor[0, 0] in CalculateFanInAndFanOut) to the
        // finalizer, which would keep the weights' memory after the model is disposed. Build in a scope that frees such
        // temporaries; the model keeps (and disposes) its parameters.
        using var construction = torch.NewDisposeScope();
        var ch = config.BaseChannels;
        var embedding = 4 * ch;
        var groups = config.GroupNormGroups;
        _timeIn = nn.Linear(ch, embedding);
        register_module("time_in", _timeIn);
        _timeOut = nn.Linear(embedding, embedding);
        register_module("time_out", _timeOut);
        if (config.NumClasses is { } classes)
        {
            _classEmbedding = nn.Embedding(classes + 1, embedding);
            register_module("class_embedding", _classEmbedding);
        }

        _convIn = nn.Conv2d(config.InChannels, ch, 3, padding: 1);
        register_module("conv_in", _convIn);
        var levels = config.ChannelMultipliers.Count;
        var skipChannels = new Stack<int>([ch]);
        var current = ch;
        var down = new ModuleList<nn.Module>();
        for (var level = 0; level < levels; level++)
        {
            var outChannels = ch * config.ChannelMultipliers[level];
            var attend = config.AttentionResolutions.Contains(config.ImageSize >> level);
            var blocks = new List<(ResidualBlock, AttentionBlock?)>();
            for (var i = 0; i < config.ResBlocksPerLevel; i++)
            {
                var block = new ResidualBlock(current, outChannels, embedding, config.Dropout, groups);
                down.Add(block);
                var attention = attend ? new AttentionBlock(outChannels, config.AttentionHeads, groups) : null;
                if (attention is not null)
                {
                    down.Add(attention);
                }

                blocks.Add((block, attention));
                current = outChannels;
                skipChannels.Push(current);
            }

            Conv2d? downsample = null;
            if (level != levels - 1)
            {
                downsample = nn.Conv2d(current, current, 3, stride: 2, padding: 1);
                down.Add(downsample);
                skipChannels.Push(current);
            }

            _downLevels.Add(new UNetLevel(blocks, downsample));
        }

        // After the list is filled: a ModuleList registers its items when it is registered, never later.
        register_module("down", down);
        _middle1 = new ResidualBlock(current, current, embedding, config.Dropout, groups);
        register_module("mid_block1", _middle1);
        _middleAttention = new AttentionBlock(current, config.AttentionHeads, groups);
        register_module("mid_attention", _middleAttention);
        _middle2 = new ResidualBlock(current, current, embedding, config.Dropout, groups);
        register_module("mid_block2", _middle2);

        var up = new ModuleList<nn.Module>();
        for (var level = levels - 1; level >= 0; level--)
        {
            var outChannels = ch * config.ChannelMultipliers[level];
            var attend = config.AttentionResolutions.Contains(config.ImageSize >> level);
            var blocks = new List<(ResidualBlock, AttentionBlock?)>();
            for (var i = 0; i <= config.ResBlocksPerLevel; i++)
            {
                var block = new ResidualBlock(current + skipChannels.Pop(), outChannels, embedding, config.Dropout, groups);
                up.Add(block);
                var attention = attend ? new AttentionBlock(outChannels, config.AttentionHeads, groups) : null;
                if (attention is not null)
                {
                    up.Add(attention);
                }

                blocks.Add((block, attention));
                current = outChannels;
            }

            Conv2d? upsample = null;
            if (level != 0)
            {
                upsample = nn.Conv2d(current, current, 3, padding: 1);
                up.Add(upsample);
            }

            _upLevels.Add(new UNetLevel(blocks, upsample));
        }

        register_module("up", up);
        _normOut = Layers.GroupNorm(groups, current);
        register_module("norm_out", _normOut);
        _convOut = Layers.ZeroInit(nn.Conv2d(current, config.OutChannels, 3, padding: 1));
        register_module("conv_out", _convOut);
        construction.Detach(parameters());
    }

    /// <summary>The configuration the network was built from.</summary>
    public UNetConfig Config { get; }

    /// <summary>
    /// Nothing more to register: the constructor registered every layer under its PyTorch name. TorchSharp's default
    /// would register the fields again under their C# names when this network is added to a parent module, and every
    /// weight would appear twice in the state dict.
    /// </summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>Whether the network takes class labels.</summary>
    public bool IsClassConditional => _classEmbedding is not null;

    /// <summary>The label that means "no class" (classifier-free guidance), or null for an unconditional model.</summary>
    public int? NullLabel => Config.NumClasses;

    /// <summary>
    /// The network's output for images <paramref name="x"/> at <paramref name="timesteps"/>. A class-conditional
    /// model without <paramref name="labels"/> uses the null label for every sample.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor timesteps, Tensor? labels = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(timesteps);
        CheckInput(x, timesteps, labels);
        using var scope = torch.NewDisposeScope();
        var time = _timeOut.forward(nn.functional.silu(_timeIn.forward(TimestepEmbedding(timesteps, Config.BaseChannels, x.device))));
        var activated = nn.functional.silu(WithClasses(time, labels, x));
        return scope.MoveToOuter(Body(x, block => block.Project(activated), batchInvariant: false));
    }

    /// <summary>
    /// The network's output for images <paramref name="x"/> [B, C, H, W], all at one <paramref name="timestep"/>, as a
    /// sampler asks for it. On the CPU each image's output is exactly the same float32 values whatever the batch it is
    /// in, its position there, the other images and their <paramref name="labels"/> (int64 [B], each in [0, NumClasses],
    /// NumClasses being the null label; none: the null label for every image) and the thread count. It is
    /// <see cref="Forward"/>'s function, rounded differently (the two agree within 1e-5): the timestep's embedding is computed
    /// once, for one row; linear layers (the residual blocks' projections of the embedding as one product) and
    /// convolutions are oneDNN convolutions and SiLU runs vectorised throughout
    /// (the internal <c>BatchInvariant</c> operations), so that no sum's order depends on the batch.
    /// </summary>
    /// <exception cref="ArgumentException">The images or labels do not fit the network.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timestep"/> is negative.</exception>
    public Tensor ForwardAt(Tensor x, int timestep, Tensor? labels = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegative(timestep);
        using var scope = torch.NewDisposeScope();
        CheckInput(x, timesteps: null, labels);
        var t = torch.full([1], timestep, ScalarType.Int64, x.device);
        var time = BatchInvariant.Linear(_timeOut, BatchInvariant.Silu(BatchInvariant.Linear(_timeIn, TimestepEmbedding(t, Config.BaseChannels, x.device))));
        // [1, E] for an unconditional model (broadcast over the batch where it is added), else [B, E].
        var activated = BatchInvariant.Silu(WithClasses(time, labels, x));
        // Every residual block's projection of it in one product on the blocks' stacked weights, then each block's columns.
        var blocks = _downLevels.SelectMany(l => l.Blocks).Select(b => b.Block).Append(_middle1).Append(_middle2)
            .Concat(_upLevels.SelectMany(l => l.Blocks).Select(b => b.Block)).ToList();
        var projections = BatchInvariant.Linear(
            torch.cat([.. blocks.Select(b => b.TimeProjection.weight)]),
            torch.cat([.. blocks.Select(b => b.TimeProjection.bias!)]),
            activated);
        var columns = new Dictionary<ResidualBlock, (long Start, long Length)>();
        var next = 0L;
        foreach (var block in blocks)
        {
            columns[block] = (next, block.TimeProjection.weight.size(0));
            next += columns[block].Length;
        }

        return scope.MoveToOuter(Body(x, block => projections.narrow(1, columns[block].Start, columns[block].Length), batchInvariant: true));
    }

    /// <summary>
    /// A class-conditional model's timestep embedding plus the class embedding of each image's label (ADM), the null
    /// label for all without <paramref name="labels"/>; an unconditional model's timestep embedding as it is.
    /// </summary>
    private Tensor WithClasses(Tensor time, Tensor? labels, Tensor x)
    {
        if (_classEmbedding is null)
        {
            return time.alias();
        }

        using var scope = torch.NewDisposeScope();
        var classes = labels?.to(x.device) ?? torch.full([x.size(0)], Config.NumClasses!.Value, ScalarType.Int64, x.device);
        return scope.MoveToOuter(time + _classEmbedding.forward(classes));
    }

    /// <summary>The U-Net proper, given each residual block's rows of the embedding projection.</summary>
    private Tensor Body(Tensor x, Func<ResidualBlock, Tensor> projection, bool batchInvariant)
    {
        using var scope = torch.NewDisposeScope();
        Tensor Conv(Conv2d conv, Tensor input) => BatchInvariant.Conv2d(conv, input, batchInvariant);
        Tensor Block(ResidualBlock block, Tensor input)
        {
            using var rows = projection(block);
            return block.Forward(input, rows, batchInvariant);
        }

        var skips = new Stack<Tensor>();
        var h = Conv(_convIn, x);
        skips.Push(h);
        foreach (var level in _downLevels)
        {
            foreach (var (block, attention) in level.Blocks)
            {
                h = Block(block, h);
                if (attention is not null) h = h.ThenDispose(t => attention.Forward(t, batchInvariant));
                skips.Push(h);
            }

            if (level.Resample is { } downsample)
            {
                h = Conv(downsample, h);
                skips.Push(h);
            }
        }

        h = Block(_middle1, h).ThenDispose(t => _middleAttention.Forward(t, batchInvariant)).ThenDispose(t => Block(_middle2, t));
        // On the way up each skip, and every intermediate, is freed as soon as it is consumed (see Eager).
        foreach (var level in _upLevels)
        {
            foreach (var (block, attention) in level.Blocks)
            {
                using (var skip = skips.Pop())
                {
                    h = h.ThenDispose(t => torch.cat([t, skip], 1)).ThenDispose(t => Block(block, t));
                }

                if (attention is not null) h = h.ThenDispose(t => attention.Forward(t, batchInvariant));
            }

            if (level.Resample is { } upsample)
            {
                h = h.ThenDispose(t => nn.functional.interpolate(t, size: [t.size(2) * 2, t.size(3) * 2], mode: InterpolationMode.Nearest)).ThenDispose(t => Conv(upsample, t));
            }
        }

        return scope.MoveToOuter(h.ThenDispose(_normOut.forward).ThenDispose(t => BatchInvariant.Silu(t, batchInvariant)).ThenDispose(t => Conv(_convOut, t)));
    }

    /// <summary>
    /// DDPM's sinusoidal embedding of timesteps: for i &lt; d/2, sin(t·10000^(−i/(d/2−1))) then the matching cosines.
    /// </summary>
    public static Tensor TimestepEmbedding(Tensor timesteps, int dimension, Device device)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        if (dimension < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The embedding needs at least 2 dimensions.");
        }

        using var scope = torch.NewDisposeScope();
        var half = dimension / 2;
        var frequencies = (torch.arange(half, ScalarType.Float32, device) * (-Math.Log(10000) / Math.Max(half - 1, 1))).exp();
        var arguments = timesteps.to(device).to(ScalarType.Float32).unsqueeze(1) * frequencies.unsqueeze(0);
        var embedding = torch.cat([arguments.sin(), arguments.cos()], 1);
        if (dimension % 2 == 1)
        {
            embedding = torch.cat([embedding, torch.zeros([embedding.size(0), 1], device: device)], 1);
        }

        return scope.MoveToOuter(embedding);
    }

    private void CheckInput(Tensor x, Tensor? timesteps, Tensor? labels)
    {
        var shape = x.shape;
        if (shape.Length != 4 || shape[1] != Config.InChannels || shape[2] != Config.ImageSize || shape[3] != Config.ImageSize)
        {
            throw new ArgumentException(
                $"The UNet takes [B, {Config.InChannels}, {Config.ImageSize}, {Config.ImageSize}] images, not [{string.Join(", ", shape)}].", nameof(x));
        }

        if (timesteps is not null && (timesteps.Dimensions != 1 || timesteps.size(0) != shape[0]))
        {
            throw new ArgumentException($"Give one timestep per image: [{shape[0]}], not [{string.Join(", ", timesteps.shape)}].", nameof(timesteps));
        }

        if (labels is not null)
        {
            if (!IsClassConditional)
            {
                throw new ArgumentException("This model is unconditional; it takes no labels.", nameof(labels));
            }

            if (labels.Dimensions != 1 || labels.size(0) != shape[0] || labels.dtype != ScalarType.Int64)
            {
                throw new ArgumentException($"Give one int64 label per image: [{shape[0]}], not a {labels.dtype.Name()} tensor [{string.Join(", ", labels.shape)}].", nameof(labels));
            }
        }
    }
}
