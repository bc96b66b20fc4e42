using MLNet.Diffusion.Engine;
using System.Globalization;
using MLNet.Diffusion.Training;
using TorchSharp.Modules;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// (c) One training step of <see cref="UNet2D"/> exactly as DdpmTrainer takes it (Training/DdpmTrainer.cs, TrainStep
/// and the EMA update after it): timesteps and noise from the run's generator, the forward process, ε prediction,
/// the per-sample MSE, backward, the loss read back, the gradient clipped to norm 1, AdamW (lr 1e-3, no weight decay,
/// as <c>mlnet-diffusion train</c>), then the EMA (0.999 with warm-up). A fixed batch stands in for the data, so the
/// data loading is not timed on either side. Mirrors <c>UNetTrainBenchmark</c> in torch_bench.py.
/// </summary>
internal sealed class UNetTrainBenchmark : UNetWorkload
{
    /// <summary>The peak learning rate of <c>mlnet-diffusion train</c>.</summary>
    public const double LearningRate = 1e-3;

    /// <summary>The EMA decay of <c>mlnet-diffusion train</c>.</summary>
    public const double EmaDecay = 0.999;

    /// <summary>The seed of the step's generator (timesteps, noise) and of the default one (dropout) in the probe.</summary>
    public const ulong ProbeSeed = 1234;

    /// <summary>AdamW's ε, as <c>mlnet-diffusion train</c> (and torch.optim.AdamW) use it.</summary>
    public const double AdamEpsilon = 1e-8;

    /// <summary>
    /// The smallest |gradient| at which the weights after the step are held to their tolerance: 1000 ε. AdamW's first
    /// step moves each weight by lr·g/(|g| + ε), whose sensitivity to g is lr·ε/(|g| + ε)², up to lr/ε at g = 0: a
    /// gradient within rounding of zero, which two libtorch versions compute differently in the last bits, may move
    /// its weight anywhere in [−lr, lr]. At |g| ≥ 1000 ε a gradient difference δ moves the weight by at most
    /// lr·δ/(10⁶ ε): 10⁻⁵ lr for δ = 10⁻⁷, above the gradient differences seen (under 10⁻⁶ of the largest gradient
    /// element, which clipping keeps ≤ 1). What is left is the float32 rounding of the weights themselves: 6·10⁻⁸ for
    /// a weight near 1, 6·10⁻⁵ of lr. The gradient is compared over all elements.
    /// </summary>
    public const double WellConditionedGradient = 1000 * AdamEpsilon;

    private readonly DiffusionObjective _objective;
    private readonly AdamW _optimizer;
    private readonly ExponentialMovingAverage _ema;
    private readonly Generator _rng = new(ProbeSeed);
    private readonly Tensor _images;
    private long _steps;

    public UNetTrainBenchmark(BenchOptions options)
        : base(options, "(c) UNet train step")
    {
        Model.train();
        _objective = new DiffusionObjective(Schedule);
        _optimizer = torch.optim.AdamW(Model.parameters(), lr: LearningRate, beta1: 0.9, beta2: 0.999, eps: AdamEpsilon, weight_decay: 0);
        _ema = new ExponentialMovingAverage(Model, EmaDecay);
        using var scope = torch.NewDisposeScope();
        _images = scope.Detach((torch.rand(ImageShape(options.BatchSize)) * 2) - 1);
    }

    public override string Command => "unet-train";

    public override IReadOnlyList<string> ProbeLabels { get; } = ["loss"];

    public override IEnumerable<KeyValuePair<string, Tensor>> CheckTensors() => Model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)).Append(new("images", _images));

    public override double[] Probe()
    {
        // Same generators on both sides: the step's (timesteps, noise) and the default one (dropout masks).
        torch.random.manual_seed((long)ProbeSeed);
        _rng.manual_seed((long)ProbeSeed);
        using var before = Flat(Model.parameters());
        var loss = Step();

        // The step leaves the clipped gradient on the parameters (zero where a parameter took no part, as PyTorch's None).
        var gradient = Flat(Model.parameters().Select(p => p.grad ?? torch.zeros_like(p)));
        var after = Flat(Model.parameters());
        using var update = after - before;
        using var largestUpdate = update.abs().max();
        var step = largestUpdate.ToDouble();
        var wellConditioned = gradient.abs().ge(WellConditionedGradient).DetachFromDisposeScope();
        double share;
        using (torch.NewDisposeScope())
        {
            share = wellConditioned.to(ScalarType.Float64).mean().ToDouble();
        }

        var where = string.Create(CultureInfo.InvariantCulture, $"where |gradient| ≥ {WellConditionedGradient:G1} ({share:P2} of the weights)");
        AddProbeTensor(new("gradient", "gradient after clipping", gradient, null, "the largest gradient element", 1e-4));
        AddProbeTensor(new("weights", "weights after one step", after, step, "the step's largest update", 1e-3, wellConditioned, where));

        // The EMA moves 1 − decay (0.82 at the first warm-up step) of the way to the new weights: measured against the
        // same update, over the same elements (the average holds the parameters in the same order, and no buffers).
        var ema = Flat(_ema.StateDict().Values);
        AddProbeTensor(ema.numel() == after.numel()
            ? new("ema", "EMA after one step", ema, step, "the step's largest update", 1e-3, wellConditioned.clone().DetachFromDisposeScope(), where)
            : new("ema", "EMA after one step", ema, null, "the largest weight", 1e-4));
        return [loss];
    }

    public override double[] Run(int iterations) => Timing.Measure(iterations, () => Step());

    private double Step()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = LearningRate;
        Model.ZeroGrad();  // as DdpmTrainer does
        var batch = _images.size(0);
        var t = torch.randint(0, Schedule.TrainTimesteps, [batch], ScalarType.Int64, generator: _rng);
        var noise = torch.randn(_images.shape, generator: _rng);
        var (noisy, target) = _objective.Prepare(_images, noise, t);
        var loss = _objective.Loss(Model.Forward(noisy, t), target, t);
        loss.backward();
        var total = loss.ToDouble();
        torch.nn.utils.clip_grad_norm_(Model.parameters(), 1);
        _optimizer.step();
        _steps++;
        _ema.Decay = Math.Min(EmaDecay, (1.0 + _steps) / (10.0 + _steps));
        _ema.Update(Model);
        return total;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _optimizer.Dispose();
            _ema.Dispose();
            _rng.Dispose();
            _images.Dispose();
        }

        base.Dispose(disposing);
    }
}
