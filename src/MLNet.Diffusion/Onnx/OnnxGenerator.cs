using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Onnx;

/// <summary>
/// Runs a generator graph (<see cref="GeneratorGraph"/>) in this process with ONNX Runtime: seeds (and labels) in,
/// 0–255 pixels out. One session serves any number of threads at once (ONNX Runtime's <c>Run</c> is thread-safe).
/// </summary>
/// <remarks>
/// Threads: <c>intraOpThreads</c> defaults to TorchSharp's thread count (<c>torch.get_num_threads()</c>, the
/// machine's cores unless changed), and idle ONNX Runtime threads sleep instead of spinning
/// (<c>session.intra_op.allow_spinning = 0</c>), so a generator left loaded beside training does not burn the cores
/// training uses.
/// </remarks>
public sealed class OnnxGenerator : IDisposable
{
    private readonly InferenceSession _session;
    private readonly bool _conditional;

    /// <summary>The <c>metadata_props</c> key under which a generator graph records the sampler, steps and guidance it fixes (JSON).</summary>
    public const string SamplerMetadataKey = OnnxModelFile.SamplerKey;

    /// <summary>A session over the generator graph <paramref name="model"/> (ONNX bytes, what <see cref="DiffusionModel.ToOnnx(GenerationOptions?)"/> returns).</summary>
    /// <param name="model">The graph's bytes.</param>
    /// <param name="intraOpThreads">ONNX Runtime's threads; default TorchSharp's thread count.</param>
    public OnnxGenerator(byte[] model, int? intraOpThreads = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads ?? Math.Max(1, torch.get_num_threads()),
            InterOpNumThreads = 1,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(model, options);
        _conditional = _session.InputMetadata.ContainsKey("label");
        var output = _session.OutputMetadata["pixels"].Dimensions;
        (Channels, ImageSize) = (output[1], output[2]);
    }

    /// <summary>Image channels (1 or 3).</summary>
    public int Channels { get; }

    /// <summary>Image side in pixels.</summary>
    public int ImageSize { get; }

    /// <summary>
    /// The pixels of one image per seed: [seeds.Count · C · S · S] whole numbers in [0, 255], image i at i·C·S·S,
    /// planar. <paramref name="labels"/>: one class per seed for a class-conditional graph (−1 unconditional), else null.
    /// </summary>
    public float[] Generate(IReadOnlyList<long> seeds, IReadOnlyList<long>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        if (seeds.Count == 0)
        {
            return [];
        }

        if (seeds.Any(s => s < 0))
        {
            throw new ArgumentException($"Seeds must be ≥ 0; got {seeds.First(s => s < 0)}.", nameof(seeds));
        }

        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("seed", new DenseTensor<long>(seeds.ToArray(), [seeds.Count, 1])) };
        if (_conditional)
        {
            var given = labels ?? Enumerable.Repeat(-1L, seeds.Count).ToArray();
            if (given.Count != seeds.Count)
            {
                throw new ArgumentException($"{given.Count} labels were given for {seeds.Count} seeds.", nameof(labels));
            }

            inputs.Add(NamedOnnxValue.CreateFromTensor("label", new DenseTensor<long>(given.ToArray(), [seeds.Count, 1])));
        }
        else if (labels is not null)
        {
            throw new ArgumentException("This generator is unconditional; it takes no labels.", nameof(labels));
        }

        using var results = _session.Run(inputs, ["pixels"]);
        return [.. results[0].AsEnumerable<float>()];
    }

    /// <summary>Disposes the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();

    /// <summary>The generator graph stored in the model file at <paramref name="path"/> (format 2), in a session of its own.</summary>
    /// <param name="path">A model .zip written by <see cref="DiffusionModel.Save(string)"/> or <c>mlContext.Model.Save</c>.</param>
    /// <param name="intraOpThreads">ONNX Runtime's threads; default TorchSharp's thread count.</param>
    /// <exception cref="InvalidDataException">The file holds no generator graph; the message names the file.</exception>
    public static OnnxGenerator FromModelFile(string path, int? intraOpThreads = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        var graph = OnnxModelFile.Find(zip, path) ?? throw new InvalidDataException($"'{path}' is not a valid model: it holds no MLNet.Diffusion generator graph.");
        return new OnnxGenerator(Google.Protobuf.MessageExtensions.ToByteArray(graph), intraOpThreads);
    }

    /// <summary>
    /// <see cref="Generate"/>'s pixels as images, one per seed; a pixel that is not a number (sampling diverged) is an
    /// <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <param name="seeds">The seeds, each ≥ 0.</param>
    /// <param name="labels">One class per seed for a class-conditional graph (−1 unconditional), else null.</param>
    /// <exception cref="InvalidOperationException">The images hold NaN values.</exception>
    public Image[] GenerateImages(IReadOnlyList<long> seeds, IReadOnlyList<long>? labels = null)
    {
        var pixels = Generate(seeds, labels);
        var length = Channels * ImageSize * ImageSize;
        return [.. Enumerable.Range(0, seeds.Count).Select(n => ImagePixels.ToImage(pixels.AsSpan(n * length, length), ImageSize, ImageSize, Channels, PixelEncoding.WholePixelToByte))];
    }
}
