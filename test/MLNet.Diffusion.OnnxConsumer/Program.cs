// consumer <model.zip> <out.bin> <firstSeed> <count> [label ...]
//
// Loads a generator saved by mlContext.Model.Save in a process that has ML.NET, OnnxTransformer, ONNX Runtime and
// ImageAnalytics only, generates `count` images for seeds firstSeed, firstSeed + 1, ... (labels cycling through the
// given ones), writes every "Pixels" value as little-endian float32 to out.bin and prints one line of JSON: rows,
// pixelCount, libtorchMapped, assemblies (loaded ones named like Torch or MLNet.Diffusion, this program aside),
// imageWidth, imageHeight. Bad arguments or a model that does not load: exit 1 with one "error: ..." line on stderr.
using System.Buffers.Binary;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Diffusion.OnnxConsumer;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length < 4)
        {
            return Fail("usage: consumer <model.zip> <out.bin> <firstSeed> <count> [label ...]");
        }

        if (!long.TryParse(args[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var firstSeed))
        {
            return Fail($"firstSeed '{args[2]}' is not a whole number");
        }

        if (!int.TryParse(args[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) || count < 1)
        {
            return Fail($"count '{args[3]}' is not a positive whole number");
        }

        var labels = new int[args.Length - 4];
        for (var i = 0; i < labels.Length; i++)
        {
            if (!int.TryParse(args[4 + i], NumberStyles.Integer, CultureInfo.InvariantCulture, out labels[i]))
            {
                return Fail($"label '{args[4 + i]}' is not a whole number");
            }
        }

        var ml = new MLContext();
        ITransformer model;
        try
        {
            model = ml.Model.Load(args[0], out _);
        }
#pragma warning disable CA1031 // Any failure to load is the one-line error this program promises.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Fail($"cannot load {args[0]}: {e.GetType().Name}: {e.Message}");
        }

        try
        {
            return Generate(ml, model, args[1], firstSeed, count, labels);
        }
        finally
        {
            (model as IDisposable)?.Dispose();
        }
    }

    private static int Generate(MLContext ml, ITransformer model, string output, long firstSeed, int count, int[] labels)
    {
        IDataView seeds = labels.Length == 0
            ? ml.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new SeedRow { Seed = firstSeed + i }))
            : ml.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new LabelledSeedRow { Seed = firstSeed + i, Label = labels[i % labels.Length] }));
        var images = model.Transform(seeds);
        var pixelsColumn = images.Schema["Pixels"];
        var imageColumn = images.Schema["Image"];

        var rows = 0;
        long pixelCount = 0;
        int? width = null, height = null;
        using (var file = File.Create(output))
        using (var cursor = images.GetRowCursor([pixelsColumn, imageColumn]))
        {
            var pixelsGetter = cursor.GetGetter<VBuffer<float>>(pixelsColumn);
            var imageGetter = cursor.GetGetter<MLImage>(imageColumn);
            VBuffer<float> pixels = default;
            var bytes = new byte[4];
            while (cursor.MoveNext())
            {
                pixelsGetter(ref pixels);
                foreach (var value in pixels.DenseValues())
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
                    file.Write(bytes);
                    pixelCount++;
                }

                MLImage image = null!;
                imageGetter(ref image);
                using (image)
                {
                    if ((width ?? image.Width) != image.Width || (height ?? image.Height) != image.Height)
                    {
                        return Fail($"row {rows}: a {image.Width}x{image.Height} image after {width}x{height} ones");
                    }

                    width = image.Width;
                    height = image.Height;
                }

                rows++;
            }
        }

        var self = Assembly.GetEntryAssembly();
        var assemblies = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => a != self)
            .Select(a => a.GetName().Name ?? "")
            .Where(n => n.Contains("Torch", StringComparison.OrdinalIgnoreCase) || n.Contains("MLNet.Diffusion", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        var libtorchMapped = File.ReadLines("/proc/self/maps").Any(l => l.Contains("libtorch", StringComparison.OrdinalIgnoreCase));
        var report = new Report(rows, pixelCount, libtorchMapped, assemblies, width ?? 0, height ?? 0);
        Console.Out.WriteLine(JsonSerializer.Serialize(report, ReportJson.Options));
        return 0;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message.ReplaceLineEndings(" "));
        return 1;
    }
}

/// <summary>A seed row for an unconditional model.</summary>
internal sealed class SeedRow
{
    public long Seed { get; set; }
}

/// <summary>A seed row for a class-conditional model.</summary>
internal sealed class LabelledSeedRow
{
    public long Seed { get; set; }

    public int Label { get; set; }
}

internal sealed record Report(int Rows, long PixelCount, bool LibtorchMapped, string[] Assemblies, int ImageWidth, int ImageHeight);

internal static class ReportJson
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
