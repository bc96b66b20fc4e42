using MLNet.Diffusion.Training;
using TorchSharp.Modules;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

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
        _optimizer = torch.optim.AdamW(Model.parameters(), lr: LearningRate, weight_decay: 0);
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
        var after = Flat(Model.parameters());
        using var update = after - before;
        using var largestUpdate = update.abs().max();
        AddProbeTensor(new("weights", "weights after one step", after, largestUpdate.ToDouble(), "the step's largest update", 1e-3));
        AddProbeTensor(new("ema", "EMA after one step", Flat(_ema.StateDict().Values), null, "the largest weight", 1e-4));
        return [loss];
    }

    public override double[] Run(int iterations) => Timing.Measure(iterations, () => Step());

    private double Step()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = LearningRate;
        _optimizer.zero_grad();
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
