using MLNet.Diffusion;
using System.Globalization;
using TorchSharp;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Images;

namespace FashionMnistExample;

/// <summary>The example's settings; each has a command-line flag of the same name in kebab case.</summary>
public sealed record Settings
{
    /// <summary>Optimiser steps.</summary>
    public long Steps { get; init; } = 2000;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>How many training images to load (null: all 60,000).</summary>
    public int? Limit { get; init; }

    /// <summary>The model preset.</summary>
    public string Preset { get; init; } = "small";

    /// <summary>Where checkpoints and grids go.</summary>
    public string Output { get; init; } = Path.Combine("out", "fashion-mnist");

    /// <summary>The run's seed.</summary>
    public ulong Seed { get; init; }

    /// <summary>The classifier-free guidance scale of the final grid.</summary>
    public double Guidance { get; init; } = 2;

    /// <summary>Images per class in the final grid.</summary>
    public int PerClass { get; init; } = 8;

    /// <summary>Where to save the trained model zip (null: not saved).</summary>
    public string? Model { get; init; }
}

/// <summary>Trains on Fashion-MNIST and writes one row of samples per class.</summary>
public static class Program
{
    /// <summary>Parses --steps, --batch-size, --limit, --preset, --output, --seed, --guidance, --per-class, --model and runs.</summary>
    public static int Main(string[] args)
    {
        var settings = new Settings();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            settings = args[i] switch
            {
                "--steps" => settings with { Steps = long.Parse(value, CultureInfo.InvariantCulture) },
                "--batch-size" => settings with { BatchSize = int.Parse(value, CultureInfo.InvariantCulture) },
                "--limit" => settings with { Limit = int.Parse(value, CultureInfo.InvariantCulture) },
                "--preset" => settings with { Preset = value },
                "--output" => settings with { Output = value },
                "--seed" => settings with { Seed = ulong.Parse(value, CultureInfo.InvariantCulture) },
                "--guidance" => settings with { Guidance = double.Parse(value, CultureInfo.InvariantCulture) },
                "--per-class" => settings with { PerClass = int.Parse(value, CultureInfo.InvariantCulture) },
                "--model" => settings with { Model = value },
                _ => throw new ArgumentException($"Unknown option {args[i]}."),
            };
        }

        var grid = Run(settings, Console.Out);
        Console.WriteLine($"wrote {grid}");
        return 0;
    }

    /// <summary>Trains with <paramref name="settings"/>, writes the per-class grid and returns its path.</summary>
    public static string Run(Settings settings, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        var (images, labels) = FashionMnist.LoadTrain(settings.Limit);
        using var data = new TensorTrainingData(images, labels, FashionMnist.ClassCount);
        images.Dispose();
        labels.Dispose();
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Fashion-MNIST: {data.Count} images, {data.NumClasses} classes; preset {settings.Preset}, {settings.Steps} steps of {settings.BatchSize}, {torch.get_num_threads()} threads"));

        var options = TrainingRecipes.Default(new DdpmTrainerOptions
        {
            ModelPreset = settings.Preset,
            ClassConditional = true,
            ClassNames = FashionMnist.ClassNames,                 // saved with the model: info lists them, --label takes them
            BatchSize = settings.BatchSize,
            MaxSteps = settings.Steps,
            Seed = settings.Seed,
            CheckpointDirectory = Path.Combine(settings.Output, "checkpoints"),
            CheckpointEvery = (int)Math.Max(1, settings.Steps / 4),
        });
        var every = Math.Max(1, settings.Steps / 20);
        var progress = new SynchronousProgress<TrainingProgress>(p =>
        {
            if (p.Message is { } message)
            {
                log.WriteLine(message);  // a warning before step 1, or an evaluation's line
            }
            else if (p.Step % every == 0 || p.Step == p.TotalSteps)
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {p.Step}/{p.TotalSteps}  loss {p.MeanLoss:F4} (mean of {p.LossWindow})  lr {p.LearningRate:E2}  {p.ImagesPerSecond:F0} images/s  {p.Remaining:hh\\:mm\\:ss} left"));
            }
        });
        using var result = new DdpmTrainer(options).Train(data, progress);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained {result.Steps} steps in {result.Elapsed:hh\\:mm\\:ss}: {result.ImagesPerSecond:F1} images/s; last checkpoint {result.LastCheckpoint}"));
        using var model = DiffusionModel.FromTraining(result);
        if (settings.Model is { } modelPath)
        {
            model.Save(modelPath);
            log.WriteLine($"saved {modelPath} ({model.ParameterCount:N0} parameters)");
        }

        // One row per class (labels 0,0,...,1,1,...) with guidance, from the moving-average weights.
        var count = FashionMnist.ClassCount * settings.PerClass;
        var rows = Enumerable.Range(0, count).Select(i => i / settings.PerClass).ToArray();
        using var samples = model.Generate(count, new GenerationOptions { Labels = rows, Guidance = settings.Guidance, Seed = settings.Seed });
        var path = Path.Combine(settings.Output, "samples.png");
        var grid = ImageGrid.FromTensor(samples, settings.PerClass);
        ImageCodec.SavePng(ImageGrid.Upscale(grid, ImageGrid.DefaultScale(28)), path);   // 2×: 28-px images are small to look at
        log.WriteLine("rows: " + string.Join(", ", FashionMnist.ClassNames));

        var report = Path.Combine(settings.Output, "report.html");
        TrainingReport.Write(report, result, new TrainingReportDetails
        {
            Title = "Fashion-MNIST training report",
            Dataset = string.Create(CultureInfo.InvariantCulture, $"Fashion-MNIST training set: {data.Count:N0} images, 1×28×28, {FashionMnist.ClassCount} classes"),
            ModelPath = settings.Model,
            FinalGrid = path,
            FinalGridCaption = string.Create(CultureInfo.InvariantCulture, $"final samples ({Path.GetFileName(path)}): one row per class, guidance {settings.Guidance}, DPM-Solver++ 20 steps"),
            FinalGridRows = FashionMnist.ClassNames,
            NextSteps = settings.Model is { } saved
                ?
                [
                    $"dotnet run --project src/MLNet.Diffusion.Cli -c Release -- generate --model {saved} --label Sneaker --guidance {settings.Guidance.ToString(CultureInfo.InvariantCulture)} --count 16 --out {Path.Combine(settings.Output, "generated")}   (the installed tool: mlnet-diffusion generate ...)",
                    $"dotnet run --project src/MLNet.Diffusion.Cli -c Release -- eval --model {saved} --count 10000",
                    $"dotnet run --project examples/FashionMnist -c Release -- --steps {settings.Steps * 10} --model {saved}   (more steps, better images)",
                ]
                : [$"dotnet run --project examples/FashionMnist -c Release -- --steps {settings.Steps} --model {Path.Combine(settings.Output, "model.zip")}   (the same run, saving its model)"],
        });
        log.WriteLine($"wrote {report}");
        return path;
    }
}
