using static TorchSharp.torch;

namespace MLNet.Diffusion.Bench;

/// <summary>One workload timed on our side; the PyTorch side runs the same workload under the same <see cref="Command"/>.</summary>
internal interface IBenchmark : IDisposable
{
    /// <summary>The command torch_bench.py knows this workload by.</summary>
    string Command { get; }

    /// <summary>A one-line description for the results table.</summary>
    string Title { get; }

    /// <summary>The number of trainable scalars, compared with the PyTorch model's.</summary>
    long ParameterCount { get; }

    /// <summary>The weights and inputs under PyTorch's state-dict names (plus <c>input</c>, <c>target</c>); the module's own tensors.</summary>
    IEnumerable<KeyValuePair<string, Tensor>> CheckTensors();

    /// <summary>What the numbers of <see cref="Probe"/> are, one label each.</summary>
    IReadOnlyList<string> ProbeLabels { get; }

    /// <summary>Images per step, for the images/s column.</summary>
    int BatchSize { get; }

    /// <summary>Tensors the last <see cref="Probe"/> computed, to compare element by element with PyTorch's.</summary>
    IReadOnlyList<ProbeTensor> ProbeTensors => [];

    /// <summary>Runs one step and returns numbers that the PyTorch side, given the same tensors, must reproduce.</summary>
    double[] Probe();

    /// <summary>Runs <paramref name="iterations"/> steps and returns each step's wall time in milliseconds.</summary>
    double[] Run(int iterations);
}
