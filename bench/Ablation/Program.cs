// docs/quality.md's recipe ablation (bench/ablation.sh runs it):
//
//   Ablation list                      the rows: name, axis, what changes from the baseline
//   Ablation run <folder> <row>...     trains and scores each named row (all: every row of the demo budget) that has no
//                                      <folder>/<row>.json yet; prints the estimated total before starting
//   Ablation samplers <folder> <row> <count>
//                                      the samplers on <row>'s model (<folder>/<row>.zip), <count> images each at guidance 1:
//                                      DPM-Solver++ 20, Heun 10 (19 evaluations), Euler 20, DDIM 20 and the many-step reference
//                                      DDIM 250; KID of each into <folder>/<row>-samplers.json
//   Ablation table <folder>            the rows in <folder> as docs/quality.md's table (markdown), in the order of `list`
//   Ablation small-folder <folder> <cli> <steps>...
//                                      docs/training.md's small folder: 88 Fashion-MNIST images of four classes at 16 px in
//                                      class sub-folders, trained by the CLI (<cli>: the mlnet-diffusion binary) for each step
//                                      count with its defaults; each model's images classified, into <folder>/small-folder.json
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
                var selected = names is ["all"] ? Rows.All.Where(r => r.Axis is not ("combined" or "budget")).ToList() : names.Select(Rows.Find).ToList();
                Runner.Run(folder, selected);
                return 0;
            case ["samplers", var folder, var row, var count]:
                Runner.Samplers(folder, row, int.Parse(count, CultureInfo.InvariantCulture));
                return 0;
            case ["small-folder", var folder, var cli, .. var steps] when steps.Length > 0:
                SmallFolder.Run(folder, cli, [.. steps.Select(s => long.Parse(s, CultureInfo.InvariantCulture))]);
                return 0;
            case ["table", var folder]:
                Console.Write(Runner.Table(folder));
                return 0;
            default:
                Console.Error.WriteLine("usage: Ablation list | run <folder> all|<row>... | samplers <folder> <row> <count> | table <folder> | small-folder <folder> <cli> <steps>...");
                return 2;
        }
    }
}

/// <summary>One configuration: the baseline's options with one change.</summary>
/// <remarks>
/// <see cref="EqualTime"/>: the row trains for as long as the baseline's <see cref="Steps"/> take, its steps set from a timed
/// probe of both (width at equal wall-clock).
/// </remarks>
internal sealed record Row(string Name, string Axis, string Description, Func<DdpmTrainerOptions, DdpmTrainerOptions> Change, long Steps = Rows.DemoSteps, bool EqualTime = false);

internal static class Rows
{
    public const long DemoSteps = 200;

    public static readonly IReadOnlyList<Row> All =
    [
        new("baseline", "baseline", "the short-run recipe (the CLI's before this ablation): ε, linear β, uniform weighting, AdamW 1e-3, 100 warm-up steps, cosine decay, EMA 0.999 with warm-up, small preset (dropout 0.1)", o => o),
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
        new("tiny-equal-time", "width", "tiny preset for as long as the baseline trains (steps from a timed probe of both)", o => o with { ModelPreset = "tiny" }, EqualTime: true),
        new("v-min-snr", "combined", "v prediction with min-SNR weighting, γ = 5", o => o with { PredictionType = PredictionType.VPrediction, LossWeighting = LossWeighting.MinSnr, MinSnrGamma = 5 }),
        new("v-batch-32", "combined", "v prediction, 400 steps of 32 (the same images, twice the updates)", o => o with { PredictionType = PredictionType.VPrediction, BatchSize = 32 }, 400),
        new("v-tiny-equal-time", "combined", "v prediction, tiny preset for as long as the baseline trains", o => o with { PredictionType = PredictionType.VPrediction, ModelPreset = "tiny" }, EqualTime: true),
        new("v-tiny-batch-32", "combined", "v prediction, tiny preset, 1,400 steps of 32 (about the images of v-tiny-equal-time)", o => o with { PredictionType = PredictionType.VPrediction, ModelPreset = "tiny", BatchSize = 32 }, 1400),
        new("baseline-3000", "budget", "the baseline at 3,000 steps", o => o, 3000),
        new("default-3000", "budget", "v prediction (the default recipe before it switched to ε for long runs) on the demo's tiny preset at 3,000 steps of 64 (the baseline-3000's images in about a third of its time)", o => o with { PredictionType = PredictionType.VPrediction, ModelPreset = "tiny" }, 3000),
        new("v-small-3000", "budget", "v prediction (the default recipe before it switched to ε for long runs) on the baseline's small preset at 3,000 steps of 64, separating the prediction from the preset", o => o with { PredictionType = PredictionType.VPrediction }, 3000),
        new("baseline-2000", "budget", "the baseline at 2,000 steps of 64 (the length `mlnet-diffusion train` runs by default): where between 200 and 3,000 steps ε overtakes v", o => o, 2000),
        new("v-small-2000", "budget", "v prediction on the small preset at 2,000 steps of 64, against baseline-2000", o => o with { PredictionType = PredictionType.VPrediction }, 2000),
        new("default-unconditional-3000", "budget", "default-3000 without class labels (an unconditional model: its class histogram against the real images')", o => o with { PredictionType = PredictionType.VPrediction, ModelPreset = "tiny", ClassConditional = false, ClassNames = null }, 3000),
        new("v-small-unconditional-3000", "budget", "v-small-3000 without class labels (what `mlnet-diffusion train` makes of an unlabelled folder by default: its class histogram against the real images')", o => o with { PredictionType = PredictionType.VPrediction, ClassConditional = false, ClassNames = null }, 3000),
    ];

    public static Row Find(string name) =>
        All.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"No row '{name}'; rows: {string.Join(", ", All.Select(r => r.Name))}.");

    // The small preset at Fashion-MNIST's size, for rows that change one setting of it.
    public static UNetConfig SmallConfig() => UNetConfig.Preset("small", FashionMnist.ImageSize, 1, FashionMnist.ClassCount);

    // The options every row starts from: what `mlnet-diffusion train --data fashion-mnist --class-conditional --recipe short-run --steps N --seed 0` runs.
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
    string Name, string Axis, string Description, long Steps, int BatchSize, int Threads, string Cpu, double TrainSeconds, double ImagesPerSecond,
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

    // An unconditional row's class accuracy is NaN.
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void Run(string folder, IReadOnlyList<Row> rows)
    {
        Directory.CreateDirectory(folder);
        var todo = rows.Where(r => !File.Exists(JsonPath(folder, r))).ToList();
        var done = RowFiles(folder).Select(f => JsonSerializer.Deserialize<RowResult>(File.ReadAllText(f), s_json)!).ToList();
        // Per preset: seconds per training image and per evaluation, from the finished rows of that preset (the baseline's
        // defaults before any); an equal-time row takes the baseline's time.
        (double Image, double Evaluation) Cost(string preset)
        {
            var same = done.Where(d => PresetOf(d) == preset).ToList();
            return same.Count == 0 ? (DefaultStepSeconds / 64, DefaultEvaluationSeconds)
                : (same.Average(d => d.TrainSeconds / (d.Steps * (d.BatchSize == 0 ? 64 : d.BatchSize))), same.Average(d => d.EvaluationSeconds));
        }

        var estimate = todo.Sum(r =>
        {
            var options = r.Change(Rows.Baseline(r.Steps));
            var (image, evaluation) = Cost(options.ModelPreset);
            var seconds = r.EqualTime ? Cost("small").Image * Rows.DemoSteps * 64 : image * r.Steps * options.BatchSize;
            return seconds + evaluation;
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{todo.Count} of {rows.Count} rows to run ({string.Join(", ", todo.Select(r => r.Name))}); estimated {estimate / 60:F0} min " +
            $"({(done.Count > 0 ? $"per preset, from the {done.Count} rows in {folder}" : "this machine's defaults")})"));
        var (images, labels) = FashionMnist.LoadTrain();
        using var data = new TensorTrainingData(images, labels, FashionMnist.ClassCount);
        images.Dispose();
        labels.Dispose();
        foreach (var row in todo)
        {
            var result = RunRow(row, data, folder);
            SaveJson(JsonPath(folder, row), result);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Name}: KID {result.Kid:F4} ± {result.KidStd:F4} (floor {result.RealDataKid:F4}), class accuracy {result.MeanClassAccuracy:P1}, loss {result.FinalLoss:F4}, {result.TrainSeconds:F0} s + {result.EvaluationSeconds:F0} s"));
        }
    }

    /// <summary>The samplers on one row's model at equal N, against the many-step reference (DDIM 250), each step count's KID.</summary>
    public static void Samplers(string folder, string rowName, int count)
    {
        using var model = DiffusionModel.Load(Path.Combine(folder, rowName + ".zip"), "cpu");
        var results = new List<object>();
        foreach (var (sampler, steps, evaluations) in new (SamplerKind, int, int)[]
        {
            (SamplerKind.Ddim, 250, 250), (SamplerKind.DpmSolverPlusPlus, 20, 20), (SamplerKind.Heun, 10, 19), (SamplerKind.Euler, 20, 20), (SamplerKind.Ddim, 20, 20),
        })
        {
            var watch = Stopwatch.StartNew();
            var evaluation = DiffusionEvaluator.Evaluate(model, new EvaluationOptions
            {
                Count = count,
                Generation = new GenerationOptions { Sampler = sampler, Steps = steps, Guidance = 1 },
                ComputeMemorization = false,
                ComputeRealDataFloor = false,
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{rowName}: {sampler.ToName()} {steps} steps ({evaluations} evaluations): KID {evaluation.Kid!.Mean:F4} ± {evaluation.Kid.StandardDeviation:F4}, class accuracy {evaluation.MeanClassAccuracy:P1}, {watch.Elapsed.TotalSeconds:F0} s"));
            results.Add(new
            {
                Sampler = sampler.ToName(), Steps = steps, Evaluations = evaluations, Count = count, Kid = evaluation.Kid.Mean, KidStd = evaluation.Kid.StandardDeviation,
                evaluation.MeanClassAccuracy, Seconds = watch.Elapsed.TotalSeconds,
            });
        }

        SaveJson(Path.Combine(folder, rowName + "-samplers.json"), results);
    }

    /// <summary>The finished rows as a markdown table, each beside the baseline of its budget: ΔKID in units of the two stds combined.</summary>
    public static string Table(string folder)
    {
        var results = RowFiles(folder).Select(f => JsonSerializer.Deserialize<RowResult>(File.ReadAllText(f), s_json)!)
            .OrderBy(r => Rows.All.ToList().FindIndex(row => row.Name == r.Name)).ToList();
        var text = new System.Text.StringBuilder();
        text.AppendLine("| row | axis | change from the baseline | steps | KID ± std | ΔKID / σ | class accuracy | final loss | training s |");
        text.AppendLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            // Against the baseline of the nearest budget in images (rows written before BatchSize was recorded trained 64 per step).
            static long Images(RowResult x) => x.Steps * (x.BatchSize == 0 ? 64 : x.BatchSize);
            var baseline = results.Where(b => b.Axis == "baseline").MinBy(b => Math.Abs(Images(b) - Images(r)));
            var delta = baseline is null || baseline == r ? "–"
                : ((r.Kid - baseline.Kid) / Math.Sqrt((r.KidStd * r.KidStd) + (baseline.KidStd * baseline.KidStd))).ToString("+0.0;−0.0", CultureInfo.InvariantCulture);
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.Axis} | {r.Description} | {r.Steps} | {r.Kid:F2} ± {r.KidStd:F2} | {delta} | {r.MeanClassAccuracy:P1} | {r.FinalLoss:F4} | {r.TrainSeconds:F0} |"));
        }

        return text.ToString();
    }

    // The preset a row trained (a row with an explicit configuration changes one setting of its preset, which it still names).
    private static string PresetOf(RowResult result)
    {
        using var options = JsonDocument.Parse(result.Options);
        return options.RootElement.GetProperty("ModelPreset").GetString() ?? "small";
    }

    // The rows' results (a JSON named after a row), without the sampler comparisons or the small folder's.
    private static IEnumerable<string> RowFiles(string folder) =>
        Directory.GetFiles(folder, "*.json").Where(f => Rows.All.Any(r => Path.GetFileName(f) == r.Name + ".json"));

    // Written, then renamed: a run stopped mid-write leaves no half file that a later invocation would take as done.
    public static void SaveJson<T>(string path, T value)
    {
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(value, s_json));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static string JsonPath(string folder, Row row) => Path.Combine(folder, row.Name + ".json");

    private static RowResult RunRow(Row row, TensorTrainingData data, string folder)
    {
        var steps = row.EqualTime ? EqualTimeSteps(data, row) : row.Steps;
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
        return new RowResult(row.Name, row.Axis, row.Description, result.Steps, options.BatchSize, result.Threads, Cpu(), result.Elapsed.TotalSeconds,
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

    public static string Cpu() =>
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

/// <summary>
/// How many steps a small folder needs: 88 images (22 each of T-shirt/top, Trouser, Sneaker and Bag from the start of
/// Fashion-MNIST's training set, shrunk to 16 px by area averaging) in one sub-folder per class, trained by
/// <c>mlnet-diffusion train --data DIR --image-size 16 --channels 1 --class-conditional --steps S --seed 0</c> with every other
/// option the CLI's default (the default recipe, the small preset, batch 64). Each model generates 100 images per class
/// (DPM-Solver++ 20, seeds 0…399) at guidance 1 and 2; each image, enlarged to 28 px (bilinear), is classified by the committed
/// feature network's classifier, and a hit is the class asked for. The same measure on real images (the folder's own and 400
/// test images of the four classes, through the same 16 px round trip) is the ceiling.
/// </summary>
internal static class SmallFolder
{
    private static readonly int[] Classes = [0, 1, 7, 8];
    private const int PerClass = 22;
    private const int Size = 16;
    private const int Generated = 100;

    public static void Run(string folder, string cli, IReadOnlyList<long> stepCounts)
    {
        var data = Path.Combine(folder, "small-folder");
        var (images, labels) = FashionMnist.LoadTrain(2000);
        var (test, testLabels) = FashionMnist.LoadTest();
        using var classifier = Metrics.FeatureNetwork.LoadPretrained();
        var chosen = Pick(labels, PerClass);
        using var small = Shrink(images.index_select(0, torch.tensor(chosen.SelectMany(c => c).ToArray())));
        if (!Directory.Exists(data))
        {
            var temporary = data + ".tmp";
            for (var k = 0; k < Classes.Length; k++)
            {
                var classFolder = Path.Combine(temporary, Name(k));
                Directory.CreateDirectory(classFolder);
                var pictures = Images.ImageGrid.ToImages(small.narrow(0, k * PerClass, PerClass));
                for (var i = 0; i < PerClass; i++)
                {
                    Images.ImageCodec.SavePng(pictures[i], Path.Combine(classFolder, $"{i:D2}.png"));
                }
            }

            Directory.Move(temporary, data);
        }

        using var testSmall = Shrink(test.index_select(0, torch.tensor(Pick(testLabels, Generated).SelectMany(c => c).ToArray())));
        var folderCeiling = Accuracy(classifier, small, PerClass);
        var testCeiling = Accuracy(classifier, testSmall, Generated);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"real images through 16 px: the folder's 88 {folderCeiling.Mean:P1}, 400 test images {testCeiling.Mean:P1}"));

        // Rows of step counts not run this time are kept, and a model trained before keeps the training time recorded then.
        var jsonPath = Path.Combine(folder, "small-folder.json");
        var earlier = File.Exists(jsonPath)
            ? (System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(jsonPath))?["Rows"]?.AsArray() ?? []).OfType<System.Text.Json.Nodes.JsonNode>()
                .ToDictionary(r => r["Steps"]!.GetValue<long>(), r => (object)r.DeepClone())
            : [];
        var rows = new SortedDictionary<long, object>(earlier);
        foreach (var steps in stepCounts)
        {
            var modelPath = Path.Combine(folder, $"small-folder-{steps}.zip");
            double? trainSeconds = earlier.TryGetValue(steps, out var before) ? ((System.Text.Json.Nodes.JsonNode)before)["TrainSeconds"]?.GetValue<double>() : null;
            if (!File.Exists(modelPath))
            {
                var watch = Stopwatch.StartNew();
                Train(cli, data, steps, modelPath);
                trainSeconds = watch.Elapsed.TotalSeconds;
            }

            using var model = DiffusionModel.Load(modelPath, "cpu");
            var row = new Dictionary<string, object?> { ["Steps"] = steps, ["TrainSeconds"] = trainSeconds };
            foreach (var guidance in new[] { 1.0, 2.0 })
            {
                // The model's labels are its sub-folders in name order: Name(k) keeps them in Classes' order.
                var asked = Enumerable.Range(0, Classes.Length * Generated).Select(i => i / Generated).ToArray();
                using var generated = model.Generate(asked.Length, new GenerationOptions { Labels = asked, Guidance = guidance, Seed = 0 });
                var accuracy = Accuracy(classifier, generated, Generated);
                row[guidance == 1 ? "Guidance1" : "Guidance2"] = accuracy.PerClass;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{steps} steps ({trainSeconds?.ToString("F0", CultureInfo.InvariantCulture) ?? "?"} s): guidance {guidance}: {accuracy.Mean:P1} of images in the class asked for ({string.Join(", ", accuracy.PerClass.Select((a, k) => $"{FashionMnist.ClassNames[Classes[k]]} {a:P0}"))})"));
                if (guidance == 1)
                {
                    using var first = generated.view(Classes.Length, Generated, 1, Size, Size).narrow(1, 0, 8).reshape(Classes.Length * 8, 1, Size, Size);
                    Images.ImageGrid.SaveGrid(first, Path.Combine(folder, $"small-folder-{steps}.png"), columns: 8);
                }
            }

            rows[steps] = row;
        }

        var result = new
        {
            Classes = Classes.Select(c => FashionMnist.ClassNames[c]).ToArray(), PerClass, Size, Generated, FolderCeiling = folderCeiling.PerClass,
            TestCeiling = testCeiling.PerClass, Cpu = Runner.Cpu(), Rows = rows.Values.ToList(),
        };
        Runner.SaveJson(jsonPath, result);
    }

    private static string Name(int k) => $"{k}-{FashionMnist.ClassNames[Classes[k]].Replace('/', '-').ToLowerInvariant()}";

    // The first `count` indices of each chosen class, class by class.
    private static List<long[]> Pick(torch.Tensor labels, int count)
    {
        var all = labels.data<long>().ToArray();
        return [.. Classes.Select(c => Enumerable.Range(0, all.Length).Where(i => all[i] == c).Take(count).Select(i => (long)i).ToArray())];
    }

    private static torch.Tensor Shrink(torch.Tensor images) => torch.nn.functional.interpolate(images, [Size, Size], mode: torch.InterpolationMode.Area);

    // Per class (`count` consecutive images each, in Classes' order): the share the classifier puts in that class, after 16 → 28 px.
    private static (double Mean, double[] PerClass) Accuracy(Metrics.FeatureNetwork classifier, torch.Tensor images, int count)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var large = torch.nn.functional.interpolate(images.clamp(-1, 1), [28, 28], mode: torch.InterpolationMode.Bilinear, align_corners: false);
        var predicted = classifier.forward(large).argmax(1).data<long>().ToArray();
        var perClass = Classes.Select((c, k) => predicted.Skip(k * count).Take(count).Count(p => p == c) / (double)count).ToArray();
        return (perClass.Average(), perClass);
    }

    private static void Train(string cli, string data, long steps, string modelPath)
    {
        var start = new ProcessStartInfo(cli)
        {
            ArgumentList = { "train", "--data", data, "--image-size", "16", "--channels", "1", "--class-conditional", "--steps", steps.ToString(CultureInfo.InvariantCulture), "--seed", "0", "--out", modelPath },
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"train for {steps} steps failed ({process.ExitCode}): {output}");
        }

        Console.WriteLine(output.Split('\n').LastOrDefault(l => l.Contains("loss", StringComparison.Ordinal)) ?? string.Empty);
    }
}
