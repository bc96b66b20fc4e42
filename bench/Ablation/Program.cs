// docs/quality.md's recipe ablation (bench/ablation.sh runs it):
//
//   Ablation list                      the rows: name, axis, what changes from the baseline
//   Ablation run <folder> <row>...     trains and scores each named row (all: every row of the demo budget) that has no
//                                      <folder>/<row>.json yet; prints the estimated total before starting
//
// Every row is the small preset on Fashion-MNIST, class-conditional, batch 64, seed 0, on the library's defaults with
// one thing changed. Scored by DiffusionEvaluator with the committed Fashion-MNIST feature network: N = 1,000 images
// (seeds 0…999, image i of class i mod 10), DPM-Solver++(2M) 20 steps, guidance 1; KID ± std against the test set and
// the classifier's accuracy for the class asked for.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Evaluation;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using TorchSharp;

namespace MLNet.Diffusion.Ablation;

internal static class Program
{
    private static int Main(string[] args)
    {
        switch (args)
        {
            case ["list"]:
                foreach (var row in Rows.All)
                {
                    Console.WriteLine($"{row.Name,-22} {row.Axis,-16} {row.Description}");
                }

                return 0;
            case ["run", var folder, .. var names] when names.Length > 0:
                var selected = names is ["all"] ? Rows.All.Where(r => r.Steps == Rows.DemoSteps).ToList() : names.Select(Rows.Find).ToList();
                Runner.Run(folder, selected);
                return 0;
            default:
                Console.Error.WriteLine("usage: Ablation list | run <folder> all|<row>...");
                return 2;
        }
    }
}

/// <summary>One configuration: the baseline's options with one change.</summary>
internal sealed record Row(string Name, string Axis, string Description, Func<DdpmTrainerOptions, DdpmTrainerOptions> Change, long Steps = Rows.DemoSteps);

internal static class Rows
{
    public const long DemoSteps = 200;

    public static readonly IReadOnlyList<Row> All =
    [
        new("baseline", "baseline", "the CLI's recipe: ε, linear β, uniform weighting, AdamW 1e-3, 100 warm-up steps, cosine decay, EMA 0.999 with warm-up, small preset (dropout 0.1)", o => o),
        new("v", "prediction", "v prediction", o => o with { PredictionType = PredictionType.VPrediction }),
        new("min-snr", "loss weighting", "min-SNR weighting, γ = 5", o => o with { LossWeighting = LossWeighting.MinSnr, MinSnrGamma = 5 }),
        new("cosine", "schedule", "cosine β schedule", o => o with { Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Cosine } }),
        new("dropout-0", "model", "no dropout (the small preset has 0.1)", o => o with { Model = SmallConfig() with { Dropout = 0 } }),
        new("lr-2e-3", "learning rate", "peak rate 2e-3", o => o with { LearningRate = 2e-3 }),
        new("warmup-20", "warm-up", "20 warm-up steps (10 % of the run)", o => o with { WarmupSteps = 20 }),
        new("ema-off", "EMA", "no moving average (decay 0: the last weights)", o => o with { EmaDecay = 0 }),
        new("sigmoid", "schedule", "sigmoid β schedule", o => o with { Schedule = new NoiseScheduleOptions { Kind = BetaScheduleKind.Sigmoid } }),
        new("lr-5e-4", "learning rate", "peak rate 5e-4", o => o with { LearningRate = 5e-4 }),
        new("ema-0.995", "EMA", "EMA 0.995 without warm-up", o => o with { EmaDecay = 0.995, EmaWarmup = false }),
        new("tiny-equal-time", "width", "tiny preset for as long as the baseline trains (steps from a timed probe of both)", o => o with { ModelPreset = "tiny" }),
        new("baseline-3000", "budget", "the baseline at 3,000 steps", o => o, 3000),
    ];

    public static Row Find(string name) =>
        All.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"No row '{name}'; rows: {string.Join(", ", All.Select(r => r.Name))}.");

    // The small preset at Fashion-MNIST's size, for rows that change one setting of it.
    public static UNetConfig SmallConfig() => UNetConfig.Preset("small", FashionMnist.ImageSize, 1, FashionMnist.ClassCount);

    // The options every row starts from: what `mlnet-diffusion train --data fashion-mnist --class-conditional --steps N --seed 0` runs.
    public static DdpmTrainerOptions Baseline(long steps) => TrainingRecipes.ShortRun(new DdpmTrainerOptions
    {
        ModelPreset = "small",
        ClassConditional = true,
        ClassNames = FashionMnist.ClassNames,
        BatchSize = 64,
        MaxSteps = steps,
        Seed = 0,
        SampleGridSize = 0,
    });
}

/// <summary>What one row measured, as written to its JSON file.</summary>
internal sealed record RowResult(
    string Name, string Axis, string Description, long Steps, int Threads, string Cpu, double TrainSeconds, double ImagesPerSecond,
    double FinalLoss, int Count, string Sampler, int SamplerSteps, double Guidance, double Kid, double KidStd, double RealDataKid,
    double MeanClassAccuracy, IReadOnlyList<double> ClassAccuracy, IReadOnlyList<int> ClassHistogram, double EvaluationSeconds,
    string Options, DateTime Finished);

internal static class Runner
{
    private const int Count = 1000;
    private const int SamplerSteps = 20;

    // Seconds per training step (small preset, batch 64, 2 cores) and per evaluation, for the estimate before any row
    // of this machine has finished; later estimates use the rows already in the folder.
    private const double DefaultStepSeconds = 1.42;
    private const double DefaultEvaluationSeconds = 150;

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public static void Run(string folder, IReadOnlyList<Row> rows)
    {
        Directory.CreateDirectory(folder);
        var todo = rows.Where(r => !File.Exists(JsonPath(folder, r))).ToList();
        var done = Directory.GetFiles(folder, "*.json").Select(f => JsonSerializer.Deserialize<RowResult>(File.ReadAllText(f))!).ToList();
        var stepSeconds = done.Count > 0 ? done.Average(d => d.TrainSeconds / d.Steps) : DefaultStepSeconds;
        var evaluationSeconds = done.Count > 0 ? done.Average(d => d.EvaluationSeconds) : DefaultEvaluationSeconds;
        var estimate = todo.Sum(r => (r.Steps * stepSeconds) + evaluationSeconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{todo.Count} of {rows.Count} rows to run ({string.Join(", ", todo.Select(r => r.Name))}); estimated {estimate / 60:F0} min " +
            $"({stepSeconds:F2} s per step, {evaluationSeconds:F0} s per evaluation{(done.Count > 0 ? $", from the {done.Count} rows in {folder}" : ", this machine's defaults")})"));
        var (images, labels) = FashionMnist.LoadTrain();
        using var data = new TensorTrainingData(images, labels, FashionMnist.ClassCount);
        images.Dispose();
        labels.Dispose();
        foreach (var row in todo)
        {
            var result = RunRow(row, data, folder);
            var path = JsonPath(folder, row);
            File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(result, s_json));
            File.Move(path + ".tmp", path, overwrite: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Name}: KID {result.Kid:F4} ± {result.KidStd:F4} (floor {result.RealDataKid:F4}), class accuracy {result.MeanClassAccuracy:P1}, loss {result.FinalLoss:F4}, {result.TrainSeconds:F0} s + {result.EvaluationSeconds:F0} s"));
        }
    }

    private static string JsonPath(string folder, Row row) => Path.Combine(folder, row.Name + ".json");

    private static RowResult RunRow(Row row, TensorTrainingData data, string folder)
    {
        var steps = row.Name == "tiny-equal-time" ? EqualTimeSteps(data, row) : row.Steps;
        var options = row.Change(Rows.Baseline(steps));
        Console.WriteLine($"{row.Name}: {row.Description}; {steps} steps");
        using var result = new DdpmTrainer(options).Train(data, new Progress(steps));
        using var model = DiffusionModel.FromTraining(result);
        model.Save(Path.Combine(folder, row.Name + ".zip"));
        var evaluation = DiffusionEvaluator.Evaluate(model, new EvaluationOptions
        {
            Count = Count,
            Generation = new GenerationOptions { Sampler = SamplerKind.DpmSolverPlusPlus, Steps = SamplerSteps, Guidance = 1 },
            ComputeMemorization = false,
        });
        return new RowResult(row.Name, row.Axis, row.Description, result.Steps, result.Threads, Cpu(), result.Elapsed.TotalSeconds,
            result.ImagesPerSecond, result.FinalLoss, Count, "dpm-solver++", SamplerSteps, 1, evaluation.Kid!.Mean, evaluation.Kid.StandardDeviation,
            evaluation.RealDataKid?.Mean ?? double.NaN, evaluation.MeanClassAccuracy ?? double.NaN, evaluation.ClassAccuracy ?? [],
            evaluation.ClassHistogram, evaluation.Elapsed.TotalSeconds, JsonSerializer.Serialize(options with { ClassNames = null }), DateTime.UtcNow);
    }

    // Steps of the row's model that take as long as the baseline's steps: both timed over 10 steps after 3 unmeasured.
    private static long EqualTimeSteps(TensorTrainingData data, Row row)
    {
        double Time(DdpmTrainerOptions o)
        {
            var times = new List<TimeSpan>();
            var watch = Stopwatch.StartNew();
            using var probe = new DdpmTrainer(o with { MaxSteps = 13 }).Train(data, new SynchronousProgress<TrainingProgress>(p =>
            {
                if (p.Message is null)
                {
                    times.Add(watch.Elapsed);
                }
            }));
            return (times[^1] - times[2]).TotalSeconds;
        }

        var baseline = Time(Rows.Baseline(Rows.DemoSteps));
        var changed = Time(row.Change(Rows.Baseline(Rows.DemoSteps)));
        var steps = (long)Math.Round(Rows.DemoSteps * baseline / changed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{row.Name}: 10 steps take {changed:F2} s against the baseline's {baseline:F2} s"));
        return steps;
    }

    private static string Cpu() =>
        File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown" : "unknown";

    private sealed class Progress(long steps) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Message is { } message)
            {
                Console.WriteLine(message);
            }
            else if (value.Step % Math.Max(1, steps / 4) == 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  step {value.Step}/{value.TotalSteps} loss {value.MeanLoss:F4} {value.ImagesPerSecond:F0} images/s"));
            }
        }
    }
}
