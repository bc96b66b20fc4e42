using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Onnx;

/// <summary>
/// Runs a generator graph (<see cref="GeneratorGraph"/>) in this process with ONNX Runtime: seeds (and labels) in,
/// 0–255 pixels out; or an editing graph (<see cref="DiffusionModel.ToOnnx(ImageEditingOptions)"/>), which also takes images and masks. One session serves any number of threads at once (ONNX Runtime's <c>Run</c> is thread-safe).
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
        Task = _session.InputMetadata.ContainsKey("mask") ? OnnxGraphTask.Inpaint
            : _session.InputMetadata.ContainsKey("image") ? OnnxGraphTask.Edit : OnnxGraphTask.Generate;
        var output = _session.OutputMetadata["pixels"].Dimensions;
        (Channels, ImageSize) = (output[1], output[2]);
    }

    /// <summary>Image channels (1 or 3).</summary>
    public int Channels { get; }

    /// <summary>Image side in pixels.</summary>
    public int ImageSize { get; }

    /// <summary>What the graph does: generate from seeds (<see cref="Generate"/>), or edit or inpaint images (<see cref="Edit"/>).</summary>
    public OnnxGraphTask Task { get; }

    /// <summary>
    /// The pixels of one image per seed: [seeds.Count · C · S · S] whole numbers in [0, 255], image i at i·C·S·S,
    /// planar. <paramref name="labels"/>: one class per seed for a class-conditional graph (−1 unconditional), else null.
    /// </summary>
    /// <exception cref="InvalidOperationException">The graph edits images (<see cref="Task"/> is not Generate): call <see cref="Edit"/>.</exception>
    public float[] Generate(IReadOnlyList<long> seeds, IReadOnlyList<long>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        if (Task != OnnxGraphTask.Generate)
        {
            throw new InvalidOperationException($"This graph's task is {Task.ToString().ToLowerInvariant()}: it takes images; call Edit(seeds, images{(Task == OnnxGraphTask.Inpaint ? ", masks" : string.Empty)}).");
        }

        return Run(seeds, labels, null, null);
    }

    /// <summary>
    /// The pixels of one edited or inpainted image per seed, as <see cref="Generate"/>'s: <paramref name="images"/> holds
    /// [seeds.Count · C · S · S] values in the model's pixel encoding, planar, image i at i·C·S·S; <paramref name="masks"/>, for an
    /// inpainting graph, [seeds.Count · S · S] values (above 0.5 keeps the pixel in every channel, else it is generated).
    /// </summary>
    /// <exception cref="InvalidOperationException">The graph generates (<see cref="Task"/> is Generate): call <see cref="Generate"/>.</exception>
    /// <exception cref="ArgumentException">The images or masks are not of the seeds' count and the graph's shape, or a mask is given to an
    /// image-to-image graph, or none to an inpainting one.</exception>
    public float[] Edit(IReadOnlyList<long> seeds, float[] images, float[]? masks = null, IReadOnlyList<long>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(images);
        if (Task == OnnxGraphTask.Generate)
        {
            throw new InvalidOperationException("This graph generates from seeds and takes no images: call Generate(seeds), or export an editing graph (DiffusionModel.ToOnnx(ImageEditingOptions)).");
        }

        var plane = ImageSize * ImageSize;
        if (images.Length != seeds.Count * Channels * plane)
        {
            throw new ArgumentException($"{images.Length} image values were given for {seeds.Count} seeds; each image is {Channels} × {ImageSize} × {ImageSize} values.", nameof(images));
        }

        if ((masks is null) != (Task == OnnxGraphTask.Edit))
        {
            throw new ArgumentException(Task == OnnxGraphTask.Edit ? "This graph edits (image-to-image) and takes no masks." : "This graph inpaints: give one mask per image.", nameof(masks));
        }

        if (masks is not null && masks.Length != seeds.Count * plane)
        {
            throw new ArgumentException($"{masks.Length} mask values were given for {seeds.Count} seeds; each mask is 1 × {ImageSize} × {ImageSize} values.", nameof(masks));
        }

        return Run(seeds, labels, images, masks);
    }

    private float[] Run(IReadOnlyList<long> seeds, IReadOnlyList<long>? labels, float[]? images, float[]? masks)
    {
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

        if (images is not null)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("image", new DenseTensor<float>(images, [seeds.Count, Channels, ImageSize, ImageSize])));
        }

        if (masks is not null)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("mask", new DenseTensor<float>(masks, [seeds.Count, 1, ImageSize, ImageSize])));
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
    public Image[] GenerateImages(IReadOnlyList<long> seeds, IReadOnlyList<long>? labels = null) => ToImages(Generate(seeds, labels), seeds.Count);

    /// <summary><see cref="Edit"/>'s pixels as images, one per seed.</summary>
    /// <param name="seeds">The seeds, each ≥ 0.</param>
    /// <param name="images">The images in the model's pixel encoding, [seeds.Count · C · S · S], planar.</param>
    /// <param name="masks">An inpainting graph's masks, [seeds.Count · S · S] (above 0.5 keeps); null for image-to-image.</param>
    /// <param name="labels">One class per seed for a class-conditional graph (−1 unconditional), else null.</param>
    public Image[] EditImages(IReadOnlyList<long> seeds, float[] images, float[]? masks = null, IReadOnlyList<long>? labels = null) =>
        ToImages(Edit(seeds, images, masks, labels), seeds.Count);

    private Image[] ToImages(float[] pixels, int count)
    {
        var length = Channels * ImageSize * ImageSize;
        return [.. Enumerable.Range(0, count).Select(n => ImagePixels.ToImage(pixels.AsSpan(n * length, length), ImageSize, ImageSize, Channels, PixelEncoding.WholePixelToByte))];
    }
}

/// <summary>What an ONNX graph of a model does (<c>mlnet-diffusion export --task</c>).</summary>
public enum OnnxGraphTask
{
    /// <summary>Seeds (and labels) to new images: <see cref="DiffusionModel.ToOnnx(GenerationOptions?)"/>.</summary>
    Generate,

    /// <summary>Image-to-image (SDEdit) at a fixed strength: <see cref="DiffusionModel.ToOnnx(ImageEditingOptions)"/> without a mask column.</summary>
    Edit,

    /// <summary>Deterministic inpainting: <see cref="DiffusionModel.ToOnnx(ImageEditingOptions)"/> with a mask column.</summary>
    Inpaint,
}
