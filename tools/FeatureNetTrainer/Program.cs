using MLNet.Diffusion.Engine;
using MLNet.Diffusion.IO;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Metrics;

namespace FeatureNetTrainer;

/// <summary>The trainer's settings; each has a command-line flag of the same name in kebab case.</summary>
public sealed record Settings
{
    /// <summary>Passes over the training images.</summary>
    public int Epochs { get; init; } = 4;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>The peak learning rate (linear warm-up over the first 100 steps, then cosine decay to zero).</summary>
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>The seed of the initial weights and of the shuffling.</summary>
    public ulong Seed { get; init; }

    /// <summary>How many training images to use (null: all 60,000).</summary>
    public int? Limit { get; init; }

    /// <summary>How many test images to measure the accuracy on (null: all 10,000).</summary>
    public int? TestLimit { get; init; }

    /// <summary>Where to write the weights.</summary>
    public string Output { get; init; } = Path.Combine("src", "MLNet.Diffusion", "Metrics", "fid-feature-net.safetensors");
}

/// <summary>What a run produced.</summary>
/// <param name="Path">The weights file.</param>
/// <param name="Sha256">Its SHA-256 (lowercase hex), to record in <see cref="FeatureNetwork.PretrainedSha256"/>.</param>
/// <param name="TestAccuracy">The accuracy on the test images.</param>
public sealed record TrainingOutcome(string Path, string Sha256, double TestAccuracy);

/// <summary>
/// Trains <see cref="FeatureNetwork"/> on Fashion-MNIST train with AdamW and a fixed seed, reports its test accuracy
/// and writes its weights. On the CPU the same seed and thread count give the same weights, hence the same hash.
/// </summary>
public static class Program
{
    /// <summary>Parses --epochs, --batch-size, --learning-rate, --seed, --limit, --test-limit, --output and runs.</summary>
    public static int Main(string[] args)
    {
        var settings = new Settings();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            settings = args[i] switch
            {
                "--epochs" => settings with { Epochs = int.Parse(value, CultureInfo.InvariantCulture) },
                "--batch-size" => settings with { BatchSize = int.Parse(value, CultureInfo.InvariantCulture) },
                "--learning-rate" => settings with { LearningRate = double.Parse(value, CultureInfo.InvariantCulture) },
                "--seed" => settings with { Seed = ulong.Parse(value, CultureInfo.InvariantCulture) },
                "--limit" => settings with { Limit = int.Parse(value, CultureInfo.InvariantCulture) },
                "--test-limit" => settings with { TestLimit = int.Parse(value, CultureInfo.InvariantCulture) },
                "--output" => settings with { Output = value },
                _ => throw new ArgumentException($"Unknown option {args[i]}; accepted: --epochs, --batch-size, --learning-rate, --seed, --limit, --test-limit, --output."),
            };
        }

        Run(settings, Console.Out);
        return 0;
    }

    /// <summary>Trains with <paramref name="settings"/>, writes the weights and returns what it measured.</summary>
    public static TrainingOutcome Run(Settings settings, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.BatchSize, 1);
        torch.random.manual_seed(unchecked((long)settings.Seed));
        var (images, labels) = FashionMnist.LoadTrain(settings.Limit);
        using var data = new TensorTrainingData(images, labels, FashionMnist.ClassCount);
        images.Dispose();
        labels.Dispose();
        using var network = new FeatureNetwork();
        using var optimizer = torch.optim.AdamW(network.parameters(), lr: settings.LearningRate, weight_decay: 0.05);
        using var shuffle = new Generator(settings.Seed);
        // The learning-rate schedule of our diffusion trainer: linear warm-up over 100 steps, then cosine decay to zero.
        var schedule = new DdpmTrainer(new DdpmTrainerOptions
        {
            LearningRate = settings.LearningRate, WarmupSteps = 100, LearningRateSchedule = LearningRateSchedule.Cosine,
        });
        var stepsPerEpoch = (data.Count + settings.BatchSize - 1) / settings.BatchSize;
        var totalSteps = stepsPerEpoch * settings.Epochs;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FID feature network: {network.ParameterCount():N0} parameters; {data.Count} training images, {settings.Epochs} epochs of {stepsPerEpoch} steps of {settings.BatchSize}, {torch.get_num_threads()} threads"));
        var clock = Stopwatch.StartNew();
        long step = 0;
        for (var epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            using var order = torch.randperm(data.Count, generator: shuffle);
            var indices = order.data<long>().ToArray();
            double lossSum = 0;
            for (long start = 0; start < data.Count; start += settings.BatchSize)
            {
                using var scope = torch.NewDisposeScope();
                var batch = indices.AsSpan((int)start, (int)Math.Min(settings.BatchSize, data.Count - start)).ToArray();
                var (x, y) = data.GetBatch(batch);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = schedule.LearningRateAt(step, totalSteps);
                step++;
                var loss = nn.functional.cross_entropy(network.forward(x), y!);
                network.ZeroGrad();
                loss.backward();
                optimizer.step();
                lossSum += loss.ToDouble() * batch.Length;
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch}: loss {lossSum / data.Count:F4}, {clock.Elapsed.TotalSeconds:F0} s"));
        }

        network.eval();
        var (testImages, testLabels) = FashionMnist.LoadTest(settings.TestLimit);
        double accuracy;
        using (testImages)
        using (testLabels)
        {
            accuracy = network.Accuracy(testImages, testLabels);
        }

        var metadata = new Dictionary<string, string>
        {
            ["network"] = "MLNet.Diffusion FID feature network",
            ["test_accuracy"] = accuracy.ToString("F4", CultureInfo.InvariantCulture),
            ["training"] = string.Create(CultureInfo.InvariantCulture,
                $"Fashion-MNIST train ({data.Count} images), {settings.Epochs} epochs, batch {settings.BatchSize}, AdamW lr {settings.LearningRate}, seed {settings.Seed}"),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.Output))!);
        Safetensors.Save(settings.Output, network.state_dict(), metadata);  // written to a temporary file, then renamed
        var bytes = File.ReadAllBytes(settings.Output);
        var sha = FeatureNetwork.Sha256(bytes);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"test accuracy {accuracy:P2} on {settings.TestLimit ?? 10_000} images; trained in {clock.Elapsed.TotalSeconds:F0} s; wrote {settings.Output} ({bytes.Length:N0} bytes, SHA-256 {sha})"));
        return new TrainingOutcome(settings.Output, sha, accuracy);
    }
}
