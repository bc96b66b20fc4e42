using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>;

namespace MLNet.Diffusion.Bench;

/// <summary>A session of a generator graph with its own options, fed the same seeds every run.</summary>
internal sealed class OrtRun : IDisposable
{
    private readonly InferenceSession _session;
    private readonly NamedOnnxValue[] _inputs;

    public OrtRun(byte[] model, SessionOptions options, long[] seeds)
    {
        using (options)
        {
            _session = new InferenceSession(model, options);
        }

        _inputs = [NamedOnnxValue.CreateFromTensor("seed", new DenseTensor(seeds, [seeds.Length, 1]))];
    }

    // As OnnxGenerator.Generate: the pixels, copied out.
    public void Run() => _ = Run(["pixels"]);

    public float[][] Run(string[] outputs)
    {
        using var results = _session.Run(_inputs, outputs);
        return [.. results.Select(r => r.AsEnumerable<float>().ToArray())];
    }

    public string EndProfiling() => _session.EndProfiling();

    public void Dispose() => _session.Dispose();
}
