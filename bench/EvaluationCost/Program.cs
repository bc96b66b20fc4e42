// docs/evaluation.md's measurements of evaluation on any images (bench/evaluation.sh runs them):
//
//   EvaluationCost shapes <folder> <count> <size> <seed>   writes <count> PNGs of coloured discs, squares and triangles on
//                                                          a shaded background, <size> px: the RGB folder of the end-to-end run
//   EvaluationCost measure <json>                          ResNet-18's pinned values; two halves of Fashion-MNIST's test set
//                                                          against test-vs-noise through ResNet-18; the cost of each metric at
//                                                          N = 500, 1,000, 2,000; everything also written to <json>
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Evaluation;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.EvaluationCost;

internal static class Program
{
    private static int Main(string[] args)
    {
        switch (args)
        {
            case ["shapes", var folder, var count, var size, var seed]:
                Shapes.Write(folder, int.Parse(count, CultureInfo.InvariantCulture), int.Parse(size, CultureInfo.InvariantCulture), int.Parse(seed, CultureInfo.InvariantCulture));
                return 0;
            case ["measure", var json]:
                Measurements.Run(json);
                return 0;
            default:
                Console.Error.WriteLine("usage: EvaluationCost shapes <folder> <count> <size> <seed> | measure <json>");
                return 2;
        }
    }
}

/// <summary>Synthetic RGB images: one disc, square or triangle of a random colour, size and place on a shaded background.</summary>
internal static class Shapes
{
    public static void Write(string folder, int count, int size, int seed)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var image = new Image(size, size, 3);
            var kind = random.Next(3);
            var (cx, cy) = (size * (0.3 + (0.4 * random.NextDouble())), size * (0.3 + (0.4 * random.NextDouble())));
            var r = size * (0.15 + (0.15 * random.NextDouble()));
            var colour = Hue(random.NextDouble());
            var shade = 150 + random.Next(80);
            for (var y = 0; y < size; y++)
            {
                for (var x = 0; x < size; x++)
                {
                    var (dx, dy) = (x + 0.5 - cx, y + 0.5 - cy);
                    var inside = kind switch
                    {
                        0 => (dx * dx) + (dy * dy) <= r * r,
                        1 => Math.Abs(dx) <= r * 0.85 && Math.Abs(dy) <= r * 0.85,
                        _ => dy <= r * 0.8 && dy >= -r && Math.Abs(dx) <= (dy + r) * 0.6,
                    };
                    var background = (byte)(shade - (40 * y / size));
                    for (var c = 0; c < 3; c++)
                    {
                        image.Pixels[(((y * size) + x) * 3) + c] = inside ? colour[c] : background;
                    }
                }
            }

            ImageCodec.SavePng(image, Path.Combine(folder, $"{i:D5}.png"));
        }
    }

    // A saturated colour of hue h in [0, 1).
    private static byte[] Hue(double h)
    {
        var sector = h * 6;
        var f = sector - Math.Floor(sector);
        var (up, down) = ((byte)(255 * f), (byte)(255 * (1 - f)));
        return (int)sector switch
        {
            0 => [255, up, 0],
            1 => [down, 255, 0],
            2 => [0, 255, up],
            3 => [0, down, 255],
            4 => [up, 0, 255],
            _ => [255, 0, down],
        };
    }
}

internal static class Measurements
{
    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    public static void Run(string jsonPath)
    {
        var report = new Dictionary<string, object>
        {
            ["threads"] = torch.get_num_threads(),
            ["machine"] = $"{Environment.ProcessorCount} logical CPUs",
        };
        using var resNet = new ResNet18FeatureExtractor();

        // 1. ML.NET's DnnImageFeaturizerTest input: i / 150,528.
        var ramp = Enumerable.Range(0, ResNet18FeatureExtractor.InputLength).Select(i => i / (float)ResNet18FeatureExtractor.InputLength).ToArray();
        var output = resNet.Featurize([ramp]).Single();
        report["resnet18_check"] = new { out7 = output[7], out500 = output[500], sum = output.Sum(), pinned = "out[7] in [0.62935, 0.62940], out[500] in [0.15521, 0.155225], sum in [83.5, 84.5]" };
        Console.WriteLine(string.Create(s_c, $"ResNet-18 check: out[7] {output[7]:F6}, out[500] {output[500]:F6}, sum {output.Sum():F4}"));

        // 2. Real against real, real against noise, through ResNet-18: 2,048 test images (two halves of 1,024) and 1,024 noise images.
        using var scope = torch.NewDisposeScope();
        var (test, _) = FashionMnist.LoadTest(2048);
        var clock = Stopwatch.StartNew();
        var testFeatures = Features(resNet, test);
        var resNetSecondsPerImage = clock.Elapsed.TotalSeconds / 2048;
        torch.manual_seed(0);
        var noise = (torch.rand([1024, 1, 28, 28]) * 2) - 1;
        var noiseFeatures = Features(resNet, noise);
        var (first, second) = (testFeatures.narrow(0, 0, 1024), testFeatures.narrow(0, 1024, 1024));
        report["real_vs_real"] = Scores(first, second);
        report["real_vs_noise"] = Scores(first, noiseFeatures);
        Console.WriteLine($"two halves of the test set (1,024 each): {JsonSerializer.Serialize(report["real_vs_real"])}");
        Console.WriteLine($"test against uniform noise (1,024 each): {JsonSerializer.Serialize(report["real_vs_noise"])}");

        // 3. The cost of each metric at N = 500, 1,000, 2,000: features per image (measured above for ResNet-18), then the
        //    metrics on N-against-N feature sets, and memorization of N images against the 60,000 training images (28×28).
        using var fashionNetwork = FeatureNetwork.LoadPretrained();
        IImageFeatureExtractor fashion = fashionNetwork;
        clock.Restart();
        Features(fashion, test);
        var fashionSecondsPerImage = clock.Elapsed.TotalSeconds / 2048;
        var (train, _) = FashionMnist.LoadTrain();
        var rows = new List<object>();
        foreach (var n in new[] { 500, 1000, 2000 })
        {
            var (a, b) = (testFeatures.narrow(0, 0, n), torch.cat([testFeatures, noiseFeatures]).narrow(0, 2048 + 1024 - n, n));
            var kid = Time(() => KernelInceptionDistance.Compute(a, b));
            var fid = Time(() => FrechetDistance.Compute(FeatureStatistics.FromFeatures(a), FeatureStatistics.FromFeatures(b)));
            var pr = Time(() => PrecisionRecall.Compute(a, b));
            var memorization = Time(() => Memorization.Compute(test.narrow(0, 0, n), train));
            var row = new
            {
                n,
                resnet18_features_s = n * resNetSecondsPerImage,
                fashion_features_s = n * fashionSecondsPerImage,
                kid_s = kid,
                fid_s = fid,
                precision_recall_s = pr,
                memorization_vs_60000_s = memorization,
            };
            rows.Add(row);
            Console.WriteLine(string.Create(s_c,
                $"N {n}: ResNet-18 features {row.resnet18_features_s:F1} s, Fashion-MNIST features {row.fashion_features_s:F2} s, KID {kid:F2} s, FID {fid:F2} s, precision/recall {pr:F2} s, memorization against 60,000 {memorization:F1} s"));
        }

        report["cost"] = rows;
        report["resnet18_ms_per_image"] = resNetSecondsPerImage * 1000;
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(report, s_indented));
        Console.WriteLine($"wrote {jsonPath}");
    }

    private static object Scores(Tensor real, Tensor other)
    {
        var kid = KernelInceptionDistance.Compute(real, other);
        var pr = PrecisionRecall.Compute(real, other);
        return new
        {
            kid = kid.Mean,
            kid_std = kid.StandardDeviation,
            kid_subset = kid.SubsetSize,
            fid = FrechetDistance.Compute(FeatureStatistics.FromFeatures(real), FeatureStatistics.FromFeatures(other)),
            precision = pr.Precision,
            recall = pr.Recall,
        };
    }

    private static Tensor Features(IImageFeatureExtractor network, Tensor images)
    {
        var parts = new List<Tensor>();
        for (long start = 0; start < images.size(0); start += 64)
        {
            parts.Add(network.Extract(images.narrow(0, start, Math.Min(64, images.size(0) - start))));
        }

        return torch.cat(parts);
    }

    private static double Time<T>(Func<T> work)
    {
        var clock = Stopwatch.StartNew();
        _ = work();
        return clock.Elapsed.TotalSeconds;
    }
}
