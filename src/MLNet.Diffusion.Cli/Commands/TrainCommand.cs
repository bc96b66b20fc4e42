using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Training;
using Spectre.Console;
using MLNet.Diffusion.ForwardProcess;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary><c>mlnet-diffusion train</c>: trains a model on an image folder, an IDX file or Fashion-MNIST, with checkpoints and resume.</summary>
internal sealed class TrainCommand
{
    private readonly TextWriter _output;
    private readonly bool _interactive;
    private readonly Option<string> _data = new("--data") { Description = "fashion-mnist, an IDX file of images (plain or .gz), or a folder of PNG/JPEG images (one sub-folder per class, or flat).", Required = true };
    private readonly Option<string?> _labels = new("--labels") { Description = "An IDX file of labels for --data (fashion-mnist brings its own)." };
    private readonly Option<int?> _limit = new("--limit") { Description = "Use only the first N images." };
    private readonly Option<string> _modelPath = new("--out") { Description = "Where to write the model .zip.", Required = true };
    private readonly Option<int?> _imageSize = new("--image-size") { Description = "The image size: required for a folder (images are scaled and center-cropped to it); for other data, checked against it." };
    private readonly Option<int?> _channels = new("--channels") { Description = "The channels, 1 or 3: for a folder, images are converted to it (default 3); for other data, checked against it." };
    private readonly Option<string> _preset = new("--model") { Description = "tiny, small or ddpm-cifar10.", DefaultValueFactory = _ => "small" };
    private readonly Option<long> _steps = new("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 2000 };
    private readonly Option<int> _batch = new("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 64 };
    private readonly Option<string> _recipe = new("--recipe") { Description = $"The training recipe (docs/training.md#recipes): default (the measured winner of docs/quality.md's ablation: v prediction for runs of fewer than {TrainingRecipes.DefaultEpsilonFromImages.ToString("N0", Invariant)} images, steps × batch, ε from there on) or short-run (the recipe before it, which bench/quality.sh pins). --lr, --schedule, --prediction and --loss-weighting override its values.", DefaultValueFactory = _ => TrainingRecipes.DefaultName };
    private readonly Option<double?> _rate = new("--lr") { Description = "Peak learning rate (default: the recipe's)." };
    private readonly Option<string?> _schedule = new("--schedule") { Description = "linear, cosine or sigmoid (default: the recipe's)." };
    private readonly Option<string?> _prediction = new("--prediction") { Description = "epsilon, sample or v (default: the recipe's)." };
    private readonly Option<string?> _lossWeighting = new("--loss-weighting") { Description = "How timesteps weigh in the loss: uniform (Ho et al. 2020) or min-snr (Hang et al. 2023: min(SNR, γ) in x₀ terms); default: the recipe's." };
    private readonly Option<double> _minSnrGamma = new("--min-snr-gamma") { Description = "γ of --loss-weighting min-snr.", DefaultValueFactory = _ => 5 };
    private readonly Option<bool> _conditional = new("--class-conditional") { Description = "Train on the labels (with 10 % label dropout for guidance)." };
    private readonly Option<ulong> _seed = new("--seed") { Description = "The seed of the run.", DefaultValueFactory = _ => 0 };
    private readonly Option<string> _device = new("--device") { Description = "auto, cpu or cuda[:N].", DefaultValueFactory = _ => "auto" };
    private readonly Option<int?> _threads = new("--threads") { Description = "Intra-op CPU threads (default: libtorch's, one per physical core); part of what makes a CPU run reproducible. A resumed run uses the count its checkpoint records unless this is given." };
    private readonly Option<string?> _checkpointDirectory = new("--checkpoint-dir") { Description = "Where checkpoints and sample grids go (created when missing)." };
    private readonly Option<int> _checkpointEvery = new("--checkpoint-every") { Description = "Steps between checkpoints.", DefaultValueFactory = _ => 500 };
    private readonly Option<bool> _resume = new("--resume") { Description = "Continue the run of the newest checkpoint in --checkpoint-dir: options left out keep the run's values; --steps, --lr, --checkpoint-dir, --checkpoint-every, --sample-grid, --eval-every, --eval-count, --threads and --device may change; the others may not." };
    private readonly Option<int> _grid = new("--sample-grid") { Description = "Images in the sample grid written with each checkpoint (0: none).", DefaultValueFactory = _ => 16 };
    private readonly Option<int> _evalEvery = new("--eval-every") { Description = "Every N steps (and at the last), measure the moving-average model: KID of --eval-count generated images against as many training images; the curve goes into the report and the best model so far to best.zip in --checkpoint-dir. 0 (default): never." };
    private readonly Option<int> _evalCount = new("--eval-count") { Description = "Images per evaluation (--eval-every).", DefaultValueFactory = _ => 500 };
    private readonly Option<bool> _skipBad = new("--skip-bad-images") { Description = "For an image folder: leave out the files that cannot be read as images (named in one warning and recorded in the checkpoints, so --resume leaves out the same ones) and train on the rest, instead of failing." };

    private TrainCommand(TextWriter output, bool interactive)
    {
        (_output, _interactive) = (output, interactive);
        _recipe.AcceptOnlyFromAmong([.. TrainingRecipes.Names]);
        _schedule.AcceptOnlyFromAmong("linear", "cosine", "sigmoid");
        _prediction.AcceptOnlyFromAmong("epsilon", "sample", "v");
        _lossWeighting.AcceptOnlyFromAmong("uniform", "min-snr");
        _preset.AcceptOnlyFromAmong([.. Models.UNetConfig.PresetNames]);
    }

    /// <summary>The <c>train</c> command, writing its progress to <paramref name="output"/> (a live bar when <paramref name="interactive"/>).</summary>
    public static Command Create(TextWriter output, bool interactive) => new TrainCommand(output, interactive).Build();

    private Command Build()
    {
        var command = new Command("train", "Train a model on images and save it as a .zip, with report.html beside it. The loss printed (and drawn and recorded as the final loss) is the mean of the per-step loss over the last max(10, steps / 50) steps.")
        {
            _data, _labels, _limit, _modelPath, _imageSize, _channels, _preset, _steps, _batch, _recipe, _rate, _schedule, _prediction, _lossWeighting, _minSnrGamma, _conditional, _seed, _device, _threads,
            _checkpointDirectory, _checkpointEvery, _resume, _grid, _evalEvery, _evalCount, _skipBad,
        };
        command.SetAction(Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        var directory = p.GetValue(_checkpointDirectory);
        var path = p.GetRequiredValue(_modelPath);

        // No option is silently ignored: one given where it changes nothing is refused, saying where it applies.
        Check(directory is not null || !p.Given(_checkpointEvery), "--checkpoint-every applies only with --checkpoint-dir (checkpoints are written only there)");
        Check(directory is not null || !p.Given(_grid) || p.GetValue(_grid) == 0, "--sample-grid applies only with --checkpoint-dir (the grids are written beside the checkpoints)");
        Check(p.GetValue(_lossWeighting) == "min-snr" || !p.Given(_minSnrGamma), "--min-snr-gamma applies only with --loss-weighting min-snr");
        Check(p.GetValue(_minSnrGamma) is > 0 and < double.PositiveInfinity, $"--min-snr-gamma must be a finite number > 0, not {p.GetValue(_minSnrGamma)}");
        Check(p.GetValue(_evalEvery) >= 0, $"--eval-every must be ≥ 0 (0: no evaluation), not {p.GetValue(_evalEvery)}");
        Check(directory is not null || p.GetValue(_evalEvery) == 0, "--eval-every needs --checkpoint-dir: the best model so far is written there as best.zip, beside the checkpoints");
        Check(p.GetValue(_evalCount) >= 4, $"--eval-count must be ≥ 4, not {p.GetValue(_evalCount)}");

        CheckDevice(p, _device);
        var data = p.GetRequiredValue(_data);
        Check(Directory.Exists(data) || !p.Given(_skipBad),
            "--skip-bad-images applies only to an image folder (--data naming a folder of PNG/JPEG files): fashion-mnist and IDX files hold no image files to leave out");

        // A resumed run: the options given explicitly are compared with those its checkpoint recorded, before any work.
        Check(!p.GetValue(_resume) || !p.Given(_recipe), "--recipe applies to a new run: a resumed run keeps the settings its checkpoint records");
        var (from, stored) = p.GetValue(_resume) ? ReadResumed(p, directory) : (null, null);

        var classConditional = stored?.Options.ClassConditional ?? p.GetValue(_conditional);
        Check(!p.Given(_labels) || classConditional, "--labels applies only with --class-conditional (the labels are what a class-conditional model trains on)");

        // Every output before any work: a missing folder is created, and one that cannot be written fails now, named as given.
        PrepareOutput("--out", path, folder: false);
        var report = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "report.html");
        if (directory is not null)
        {
            PrepareOutput("--checkpoint-dir", directory, folder: true);
        }

        var ml = new MLContext(seed: 0);
        // A resumed run leaves out exactly the files it left out before, so that it trains on the same rows in the same order.
        var excluded = stored?.Options.ExcludedFiles ?? [];
        var view = LoadData(ml, data, p.GetValue(_labels), p.GetValue(_limit), p.GetValue(_imageSize), p.GetValue(_channels), excluded);
        if (Directory.Exists(data))
        {
            excluded = CheckEveryImage(view, data, excluded, skip: p.GetValue(_skipBad), resumed: stored is not null);
            if (stored is null && excluded.Count > 0)
            {
                view = LoadData(ml, data, null, null, p.GetValue(_imageSize), p.GetValue(_channels), excluded);
            }
        }

        var dims = ((VectorDataViewType)view.Schema["Pixels"].Type).Dimensions;
        var (dataChannels, dataSize) = (dims[0], dims[1]);
        Check(p.GetValue(_imageSize) is not { } size || size == dataSize, $"--image-size {p.GetValue(_imageSize)} does not match the data's {dataSize} px (resizing is supported only for image folders)");
        Check(p.GetValue(_channels) is not { } c || c == dataChannels, $"--channels {p.GetValue(_channels)} does not match the data's {dataChannels}");
        var classes = (view.Schema.GetColumnOrNull("Label")?.Type as KeyDataViewType)?.Count;
        Check(!classConditional || classes is not null,
            $"{(stored is null ? "--class-conditional" : "--resume: the run is class-conditional, but")}: '{p.GetRequiredValue(_data)}' has no labels (a folder needs one sub-folder per class; an IDX file needs --labels)");

        var count = view.GetRowCount() ?? 0;
        _output.WriteLine(string.Create(Invariant, $"training on {count} images ({dataChannels}×{dataSize}×{dataSize}{(classes is { } n ? $", {n} classes" : string.Empty)}){(from is null ? string.Empty : $", resuming {from}")}"));
        var options = stored is null ? NewRunOptions(p) : ResumedOptions(p, stored, directory!);
        _output.WriteLine(string.Create(Invariant,
            $"{PredictionName(options.PredictionType)} prediction, peak learning rate {options.LearningRate:G3} after {options.WarmupSteps} warm-up steps ({(stored is null ? $"recipe {p.GetRequiredValue(_recipe)}" : "the run's own")})"));
        Check(options.EvaluateEvery > 0 || !p.Given(_evalCount), "--eval-count applies only with --eval-every (above 0, given or kept from the resumed run)");
        options = options with
        {
            LabelColumnName = classConditional ? "Label" : null, CheckpointDirectory = directory, ResumeFrom = from, ReportPath = report,
            ExcludedFiles = excluded.Count == 0 ? null : excluded,
            ReportDetails = ReportDetails(p, path, count, dataChannels, dataSize, classConditional ? view.Schema["Label"] : null, options.MaxSteps, excluded.Count),
        };
        var model = WithProgress(_output, _interactive, progress => ml.Diffusion().Train(options with { Progress = progress }).Fit(view));
        using (model)
        {
            // The model file is ML.NET's model zip with the generator graph, which fixes these sampler settings: what
            // mlContext.Model.Load and `generate --engine onnx` run without building another graph.
            model.TransformOptions = s_savedSampler;
            model.Save(path);
            var t = model.Training!;
            _output.WriteLine(string.Create(Invariant, $"trained {t.Steps} steps in {TimeSpan.FromSeconds(t.Seconds):hh\\:mm\\:ss} ({t.ImagesPerSecond:F1} images/s); wrote {path} and {report}"));
        }

        return 0;
    }

    // What the report says about the data, where the model goes and what to run next, in this tool's terms.
    private TrainingReportDetails ReportDetails(ParseResult p, string path, long count, int channels, int size, DataViewSchema.Column? label, long steps, int excluded)
    {
        var data = p.GetRequiredValue(_data);
        var names = label is { } column ? KeyNames(column) : null;
        var classes = names is null ? string.Empty : string.Create(Invariant, $", {names.Count} classes");
        var skipped = excluded == 0 ? string.Empty : string.Create(Invariant, $" ({excluded:N0} unreadable files left out)");
        var dataset = Directory.Exists(data) ? string.Create(Invariant, $"image folder '{data}': {count:N0} images{skipped}, resized to {channels}×{size}×{size}{classes}")
            : string.Equals(data, "fashion-mnist", StringComparison.OrdinalIgnoreCase) ? string.Create(Invariant, $"Fashion-MNIST training set: {count:N0} images, {channels}×{size}×{size}{classes}")
            : string.Create(Invariant, $"IDX file '{data}': {count:N0} images, {channels}×{size}×{size}{classes}");
        var folder = Path.GetDirectoryName(path) is { Length: > 0 } f ? f : ".";
        var label0 = names is { Count: > 0 } ? $" --label {Quote(names[0])}" : string.Empty;
        var next = new List<string>
        {
            $"mlnet-diffusion generate --model {Quote(path)}{label0} --count 16 --out {Quote(Path.Combine(folder, "generated"))}",
            $"mlnet-diffusion info --model {Quote(path)}",
        };
        if (p.GetValue(_checkpointDirectory) is { } checkpoints)
        {
            var dataFlags = $"--data {Quote(data)}" + (p.GetValue(_imageSize) is { } s ? string.Create(Invariant, $" --image-size {s}") : string.Empty)
                + (p.GetValue(_labels) is { } l ? $" --labels {Quote(l)}" : string.Empty) + (p.GetValue(_limit) is { } n ? string.Create(Invariant, $" --limit {n}") : string.Empty)
                + (p.GetValue(_skipBad) ? " --skip-bad-images" : string.Empty);
            next.Add(string.Create(Invariant, $"mlnet-diffusion train {dataFlags} --out {Quote(path)} --checkpoint-dir {Quote(checkpoints)} --resume --steps {steps * 2}   (continues this run to {steps * 2} steps)"));
        }

        return new TrainingReportDetails { Title = $"Training report: {Path.GetFileName(path)}", Dataset = dataset, ModelPath = path, NextSteps = next };

        static string Quote(string text) => text.Contains(' ', StringComparison.Ordinal) ? $"\"{text}\"" : text;
    }

    private static List<string>? KeyNames(DataViewSchema.Column column)
    {
        if (!column.HasKeyValues())
        {
            return null;
        }

        VBuffer<ReadOnlyMemory<char>> values = default;
        column.GetKeyValues(ref values);
        return [.. values.DenseValues().Select(v => v.ToString())];
    }

    // Every file of a folder decoded once before step 1, so that all the files that are not images are named now, together,
    // rather than one per run when its batch comes. Returns the files the run leaves out (relative to the folder, in row order):
    // those it left out before when resumed; with --skip-bad-images in a new run, the ones that cannot be read; else none.
    private List<string> CheckEveryImage(IDataView view, string folder, IReadOnlyList<string> excluded, bool skip, bool resumed)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var column = view.Schema["Path"];
        var bad = new List<(string Name, string Error)>();
        var count = 0;
        using (var cursor = view.GetRowCursor([column]))
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            var path = default(ReadOnlyMemory<char>);
            while (cursor.MoveNext())
            {
                getter(ref path);
                count++;
                try
                {
                    _ = ImageCodec.Load(path.ToString());
                }
                catch (InvalidDataException ex)
                {
                    bad.Add((Path.GetRelativePath(folder, path.ToString()).Replace(Path.DirectorySeparatorChar, '/'), ex.Message));
                }
            }
        }

        _output.WriteLine(string.Create(Invariant, $"checked {count} images in {clock.Elapsed.TotalSeconds:F1} s"));
        if (resumed)
        {
            // Leaving out more files (or fewer) would train the rest of the run on other rows, in another order.
            Check(bad.Count == 0, string.Create(Invariant,
                $"--resume: {bad.Count} of the {count} files in '{folder}' cannot be read as images: {FirstTen(bad.Select(b => b.Error))} ") +
                $"The run left out {(excluded.Count == 0 ? "no file" : $"only {Names(excluded)}")}, and a resumed run must train on the same files: repair or restore these, " +
                "or start a new run in another --checkpoint-dir (--skip-bad-images leaves them out)");
            if (excluded.Count > 0)
            {
                _output.WriteLine(string.Create(Invariant, $"leaving out the {excluded.Count} files the run left out (--skip-bad-images): {Names(excluded)}"));
            }

            return [.. excluded];
        }

        Check(bad.Count == 0 || skip, string.Create(Invariant,
            $"--data: {bad.Count} of the {count} files in '{folder}' cannot be read as images, so nothing was trained: {FirstTen(bad.Select(b => b.Error))} ") +
            "Remove or repair them, or pass --skip-bad-images to train on the rest");
        Check(bad.Count < count, $"--data: none of the {count} files in '{folder}' can be read as images: {FirstTen(bad.Select(b => b.Error))}");
        if (bad.Count > 0)
        {
            _output.WriteLine(string.Create(Invariant,
                $"warning: --skip-bad-images: leaving out {bad.Count} of the {count} files in '{folder}', which cannot be read as images: {Names([.. bad.Select(b => b.Name)])}"));
        }

        return [.. bad.Select(b => b.Name)];

        static string Names(IReadOnlyList<string> names) => FirstTen(names.Select(n => n), ", ");
    }

    // The first ten of a list, then how many more.
    private static string FirstTen(IEnumerable<string> items, string separator = " ")
    {
        var all = items.ToList();
        return string.Join(separator, all.Take(10)) + (all.Count > 10 ? string.Create(Invariant, $" … and {all.Count - 10} more") : string.Empty);
    }

    // The checkpoint a --resume continues, refused when an option given explicitly differs from what the run recorded.
    private (string? From, TrainingCheckpoint? Stored) ReadResumed(ParseResult p, string? directory)
    {
        Check(directory is not null, "--resume needs --checkpoint-dir");
        var checkpoints = TrainingCheckpoint.List(directory!);
        var from = checkpoints.Count > 0 ? checkpoints[^1] : null;
        Check(from is not null, $"--resume: no checkpoint in '{directory}'");
        var stored = TrainingCheckpoint.Read(from!);
        var o = stored.Options;
        var conflicts = new List<string>();
        void Fixed(Option option, string recorded, string given)
        {
            if (p.Given(option) && recorded != given)
            {
                conflicts.Add($"{option.Name} is {recorded} in the run, {given} given");
            }
        }

        Fixed(_preset, o.Model is null ? o.ModelPreset : $"an explicit configuration ({o.Model})", p.GetRequiredValue(_preset));
        Fixed(_batch, o.BatchSize.ToString(Invariant), p.GetValue(_batch).ToString(Invariant));
        Fixed(_schedule, ScheduleName(o.Schedule), p.GetValue(_schedule) ?? string.Empty);
        Fixed(_prediction, PredictionName(o.PredictionType), p.GetValue(_prediction) ?? string.Empty);
        Fixed(_lossWeighting, o.LossWeighting == LossWeighting.MinSnr ? "min-snr" : "uniform", p.GetValue(_lossWeighting) ?? string.Empty);
        if (o.LossWeighting == LossWeighting.MinSnr)
        {
            Fixed(_minSnrGamma, o.MinSnrGamma.ToString(Invariant), p.GetValue(_minSnrGamma).ToString(Invariant));
        }

        Fixed(_conditional, o.ClassConditional ? "on" : "off", p.GetValue(_conditional) ? "on" : "off");
        Fixed(_seed, (o.Seed ?? 0).ToString(Invariant), p.GetValue(_seed).ToString(Invariant));
        Check(conflicts.Count == 0,
            $"--resume: {string.Join("; ", conflicts)}. These define the run in '{from}' and cannot change when it resumes: leave them out to keep the run's values, or start a new run in another --checkpoint-dir");
        return (from, stored);
    }

    // A new run: the options given on the recipe of --recipe; --lr, --schedule, --prediction and --loss-weighting, when given, win.
    private DiffusionTrainer.Options NewRunOptions(ParseResult p)
    {
        var options = TrainingRecipes.Apply(p.GetRequiredValue(_recipe), new DiffusionTrainer.Options
        {
            ModelPreset = p.GetRequiredValue(_preset),
            MaxSteps = p.GetValue(_steps),
            BatchSize = p.GetValue(_batch),
            MinSnrGamma = p.GetValue(_minSnrGamma),
            Seed = p.GetValue(_seed),
            Device = p.GetRequiredValue(_device),
            Threads = p.GetValue(_threads),
            CheckpointEvery = p.GetValue(_checkpointEvery),
            SampleGridSize = p.GetValue(_grid),
            EvaluateEvery = p.GetValue(_evalEvery),
            EvaluationCount = p.GetValue(_evalCount),
        });
        return options with
        {
            LearningRate = p.GetValue(_rate) ?? options.LearningRate,
            Schedule = p.GetValue(_schedule) is { } schedule ? new NoiseScheduleOptions { Kind = Enum.Parse<BetaScheduleKind>(schedule, ignoreCase: true) } : options.Schedule,
            PredictionType = p.GetValue(_prediction) switch
            {
                "epsilon" => PredictionType.Epsilon, "sample" => PredictionType.Sample, "v" => PredictionType.VPrediction, _ => options.PredictionType,
            },
            LossWeighting = p.GetValue(_lossWeighting) switch { "min-snr" => LossWeighting.MinSnr, "uniform" => LossWeighting.Uniform, _ => options.LossWeighting },
        };
    }

    // A resumed run: the run's own settings, with what may change on resume replaced by the options given.
    private DiffusionTrainer.Options ResumedOptions(ParseResult p, TrainingCheckpoint stored, string directory)
    {
        var o = stored.Options;
        var options = new DiffusionTrainer.Options(o)
        {
            MaxSteps = p.Given(_steps) ? p.GetValue(_steps) : o.MaxSteps,
            Epochs = p.Given(_steps) ? null : o.Epochs,
            LearningRate = p.GetValue(_rate) ?? o.LearningRate,
            Device = p.Given(_device) ? p.GetRequiredValue(_device) : o.Device,
            Threads = p.Given(_threads) ? p.GetValue(_threads) : o.Threads,
            CheckpointEvery = p.Given(_checkpointEvery) ? p.GetValue(_checkpointEvery) : o.CheckpointEvery,
            SampleGridSize = p.Given(_grid) ? p.GetValue(_grid) : o.SampleGridSize,
            EvaluateEvery = p.Given(_evalEvery) ? p.GetValue(_evalEvery) : o.EvaluateEvery,
            EvaluationCount = p.Given(_evalCount) ? p.GetValue(_evalCount) : o.EvaluationCount,
        };
        var changes = new[]
        {
            ("--steps", o.Epochs is null ? o.MaxSteps.ToString(Invariant) : $"{o.Epochs} epochs", options.Epochs is null ? options.MaxSteps.ToString(Invariant) : $"{options.Epochs} epochs"),
            ("--lr", o.LearningRate.ToString(Invariant), options.LearningRate.ToString(Invariant)),
            ("--device", o.Device, options.Device),
            ("--threads", (o.Threads ?? stored.Threads)?.ToString(Invariant) ?? "libtorch's", (options.Threads ?? o.Threads ?? stored.Threads)?.ToString(Invariant) ?? "libtorch's"),
            ("--checkpoint-dir", o.CheckpointDirectory ?? "none", directory!),
            ("--checkpoint-every", o.CheckpointEvery.ToString(Invariant), options.CheckpointEvery.ToString(Invariant)),
            ("--sample-grid", o.SampleGridSize.ToString(Invariant), options.SampleGridSize.ToString(Invariant)),
            ("--eval-every", o.EvaluateEvery.ToString(Invariant), options.EvaluateEvery.ToString(Invariant)),
            ("--eval-count", o.EvaluationCount.ToString(Invariant), options.EvaluationCount.ToString(Invariant)),
        }.Where(change => change.Item2 != change.Item3).Select(change => $"{change.Item1} {change.Item2} → {change.Item3}").ToList();
        _output.WriteLine(string.Create(Invariant, $"resuming at step {stored.Step}{(changes.Count == 0 ? string.Empty : $" with {string.Join(", ", changes)}")}"));
        return options;
    }

    // The sampler settings `train` fixes in the generator graph of the model file: DPM-Solver++ at its usual 20 steps, no guidance.
    private static readonly GenerationOptions s_savedSampler = new() { Sampler = SamplerKind.DpmSolverPlusPlus, Steps = null, Guidance = 1 };

    // Every kind of --data becomes an ML.NET data view readable by position, and trains through the same IDataView path.
    private static IDataView LoadData(MLContext ml, string data, string? labelsPath, int? limit, int? imageSize, int? channels, IReadOnlyList<string> excluded)
    {
        if (Directory.Exists(data))
        {
            Check(imageSize is not null, $"--data: '{data}' is a folder of images, which needs --image-size (the side of the square training images)");
            Check(imageSize > 0, $"--image-size must be positive, not {imageSize}");
            Check(channels is null or 1 or 3, $"--channels must be 1 or 3, not {channels}");
            Check(labelsPath is null, "--labels does not apply to an image folder: its sub-folders are the classes");
            Check(limit is null, "--limit does not apply to an image folder");
            return ml.Diffusion().LoadImageFolder(data, imageSize!.Value, channels ?? 3, excludedFiles: excluded);
        }

        Check(limit is null or > 0, $"--limit must be positive, not {limit}");
        if (string.Equals(data, "fashion-mnist", StringComparison.OrdinalIgnoreCase))
        {
            Check(labelsPath is null, "--labels does not apply to fashion-mnist, which brings its own labels");
            return ml.Diffusion().LoadFashionMnist(limit: limit);
        }

        Check(File.Exists(data), $"--data: '{data}' is neither fashion-mnist nor an existing IDX file or image folder");
        var view = ml.Diffusion().LoadIdx(data, labelsPath, limit);
        var dims = ((VectorDataViewType)view.Schema["Pixels"].Type).Dimensions;
        Check(dims[1] == dims[2], $"--data: the images of '{data}' are not square ({dims[1]}×{dims[2]})");
        return view;
    }

    private static T WithProgress<T>(TextWriter output, bool interactive, Func<IProgress<TrainingProgress>, T> train)
        where T : class
    {
        if (interactive)
        {
            T? result = null;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask("training");
                    result = train(new SynchronousProgress<TrainingProgress>(p =>
                    {
                        if (p.Message is { } message)
                        {
                            AnsiConsole.WriteLine(message);
                            return;
                        }

                        task.MaxValue = p.TotalSteps;
                        task.Value = p.Step;
                        task.Description = string.Create(Invariant, $"step {p.Step}/{p.TotalSteps}  loss {p.MeanLoss:F4}  {p.ImagesPerSecond:F0} images/s");
                    }));
                });
            return result!;
        }

        return train(new SynchronousProgress<TrainingProgress>(p =>
        {
            if (p.Message is { } message)
            {
                output.WriteLine(message);
                return;
            }

            var every = Math.Max(1, p.TotalSteps / 20);
            if (p.Step % every == 0 || p.Step == p.TotalSteps)
            {
                output.WriteLine(string.Create(Invariant, $"step {p.Step}/{p.TotalSteps}  loss {p.MeanLoss:F4}  {p.ImagesPerSecond:F0} images/s  {p.Remaining:hh\\:mm\\:ss} left"));
            }
        }));
    }
}
