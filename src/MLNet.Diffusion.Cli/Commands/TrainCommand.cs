using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.ForwardProcess;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary><c>mlnet-diffusion train</c>: trains a model on an image folder, an IDX file or Fashion-MNIST, with checkpoints and resume.</summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output, bool interactive)
    {
        var data = new Option<string>("--data") { Description = "fashion-mnist, an IDX file of images (plain or .gz), or a folder of PNG/JPEG images (one sub-folder per class, or flat).", Required = true };
        var labels = new Option<string?>("--labels") { Description = "An IDX file of labels for --data (fashion-mnist brings its own)." };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N images." };
        var modelPath = new Option<string>("--out") { Description = "Where to write the model .zip.", Required = true };
        var imageSize = new Option<int?>("--image-size") { Description = "The image size: required for a folder (images are scaled and center-cropped to it); for other data, checked against it." };
        var channels = new Option<int?>("--channels") { Description = "The channels, 1 or 3: for a folder, images are converted to it (default 3); for other data, checked against it." };
        var preset = new Option<string>("--model") { Description = "tiny, small or ddpm-cifar10.", DefaultValueFactory = _ => "small" };
        var steps = new Option<long>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 2000 };
        var batch = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 64 };
        var rate = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => TrainingRecipes.ShortRunLearningRate };
        var schedule = new Option<string>("--schedule") { Description = "linear, cosine or sigmoid.", DefaultValueFactory = _ => "linear" };
        var prediction = new Option<string>("--prediction") { Description = "epsilon, sample or v.", DefaultValueFactory = _ => "epsilon" };
        var conditional = new Option<bool>("--class-conditional") { Description = "Train on the labels (with 10 % label dropout for guidance)." };
        var seed = new Option<ulong>("--seed") { Description = "The seed of the run.", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda[:N].", DefaultValueFactory = _ => "auto" };
        var threads = new Option<int?>("--threads") { Description = "Intra-op CPU threads (default: libtorch's, one per physical core); part of what makes a CPU run reproducible. A resumed run uses the count its checkpoint records unless this is given." };
        var checkpointDirectory = new Option<string?>("--checkpoint-dir") { Description = "Where checkpoints and sample grids go (created when missing)." };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints.", DefaultValueFactory = _ => 500 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run of the newest checkpoint in --checkpoint-dir: options left out keep the run's values; --steps, --lr, --checkpoint-dir, --checkpoint-every, --sample-grid, --threads and --device may change; the others may not." };
        var grid = new Option<int>("--sample-grid") { Description = "Images in the sample grid written with each checkpoint (0: none).", DefaultValueFactory = _ => 16 };
        schedule.AcceptOnlyFromAmong("linear", "cosine", "sigmoid");
        prediction.AcceptOnlyFromAmong("epsilon", "sample", "v");
        preset.AcceptOnlyFromAmong([.. Models.UNetConfig.PresetNames]);
        var command = new Command("train", "Train a model on images and save it as a .zip.")
        {
            data, labels, limit, modelPath, imageSize, channels, preset, steps, batch, rate, schedule, prediction, conditional, seed, device, threads,
            checkpointDirectory, checkpointEvery, resume, grid,
        };
        command.SetAction(p =>
        {
            bool Given(Option option) => p.GetResult(option) is { Implicit: false };
            var directory = p.GetValue(checkpointDirectory);
            var path = p.GetRequiredValue(modelPath);

            // No option is silently ignored: one given where it changes nothing is refused, saying where it applies.
            Check(directory is not null || !Given(checkpointEvery), "--checkpoint-every applies only with --checkpoint-dir (checkpoints are written only there)");
            Check(directory is not null || !Given(grid) || p.GetValue(grid) == 0, "--sample-grid applies only with --checkpoint-dir (the grids are written beside the checkpoints)");

            // A resumed run: the options given explicitly are compared with those its checkpoint recorded, before any work.
            string? from = null;
            TrainingCheckpoint? stored = null;
            if (p.GetValue(resume))
            {
                Check(directory is not null, "--resume needs --checkpoint-dir");
                var checkpoints = TrainingCheckpoint.List(directory!);
                from = checkpoints.Count > 0 ? checkpoints[^1] : null;
                Check(from is not null, $"--resume: no checkpoint in '{directory}'");
                stored = TrainingCheckpoint.Read(from!);
                var o = stored.Options;
                var conflicts = new List<string>();
                void Fixed(Option option, string recorded, string given)
                {
                    if (Given(option) && recorded != given)
                    {
                        conflicts.Add($"{option.Name} is {recorded} in the run, {given} given");
                    }
                }

                Fixed(preset, o.Model is null ? o.ModelPreset : $"an explicit configuration ({o.Model})", p.GetRequiredValue(preset));
                Fixed(batch, o.BatchSize.ToString(Invariant), p.GetValue(batch).ToString(Invariant));
                Fixed(schedule, ScheduleName(o.Schedule), p.GetRequiredValue(schedule));
                Fixed(prediction, PredictionName(o.PredictionType), p.GetRequiredValue(prediction));
                Fixed(conditional, o.ClassConditional ? "on" : "off", p.GetValue(conditional) ? "on" : "off");
                Fixed(seed, (o.Seed ?? 0).ToString(Invariant), p.GetValue(seed).ToString(Invariant));
                Check(conflicts.Count == 0,
                    $"--resume: {string.Join("; ", conflicts)}. These define the run in '{from}' and cannot change when it resumes: leave them out to keep the run's values, or start a new run in another --checkpoint-dir");
            }

            var classConditional = stored?.Options.ClassConditional ?? p.GetValue(conditional);
            Check(!Given(labels) || classConditional, "--labels applies only with --class-conditional (the labels are what a class-conditional model trains on)");

            // Every output before any work: a missing folder is created, and one that cannot be written fails now, named as given.
            PrepareOutput("--out", path, folder: false);
            var report = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "report.html");
            if (directory is not null)
            {
                PrepareOutput("--checkpoint-dir", directory, folder: true);
            }

            var ml = new MLContext(seed: 0);
            var view = LoadData(ml, p.GetRequiredValue(data), p.GetValue(labels), p.GetValue(limit), p.GetValue(imageSize), p.GetValue(channels));
            var dims = ((VectorDataViewType)view.Schema["Pixels"].Type).Dimensions;
            var (dataChannels, dataSize) = (dims[0], dims[1]);
            Check(p.GetValue(imageSize) is not { } size || size == dataSize, $"--image-size {p.GetValue(imageSize)} does not match the data's {dataSize} px (resizing is supported only for image folders)");
            Check(p.GetValue(channels) is not { } c || c == dataChannels, $"--channels {p.GetValue(channels)} does not match the data's {dataChannels}");
            var classes = (view.Schema.GetColumnOrNull("Label")?.Type as KeyDataViewType)?.Count;
            Check(!classConditional || classes is not null,
                $"{(stored is null ? "--class-conditional" : "--resume: the run is class-conditional, but")}: '{p.GetRequiredValue(data)}' has no labels (a folder needs one sub-folder per class; an IDX file needs --labels)");

            var count = view.GetRowCount() ?? 0;
            output.WriteLine(string.Create(Invariant, $"training on {count} images ({dataChannels}×{dataSize}×{dataSize}{(classes is { } n ? $", {n} classes" : string.Empty)}){(from is null ? string.Empty : $", resuming {from}")}"));
            DiffusionTrainer.Options options;
            if (stored is null)
            {
                options = TrainingRecipes.ShortRun(new DiffusionTrainer.Options
                {
                    ModelPreset = p.GetRequiredValue(preset),
                    MaxSteps = p.GetValue(steps),
                    BatchSize = p.GetValue(batch),
                    Schedule = new NoiseScheduleOptions { Kind = Enum.Parse<BetaScheduleKind>(p.GetRequiredValue(schedule), ignoreCase: true) },
                    PredictionType = p.GetRequiredValue(prediction) switch { "sample" => PredictionType.Sample, "v" => PredictionType.VPrediction, _ => PredictionType.Epsilon },
                    Seed = p.GetValue(seed),
                    Device = p.GetRequiredValue(device),
                    Threads = p.GetValue(threads),
                    CheckpointEvery = p.GetValue(checkpointEvery),
                    SampleGridSize = p.GetValue(grid),
                }) with { LearningRate = p.GetValue(rate) };
            }
            else
            {
                // The run's own settings, with what may change on resume replaced by the options given.
                var o = stored.Options;
                options = new DiffusionTrainer.Options(o)
                {
                    MaxSteps = Given(steps) ? p.GetValue(steps) : o.MaxSteps,
                    Epochs = Given(steps) ? null : o.Epochs,
                    LearningRate = Given(rate) ? p.GetValue(rate) : o.LearningRate,
                    Device = Given(device) ? p.GetRequiredValue(device) : o.Device,
                    Threads = Given(threads) ? p.GetValue(threads) : o.Threads,
                    CheckpointEvery = Given(checkpointEvery) ? p.GetValue(checkpointEvery) : o.CheckpointEvery,
                    SampleGridSize = Given(grid) ? p.GetValue(grid) : o.SampleGridSize,
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
                }.Where(change => change.Item2 != change.Item3).Select(change => $"{change.Item1} {change.Item2} → {change.Item3}").ToList();
                output.WriteLine(string.Create(Invariant, $"resuming at step {stored.Step}{(changes.Count == 0 ? string.Empty : $" with {string.Join(", ", changes)}")}"));
            }

            options = options with { LabelColumnName = classConditional ? "Label" : null, CheckpointDirectory = directory, ResumeFrom = from, ReportPath = report };
            var model = WithProgress(output, interactive, progress => ml.Diffusion().Train(options with { Progress = progress }).Fit(view));
            using (model)
            {
                // The model file is ML.NET's model zip with the generator graph, which fixes these sampler settings: what
                // mlContext.Model.Load and `generate --engine onnx` run without building another graph.
                model.TransformOptions = s_savedSampler;
                model.Save(path);
                var t = model.Training!;
                output.WriteLine(string.Create(Invariant, $"trained {t.Steps} steps in {TimeSpan.FromSeconds(t.Seconds):hh\\:mm\\:ss} ({t.ImagesPerSecond:F1} images/s); wrote {path} and {report}"));
            }

            return 0;
        });
        return command;
    }

    // The sampler settings `train` fixes in the generator graph of the model file: DPM-Solver++ at its usual 20 steps, no guidance.
    private static readonly GenerationOptions s_savedSampler = new() { Sampler = SamplerKind.DpmSolverPlusPlus, Steps = null, Guidance = 1 };

    // Every kind of --data becomes an ML.NET data view readable by position, and trains through the same IDataView path.
    private static IDataView LoadData(MLContext ml, string data, string? labelsPath, int? limit, int? imageSize, int? channels)
    {
        if (Directory.Exists(data))
        {
            Check(imageSize is not null, $"--data: '{data}' is a folder of images, which needs --image-size (the side of the square training images)");
            Check(imageSize > 0, $"--image-size must be positive, not {imageSize}");
            Check(channels is null or 1 or 3, $"--channels must be 1 or 3, not {channels}");
            Check(labelsPath is null, "--labels does not apply to an image folder: its sub-folders are the classes");
            Check(limit is null, "--limit does not apply to an image folder");
            return ml.Diffusion().LoadImageFolder(data, imageSize!.Value, channels ?? 3);
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
                        task.MaxValue = p.TotalSteps;
                        task.Value = p.Step;
                        task.Description = string.Create(Invariant, $"step {p.Step}/{p.TotalSteps}  loss {p.SmoothedLoss:F4}  {p.ImagesPerSecond:F0} images/s");
                    }));
                });
            return result!;
        }

        return train(new SynchronousProgress<TrainingProgress>(p =>
        {
            var every = Math.Max(1, p.TotalSteps / 20);
            if (p.Step % every == 0 || p.Step == p.TotalSteps)
            {
                output.WriteLine(string.Create(Invariant, $"step {p.Step}/{p.TotalSteps}  loss {p.SmoothedLoss:F4}  {p.ImagesPerSecond:F0} images/s  {p.Remaining:hh\\:mm\\:ss} left"));
            }
        }));
    }
}
