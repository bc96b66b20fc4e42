using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Evaluation;

/// <summary>
/// ImageNet's ResNet-18 as a feature network for <see cref="DiffusionEvaluator"/>: ML.NET's
/// <c>mlContext.Transforms.DnnFeaturizeImage</c> with <c>ModelSelector.ResNet18</c> (the Microsoft.ML.DnnImageFeaturizer.ResNet18
/// package's ONNX graphs), 512 features per image, the global-average-pooled output of the last residual stage (He et al.
/// 2016). Images of any size and of 1 or 3 channels are resized to 224×224 (bilinear) and given to the network as it expects
/// them: planar RGB in 0–255, which its preprocessing graph turns into BGR minus ImageNet's mean image.
/// </summary>
public sealed class ResNet18FeatureExtractor : IImageFeatureExtractor
{
    /// <summary>The side of the square images the network takes.</summary>
    public const int InputSize = 224;

    /// <summary>The length of each feature vector.</summary>
    public const int FeatureCount = 512;

    /// <summary>The values per image that the network takes: 3 × 224 × 224 planar RGB.</summary>
    internal const int InputLength = 3 * InputSize * InputSize;

    private const string PixelsColumn = "Pixels";
    private const string FeaturesColumn = "Features";

    private readonly MLContext _ml = new(seed: 0);
    private readonly TransformerChain<Microsoft.ML.Transforms.ColumnCopyingTransformer> _transformer;
    private readonly SchemaDefinition _schema;

    /// <summary>Loads ResNet-18 from <see cref="DefaultModelDirectory"/>, where this package's build files copy it.</summary>
    /// <exception cref="FileNotFoundException">The network's files are not there; the message says how to get them there.</exception>
    public ResNet18FeatureExtractor()
        : this(null)
    {
    }

    /// <summary>Loads ResNet-18 from <paramref name="modelDirectory"/> (<see cref="DefaultModelDirectory"/> when null).</summary>
    /// <param name="modelDirectory">
    /// The folder holding <c>ResNet18Onnx/ResNet18.onnx</c> and <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c>, as the
    /// Microsoft.ML.DnnImageFeaturizer.ResNet18 package lays them out in its <c>tools/DnnImageModels</c>.
    /// </param>
    /// <exception cref="FileNotFoundException">The network's files are not there; the message says how to get them there.</exception>
    public ResNet18FeatureExtractor(string? modelDirectory)
    {
        // Extract runs TorchSharp; an app whose first TorchSharp call is here still needs the Debian 12 fix first.
        MLNet.Diffusion.Engine.LibTorchSharpFix.Apply();
        ModelDirectory = modelDirectory ?? DefaultModelDirectory;
        var network = Path.Combine(ModelDirectory, "ResNet18Onnx", "ResNet18.onnx");
        foreach (var file in new[] { network, Path.Combine(ModelDirectory, "ResNetPrepOnnx", "ResNetPreprocess.onnx") })
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException(
                    $"ResNet-18's file '{file}' is missing. The MLNet.Diffusion.Evaluation package's build files copy the network into the " +
                    "output (DnnImageModels/) of the app that references the package: build the app (not only the library) with the package " +
                    "referenced, or pass the folder holding ResNet18Onnx/ and ResNetPrepOnnx/ (the ResNet18 package's tools/DnnImageModels).", file);
            }
        }

        using (var stream = File.OpenRead(network))
        {
            WeightsSha256 = Convert.ToHexStringLower(SHA256.HashData(stream));
        }

        _schema = SchemaDefinition.Create(typeof(Row));
        _schema[nameof(Row.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, InputLength);
        var empty = _ml.Data.LoadFromEnumerable(Array.Empty<Row>(), _schema);
        var directory = ModelDirectory;
        _transformer = _ml.Transforms.DnnFeaturizeImage(FeaturesColumn, m => m.ModelSelector.ResNet18(_ml, m.OutputColumn, m.InputColumn, directory), PixelsColumn)
            .Fit(empty);
    }

    /// <summary>Where an app's build puts the network: <c>DnnImageModels</c> beside the app's assemblies.</summary>
    public static string DefaultModelDirectory => Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    /// <summary>The folder the network was loaded from.</summary>
    public string ModelDirectory { get; }

    /// <inheritdoc/>
    public string Name => "ResNet-18 (ImageNet; ML.NET DnnImageFeaturizer), 512 features";

    /// <summary>The SHA-256 of <c>ResNet18.onnx</c>.</summary>
    public string WeightsSha256 { get; }

    /// <inheritdoc/>
    public int FeatureDimension => FeatureCount;

    /// <summary>
    /// The features [N, 512] of <paramref name="images"/> [N, C, H, W] (C 1 or 3, any H and W) in [−1, 1]: resized to 224×224
    /// (bilinear; antialiased when shrinking), mapped to 0–255, gray repeated to RGB.
    /// </summary>
    /// <exception cref="ArgumentException">The images are not [N, 1 or 3, H, W].</exception>
    public Tensor Extract(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Dimensions != 4 || images.size(1) is not (1 or 3))
        {
            throw new ArgumentException($"ResNet-18 features take images [N, C, H, W] with C 1 or 3, in [-1, 1], not [{string.Join(", ", images.shape)}].", nameof(images));
        }

        var count = (int)images.size(0);
        float[][] rows;
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            var x = images.to(ScalarType.Float32).cpu();
            if (x.size(2) != InputSize || x.size(3) != InputSize)
            {
                var shrinking = x.size(2) > InputSize || x.size(3) > InputSize;
                x = nn.functional.interpolate(x, [InputSize, InputSize], mode: InterpolationMode.Bilinear, align_corners: false, antialias: shrinking);
            }

            x = ((x + 1) * 127.5f).clamp(0, 255).expand(-1, 3, -1, -1).contiguous();
            var pixels = x.data<float>().ToArray();
            rows = [.. Enumerable.Range(0, count).Select(i => pixels.AsSpan(i * InputLength, InputLength).ToArray())];
        }

        return torch.tensor(Featurize(rows).SelectMany(f => f).ToArray(), [count, FeatureCount]);
    }

    /// <summary>The network's output for raw inputs of <see cref="InputLength"/> planar RGB values in 0–255 each.</summary>
    internal float[][] Featurize(IReadOnlyList<float[]> inputs)
    {
        var view = _transformer.Transform(_ml.Data.LoadFromEnumerable(inputs.Select(p => new Row { Pixels = p }), _schema));
        var column = view.Schema[FeaturesColumn];
        var result = new List<float[]>(inputs.Count);
        using var cursor = view.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            result.Add(buffer.DenseValues().ToArray());
        }

        return [.. result];
    }

    /// <summary>Releases the ONNX Runtime sessions.</summary>
    public void Dispose() => _transformer.Dispose();

    private sealed class Row
    {
        public float[] Pixels { get; set; } = [];
    }
}
