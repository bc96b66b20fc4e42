using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Models;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Bench;

/// <summary>What the two UNet workloads share: the model and its set-up, the schedule, the probe's tensors.</summary>
internal abstract class UNetWorkload : IBenchmark
{
    /// <summary>
    /// The standard deviation of the noise added to every weight before the check. The zero-initialised layers
    /// (each residual block's last conv, the attention projections, the output conv) would otherwise make the output
    /// exactly zero and every gradient but the output conv's exactly zero, and the check would test next to nothing.
    /// </summary>
    public const double WeightNoise = 0.05;

    private readonly List<ProbeTensor> _probeTensors = [];

    /// <summary>Builds the preset's model for the options' images and adds N(0, <see cref="WeightNoise"/>²) to every weight.</summary>
    protected UNetWorkload(BenchOptions options, string title)
    {
        Config = UNetConfig.Preset(options.Preset, options.ImageSize, options.Channels);
        Model = new UNet2D(Config);
        using (torch.no_grad())
        using (torch.NewDisposeScope())
        {
            foreach (var parameter in Model.parameters())
            {
                parameter.add_(torch.randn_like(parameter), WeightNoise);
            }
        }

        BatchSize = options.BatchSize;
        Title = $"{title}, {options.Preset}, batch {options.BatchSize}";
    }

    public abstract string Command { get; }

    public string Title { get; }

    public int BatchSize { get; }

    public long ParameterCount => Model.ParameterCount();

    public abstract IReadOnlyList<string> ProbeLabels { get; }

    public IReadOnlyList<ProbeTensor> ProbeTensors => _probeTensors;

    protected UNetConfig Config { get; }

    protected UNet2D Model { get; }

    protected NoiseSchedule Schedule { get; } = new(new NoiseScheduleOptions());

    /// <summary>The shape of a batch of <paramref name="count"/> images.</summary>
    protected long[] ImageShape(long count) => [count, Config.InChannels, Config.ImageSize, Config.ImageSize];

    /// <summary>Keeps <paramref name="probe"/> (and disposes its tensor with the workload).</summary>
    protected void AddProbeTensor(ProbeTensor probe) => _probeTensors.Add(probe);

    /// <summary>All <paramref name="tensors"/> flattened into one new vector.</summary>
    protected static Tensor Flat(IEnumerable<Tensor> tensors)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(torch.cat([.. tensors.Select(t => t.detach().flatten())]));
    }

    public abstract IEnumerable<KeyValuePair<string, Tensor>> CheckTensors();

    public abstract double[] Probe();

    public abstract double[] Run(int iterations);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the model, the probe's tensors and, in derived classes, their own tensors.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        Model.Dispose();
        foreach (var probe in _probeTensors)
        {
            probe.Value.Dispose();
            probe.Mask?.Dispose();
        }
    }
}
