using MLNet.Diffusion.Models;
using MLNet.Diffusion.Schedulers;
using MLNet.Diffusion.Torch;

namespace MLNet.Diffusion.Bench;

/// <summary>
/// (d) One sampling step of <see cref="UNet2D"/> as SamplingLoop takes it: the network's prediction without
/// autograd, then one DDIM update (50-step trailing schedule, ε prediction, x̂₀ clipped), on a fixed batch. The probe
/// also checks a forward pass of the batch at random timesteps and short DDIM and DPM-Solver++ runs from the same
/// initial noise. Mirrors <c>UNetSampleBenchmark</c> in torch_bench.py.
/// </summary>
internal sealed class UNetSampleBenchmark : IBenchmark
{
    /// <summary>Steps of the sampler schedule the timed step is taken from (DDIM, trailing spacing).</summary>
    public const int ScheduleSteps = 50;

    /// <summary>Images and steps of the short sampler runs in the probe.</summary>
    public const int RunImages = 4;

    /// <summary>Steps of each short sampler run in the probe.</summary>
    public const int RunSteps = 5;

    private const ulong NoiseSeed = 99;

    private readonly UNet2D _model;
    private readonly NoiseSchedule _schedule = new(new NoiseScheduleOptions());
    private readonly DdimSampler _sampler;
    private readonly Denoiser _denoiser;
    private readonly int _timestep;
    private readonly Tensor _x;
    private readonly Tensor _timesteps;
    private readonly Tensor _noise;
    private readonly List<ProbeTensor> _probeTensors = [];

    public UNetSampleBenchmark(BenchOptions options)
    {
        var config = UNetWorkload.Config(options);
        _model = new UNet2D(config);
        UNetWorkload.Perturb(_model);
        _model.Eval();
        _sampler = new DdimSampler(_schedule);
        _sampler.SetTimesteps(ScheduleSteps);
        _timestep = _sampler.Timesteps[ScheduleSteps / 2];
        _denoiser = UNetDenoiser.Create(_model);
        long[] shape = [options.BatchSize, config.InChannels, config.ImageSize, config.ImageSize];
        _x = LibTorch.Randn(shape).DetachFromDisposeScope();
        _timesteps = LibTorch.RandInt(0, _schedule.TrainTimesteps, [options.BatchSize]).DetachFromDisposeScope();
        using var noise = SampleNoise.PerSample(NoiseSeed, RunImages);
        _noise = noise.Next([RunImages, config.InChannels, config.ImageSize, config.ImageSize]).DetachFromDisposeScope();
        Title = $"(d) UNet {options.Preset} sampling step, batch {options.BatchSize}";
        BatchSize = options.BatchSize;
    }

    public string Command => "unet-sample";

    public string Title { get; }

    public int BatchSize { get; }

    public long ParameterCount => _model.ParameterCount;

    public IReadOnlyList<string> ProbeLabels { get; } = ["mean |output|"];

    public IEnumerable<KeyValuePair<string, Tensor>> CheckTensors() => _model.NamedParameters()
        .Append(new("x", _x)).Append(new("timesteps", _timesteps)).Append(new("noise", _noise));

    public IReadOnlyList<ProbeTensor> ProbeTensors => _probeTensors;

    public double[] Probe()
    {
        Tensor forward;
        using (Autograd.NoGrad())
        {
            forward = _model.Forward(_x, _timesteps).DetachFromDisposeScope();
        }

        _probeTensors.Add(new("forward", "one forward pass at random timesteps", forward, null, "the largest output", 1e-4));
        long[] shape = [.. _noise.Shape];
        foreach (var (name, label, sampler) in new (string, string, IDiffusionSampler)[]
        {
            ("ddim", $"DDIM, {RunSteps} steps", new DdimSampler(_schedule)),
            ("dpm", $"DPM-Solver++(2M), {RunSteps} steps", new DpmSolverMultistepSampler(_schedule)),
        })
        {
            using var noise = SampleNoise.PerSample(NoiseSeed, RunImages);
            var images = SamplingLoop.Run(sampler, _denoiser, shape, noise, RunSteps).DetachFromDisposeScope();
            _probeTensors.Add(new(name, $"{label} from the same noise", images, null, "the largest value", 1e-4));
        }

        using var scope = LibTorch.NewDisposeScope();
        return [forward.Abs().Mean().ToDouble()];
    }

    public double[] Run(int iterations) => Timing.Measure(iterations, Step);

    // As SamplingLoop runs a step (the same autograd mode, one dispose scope per step).
    private void Step()
    {
        using var noGrad = Autograd.InferenceMode();
        using var scope = LibTorch.NewDisposeScope();
        _sampler.Step(_denoiser(_x, _timestep), _timestep, _x);
    }

    public void Dispose()
    {
        _model.Dispose();
        _x.Dispose();
        _timesteps.Dispose();
        _noise.Dispose();
        foreach (var probe in _probeTensors)
        {
            probe.Value.Dispose();
        }
    }
}
