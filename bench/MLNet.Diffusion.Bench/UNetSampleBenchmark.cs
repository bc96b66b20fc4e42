using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// (d) One sampling step of <see cref="UNet2D"/> as SamplingLoop takes it: the network's prediction without
/// autograd, then one DDIM update (50-step trailing schedule, ε prediction, x̂₀ clipped), on a fixed batch. The probe
/// also checks a forward pass of the batch at random timesteps and short DDIM and DPM-Solver++ runs from the same
/// initial noise. Mirrors <c>UNetSampleBenchmark</c> in torch_bench.py.
/// </summary>
internal sealed class UNetSampleBenchmark : UNetWorkload
{
    /// <summary>Steps of the sampler schedule the timed step is taken from (DDIM, trailing spacing).</summary>
    public const int ScheduleSteps = 50;

    /// <summary>Images and steps of the short sampler runs in the probe.</summary>
    public const int RunImages = 4;

    /// <summary>Steps of each short sampler run in the probe.</summary>
    public const int RunSteps = 5;

    /// <summary>
    /// The tolerance of one forward pass, relative to its largest output. Ours runs libtorch 2.10, PyTorch's side
    /// Debian's 1.13: convolutions and the attention (fused here, composed there) round differently in the last float32
    /// bits; the differences seen are near 10⁻⁶.
    /// </summary>
    public const double ForwardTolerance = 1e-4;

    /// <summary>
    /// The tolerance of the short sampler runs, relative to their largest value. Their first step, from t = 999, turns
    /// the prediction into x̂₀ = (x − √(1 − ᾱ)·ε̂)/√ᾱ with 1/√ᾱ ≈ 157 (linear schedule), which multiplies the forward
    /// pass's rounding differences by about as much; the differences seen are about 5·10⁻⁵.
    /// </summary>
    public const double SamplerTolerance = 1e-3;

    private const ulong NoiseSeed = 99;

    private readonly DdimSampler _sampler;
    private readonly Denoiser _denoiser;
    private readonly int _timestep;
    private readonly Tensor _x;
    private readonly Tensor _timesteps;
    private readonly Tensor _noise;

    public UNetSampleBenchmark(BenchOptions options)
        : base(options, "(d) UNet sampling step")
    {
        Model.eval();
        _sampler = new DdimSampler(Schedule);
        _sampler.SetTimesteps(ScheduleSteps);
        _timestep = _sampler.Timesteps[ScheduleSteps / 2];
        _denoiser = UNetDenoiser.Create(Model);
        _x = torch.randn(ImageShape(options.BatchSize)).DetachFromDisposeScope();
        _timesteps = torch.randint(0, Schedule.TrainTimesteps, [options.BatchSize], ScalarType.Int64).DetachFromDisposeScope();
        using var noise = SamplingNoise.PerSample(NoiseSeed, RunImages);
        _noise = noise.Initial(ImageShape(RunImages)).DetachFromDisposeScope();  // the x_T SamplingLoop starts from
    }

    public override string Command => "unet-sample";

    public override IReadOnlyList<string> ProbeLabels { get; } = ["mean |output|"];

    public override IEnumerable<KeyValuePair<string, Tensor>> CheckTensors() => Model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter))
        .Append(new("x", _x)).Append(new("timesteps", _timesteps)).Append(new("noise", _noise));

    public override double[] Probe()
    {
        Tensor forward;
        using (torch.no_grad())
        {
            forward = Model.Forward(_x, _timesteps).DetachFromDisposeScope();
        }

        AddProbeTensor(new("forward", "one forward pass at random timesteps", forward, null, "the largest output", ForwardTolerance));
        long[] shape = [.. _noise.shape];
        foreach (var (name, label, sampler) in new (string, string, IDiffusionSampler)[]
        {
            ("ddim", $"DDIM, {RunSteps} steps", new DdimSampler(Schedule)),
            ("dpm", $"DPM-Solver++(2M), {RunSteps} steps", new DpmSolverMultistepSampler(Schedule)),
        })
        {
            using var noise = SamplingNoise.PerSample(NoiseSeed, RunImages);
            var images = SamplingLoop.Run(sampler, _denoiser, shape, noise, RunSteps).DetachFromDisposeScope();
            AddProbeTensor(new(name, $"{label} from the same noise", images, null, "the largest value", SamplerTolerance));
        }

        using var scope = torch.NewDisposeScope();
        return [forward.abs().mean().ToDouble()];
    }

    public override double[] Run(int iterations) => Timing.Measure(iterations, Step);

    // As SamplingLoop runs a step (the same autograd mode, one dispose scope per step).
    private void Step()
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _sampler.Step(_denoiser(_x, _timestep), _timestep, _x);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _x.Dispose();
            _timesteps.Dispose();
            _noise.Dispose();
        }

        base.Dispose(disposing);
    }
}
