using MLNet.Diffusion.Models;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

namespace MLNet.Diffusion.Bench;

/// <summary>The bench's UNet with perturbed weights (<see cref="UNetWorkload"/>), for the three engines.</summary>
internal sealed class OnnxSampleWorkload : UNetWorkload
{
    public OnnxSampleWorkload(BenchOptions options)
        : base(options, "DPM-Solver++ sampling")
    {
        Model.eval();
    }

    public UNet2D Network => Model;

    public NoiseSchedule NoiseSchedule => Schedule;

    public override string Command => OnnxSampleBenchmark.Command;

    public override IReadOnlyList<string> ProbeLabels => [];

    public override IEnumerable<KeyValuePair<string, Tensor>> CheckTensors() => [];

    public override double[] Probe() => [];

    public override double[] Run(int iterations) => [];
}
