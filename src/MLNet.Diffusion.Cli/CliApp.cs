using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Evaluation;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Onnx;
using MLNet.Diffusion.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.ModelFormat;

namespace MLNet.Diffusion.Cli;

/// <summary>
/// The commands of <c>mlnet-diffusion</c>: <c>train</c>, <c>generate</c>, <c>info</c>, <c>export</c> and <c>eval</c>. Exit code 0 on success,
/// 1 on failure (one line <c>error: ...</c> on standard error; the stack trace with <c>--verbose</c>), 2 on a
/// usage error.
/// </summary>
public static class CliApp
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var verbose = new Option<bool>("--verbose") { Description = "Print the stack trace of a failure.", Recursive = true };
        var root = new RootCommand("Train denoising diffusion models and generate images with them.") { verbose };
        root.Add(TrainCommand(output, interactive));
        root.Add(GenerateCommand(output));
        root.Add(InfoCommand(output));
        root.Add(ExportCommand(output));
        root.Add(EvalCommand(output));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // An unrecognised token says more than the "required command" error it causes.
            var first = parsed.Errors.OrderBy(e => e.Message.Contains("Unrecognized", StringComparison.OrdinalIgnoreCase) ? 0 : 1).First();
            error.WriteLine($"error: {first.Message}");
            error.WriteLine("Run 'mlnet-diffusion --help' for usage.");
            return 2;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException or IOException or InvalidOperationException
            or ExternalException or TrainingDivergedException or DllNotFoundException or UnauthorizedAccessException or OnnxRuntimeException)
        {
            // An ArgumentException's message ends with " (Parameter 'name')", the library's C# parameter: not the user's option.
            var message = ex is ArgumentException { ParamName: { } name } ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
            error.WriteLine($"error: {message}");
            if (parsed.GetValue(verbose))
            {
                error.WriteLine(ex.ToString());
            }

            return 1;
        }
    }

    private static Command TrainCommand(TextWriter output, bool interactive)
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
        var rate = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 1e-3 };
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
                Fixed(batch, o.BatchSize.ToString(s_invariant), p.GetValue(batch).ToString(s_invariant));
                Fixed(schedule, ScheduleName(o.Schedule), p.GetRequiredValue(schedule));
                Fixed(prediction, PredictionName(o.PredictionType), p.GetRequiredValue(prediction));
                Fixed(conditional, o.ClassConditional ? "on" : "off", p.GetValue(conditional) ? "on" : "off");
                Fixed(seed, (o.Seed ?? 0).ToString(s_invariant), p.GetValue(seed).ToString(s_invariant));
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
            output.WriteLine(string.Create(s_invariant, $"training on {count} images ({dataChannels}×{dataSize}×{dataSize}{(classes is { } n ? $", {n} classes" : string.Empty)}){(from is null ? string.Empty : $", resuming {from}")}"));
            DiffusionTrainer.Options options;
            if (stored is null)
            {
                options = new DiffusionTrainer.Options
                {
                    ModelPreset = p.GetRequiredValue(preset),
                    MaxSteps = p.GetValue(steps),
                    BatchSize = p.GetValue(batch),
                    LearningRate = p.GetValue(rate),
                    WarmupSteps = (int)Math.Min(100, p.GetValue(steps)),
                    LearningRateSchedule = LearningRateSchedule.Cosine,
                    EmaDecay = 0.999,
                    Schedule = new NoiseScheduleOptions { Kind = Enum.Parse<BetaScheduleKind>(p.GetRequiredValue(schedule), ignoreCase: true) },
                    PredictionType = p.GetRequiredValue(prediction) switch { "sample" => PredictionType.Sample, "v" => PredictionType.VPrediction, _ => PredictionType.Epsilon },
                    Seed = p.GetValue(seed),
                    Device = p.GetRequiredValue(device),
                    Threads = p.GetValue(threads),
                    CheckpointEvery = p.GetValue(checkpointEvery),
                    SampleGridSize = p.GetValue(grid),
                };
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
                    ("--steps", o.Epochs is null ? o.MaxSteps.ToString(s_invariant) : $"{o.Epochs} epochs", options.Epochs is null ? options.MaxSteps.ToString(s_invariant) : $"{options.Epochs} epochs"),
                    ("--lr", o.LearningRate.ToString(s_invariant), options.LearningRate.ToString(s_invariant)),
                    ("--device", o.Device, options.Device),
                    ("--threads", (o.Threads ?? stored.Threads)?.ToString(s_invariant) ?? "libtorch's", (options.Threads ?? o.Threads ?? stored.Threads)?.ToString(s_invariant) ?? "libtorch's"),
                    ("--checkpoint-dir", o.CheckpointDirectory ?? "none", directory!),
                    ("--checkpoint-every", o.CheckpointEvery.ToString(s_invariant), options.CheckpointEvery.ToString(s_invariant)),
                    ("--sample-grid", o.SampleGridSize.ToString(s_invariant), options.SampleGridSize.ToString(s_invariant)),
                }.Where(change => change.Item2 != change.Item3).Select(change => $"{change.Item1} {change.Item2} → {change.Item3}").ToList();
                output.WriteLine(string.Create(s_invariant, $"resuming at step {stored.Step}{(changes.Count == 0 ? string.Empty : $" with {string.Join(", ", changes)}")}"));
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
                output.WriteLine(string.Create(s_invariant, $"trained {t.Steps} steps in {TimeSpan.FromSeconds(t.Seconds):hh\\:mm\\:ss} ({t.ImagesPerSecond:F1} images/s); wrote {path} and {report}"));
            }

            return 0;
        });
        return command;
    }

    // The sampler settings `train` fixes in the generator graph of the model file: DPM-Solver++ at its usual 20 steps, no guidance.
    private static readonly GenerationOptions s_savedSampler = new() { Sampler = SamplerKind.DpmSolverPlusPlus, Steps = null, Guidance = 1 };

    // Images per ONNX Runtime run of `generate --engine onnx` (each image depends only on its seed and label, not on the batch).
    private const int OnnxBatch = 32;

    private static Command GenerateCommand(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip.", Required = true };
        var count = new Option<int>("--count") { Description = "How many images.", DefaultValueFactory = _ => 16 };
        var outPath = new Option<string>("--out") { Description = "A .png path (one grid) or a folder (one PNG per image); a missing folder is created.", Required = true };
        var sampler = new Option<string>("--sampler") { Description = "dpm-solver++, ddim or ddpm.", DefaultValueFactory = _ => "dpm-solver++" };
        var steps = new Option<int?>("--steps") { Description = "Sampling steps (default: 20 for dpm-solver++, 50 for ddim, all for ddpm)." };
        var eta = new Option<double>("--eta") { Description = "DDIM's η (--sampler ddim only).", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Image i uses seed + i.", DefaultValueFactory = _ => 0 };
        var label = new Option<int?>("--label") { Description = "The class to generate (class-conditional models); -1 generates unconditionally." };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale, toward --label (1: none).", DefaultValueFactory = _ => 1 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda[:N] (--engine torch).", DefaultValueFactory = _ => "auto" };
        var engine = new Option<string>("--engine")
        {
            Description = "torch (TorchSharp, any sampler, any device) or onnx (the generator graph through ONNX Runtime on the CPU: the model file's graph when it fixes the sampler, steps and guidance asked for, else one built for them; ddim with η 0 or dpm-solver++).",
            DefaultValueFactory = _ => "torch",
        };
        sampler.AcceptOnlyFromAmong("dpm-solver++", "ddim", "ddpm");
        engine.AcceptOnlyFromAmong("torch", "onnx");
        var command = new Command("generate", "Generate images with a saved model.") { modelPath, count, outPath, sampler, steps, eta, seed, label, guidance, device, engine };
        command.SetAction(p =>
        {
            Check(p.GetValue(count) >= 1, $"--count must be ≥ 1, not {p.GetValue(count)}");
            Check(p.GetValue(steps) is null or >= 1, $"--steps must be ≥ 1, not {p.GetValue(steps)}");
            CheckGuidanceAndEta(p, sampler, eta, guidance);
            Check(p.GetValue(label) is not null || p.GetValue(guidance) == 1,
                $"--guidance {p.GetValue(guidance).ToString(s_invariant)} applies only with --label: guidance steers the images toward a class of a class-conditional model");
            var onnx = p.GetRequiredValue(engine) == "onnx";
            if (onnx)
            {
                // A graph is deterministic and runs on the CPU: what it cannot do is refused before any work.
                Check(p.GetRequiredValue(sampler) != "ddpm",
                    "--engine onnx runs a deterministic graph, and --sampler ddpm draws fresh noise at every step: use --sampler ddim or dpm-solver++, or --engine torch");
                Check(p.GetValue(eta) == 0,
                    $"--engine onnx runs a deterministic graph: --eta must be 0, not {p.GetValue(eta).ToString(s_invariant)} (η > 0 draws fresh noise at every step); use --engine torch");
                Check(p.GetRequiredValue(device) is "auto" or "cpu",
                    $"--device {p.GetRequiredValue(device)} applies only to --engine torch: --engine onnx runs on the CPU through ONNX Runtime");
                Check(p.GetValue(seed) <= (ulong)(long.MaxValue - (p.GetValue(count) - 1)),
                    $"--engine onnx takes seeds below 2^63: --seed {p.GetValue(seed)} with --count {p.GetValue(count)} goes past it");
            }

            var target = p.GetRequiredValue(outPath);
            var grid = target.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
            Check(grid || Path.GetExtension(target).ToLowerInvariant() is not (".jpg" or ".jpeg" or ".bmp" or ".gif" or ".webp" or ".tif" or ".tiff"),
                $"--out '{target}': generate writes PNG only; end the path with .png for one grid, or give a folder for one PNG per image");

            // The model file is read (and checked) before the output is prepared, so a file that is not a model writes nothing.
            var path = p.GetRequiredValue(modelPath);
            using var model = DiffusionModel.Load(path, onnx ? "cpu" : p.GetRequiredValue(device));
            var options = new GenerationOptions
            {
                Sampler = ParseSampler(p.GetRequiredValue(sampler)),
                Steps = p.GetValue(steps),
                Eta = p.GetValue(eta),
                Seed = p.GetValue(seed),
                Label = p.GetValue(label),
                Guidance = p.GetValue(guidance),
            };
            Image[] images;
            if (onnx)
            {
                images = GenerateOnnx(output, path, model, options, p.GetValue(count), target, grid);
            }
            else
            {
                PrepareOutput("--out", target, folder: !grid);
                using var values = model.Generate(p.GetValue(count), options);
                using (var nan = values.isnan().any())
                {
                    Check(!nan.item<bool>(), "The images hold NaN values (did sampling diverge?).", invalidOperation: true);
                }

                // Through the model's pixel encoding, rounded as the generator graph rounds: both engines write the same bytes.
                images = model.ConvertToImages(values);
            }

            if (grid)
            {
                ImageCodec.SavePng(ImageGrid.Compose(images, Math.Min(images.Length, 8)), target);
                output.WriteLine($"wrote {target}");
            }
            else
            {
                for (var i = 0; i < images.Length; i++)
                {
                    ImageCodec.SavePng(images[i], Path.Combine(target, i.ToString("D4", s_invariant) + ".png"));
                }

                output.WriteLine(string.Create(s_invariant, $"wrote {images.Length} images to {target}"));
            }

            return 0;
        });
        return command;
    }

    // `generate --engine onnx`: the model file's graph when it fixes the settings asked for, else one built for them.
    private static Image[] GenerateOnnx(TextWriter output, string path, DiffusionModel model, GenerationOptions options, int count, string target, bool grid)
    {
        long[]? labels = null;
        if (options.Label is { } label)
        {
            model.CheckLabels([label], "--label");
            labels = [.. Enumerable.Repeat((long)label, count)];
        }

        var wanted = model.GraphSettings(options);
        var fromFile = ModelFile.FixedSampler(model, path) is { } fixedIn && (fixedIn.Sampler, fixedIn.Steps, fixedIn.Guidance) == wanted;
        PrepareOutput("--out", target, folder: !grid);
        output.WriteLine(string.Create(s_invariant,
            $"engine onnx: {(fromFile ? "the graph in the model file" : "a graph built from the model's weights")}: {SamplerName(wanted.Sampler)}, {wanted.Steps} steps, guidance {wanted.Guidance}"));
        using var generator = fromFile ? OnnxGenerator.FromModelFile(path) : new OnnxGenerator(model.ToOnnx(options));
        var images = new List<Image>(count);
        for (var first = 0; first < count; first += OnnxBatch)
        {
            var n = Math.Min(OnnxBatch, count - first);
            var seeds = Enumerable.Range(first, n).Select(i => (long)options.Seed + i).ToArray();
            images.AddRange(generator.GenerateImages(seeds, labels?[first..(first + n)]));
        }

        return [.. images];
    }

    private static Command InfoCommand(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip.", Required = true };
        var command = new Command("info", "Describe a saved model.") { modelPath };
        command.SetAction(p =>
        {
            var path = p.GetRequiredValue(modelPath);
            using var model = DiffusionModel.Load(path, "cpu");
            var (bytes, version) = (new FileInfo(path).Length, model.LoadedFormatVersion);
            if (ModelFile.FixedSampler(model, path) is { } fixedIn)
            {
                output.WriteLine(string.Create(s_invariant,
                    $"file:       {path} ({bytes:N0} bytes): format version {version}, ML.NET's model zip with the generator as an ONNX graph (mlContext.Model.Load runs it)"));
                output.WriteLine(string.Create(s_invariant, $"sampler:    {SamplerName(fixedIn.Sampler)}, {fixedIn.Steps} steps, guidance {fixedIn.Guidance} (fixed in the graph)"));
            }
            else
            {
                output.WriteLine(string.Create(s_invariant,
                    $"file:       {path} ({bytes:N0} bytes): format version {version}, manifest.json and safetensors weights (no generator graph)"));
                output.WriteLine("sampler:    none fixed (no graph; generate --engine onnx builds one)");
            }

            output.WriteLine($"model:      {model.Config}");
            output.WriteLine(string.Create(s_invariant, $"parameters: {model.ParameterCount:N0}"));
            var schedule = model.ScheduleOptions;
            output.WriteLine(string.Create(s_invariant, $"schedule:   {schedule.Kind}, {schedule.TrainTimesteps} steps{(schedule.RescaleZeroTerminalSnr ? ", zero terminal SNR" : string.Empty)}; predicts {model.PredictionType}"));
            if (model.Training is { } t)
            {
                output.WriteLine(string.Create(s_invariant, $"training:   {t.Steps} steps of {t.BatchSize}, final loss {t.FinalLoss:F4}, seed {t.Seed}, {TimeSpan.FromSeconds(t.Seconds):hh\\:mm\\:ss} at {t.ImagesPerSecond:F1} images/s"));
            }

            return 0;
        });
        return command;
    }

    private static Command ExportCommand(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip.", Required = true };
        var outPath = new Option<string>("--out") { Description = "The .onnx file to write (its folder is created when missing; an existing file is replaced).", Required = true };
        var sampler = new Option<string>("--sampler") { Description = "dpm-solver++ or ddim (η 0): the graph is deterministic.", DefaultValueFactory = _ => "dpm-solver++" };
        var steps = new Option<int?>("--steps") { Description = "Sampling steps fixed in the graph (default: 20 for dpm-solver++, 50 for ddim)." };
        var eta = new Option<double>("--eta") { Description = "0 only: a graph is deterministic.", DefaultValueFactory = _ => 0 };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale fixed in the graph (class-conditional models; 1: none).", DefaultValueFactory = _ => 1 };
        sampler.AcceptOnlyFromAmong("dpm-solver++", "ddim", "ddpm");

        // What a graph cannot do is a usage error: a graph draws no noise after x_T.
        // (The tokens, not the values: a value that does not parse has its own error already.)
        sampler.Validators.Add(result =>
        {
            if (result.Tokens is [.., { Value: "ddpm" }])
            {
                result.AddError("--sampler ddpm draws fresh noise at every step, which a deterministic graph cannot: export takes --sampler ddim or dpm-solver++");
            }
        });
        eta.Validators.Add(result =>
        {
            if (result.Tokens is [.., var token] && double.TryParse(token.Value, NumberStyles.Float, s_invariant, out var value) && value != 0)
            {
                result.AddError($"--eta {token.Value}: a graph is deterministic, so export takes DDIM's η = 0 only");
            }
        });
        var command = new Command("export", "Write a model's generator as an ONNX graph: seeds (and labels) in, 0–255 pixels out.") { modelPath, outPath, sampler, steps, eta, guidance };
        command.SetAction(p =>
        {
            Check(p.GetValue(steps) is null or >= 1, $"--steps must be ≥ 1, not {p.GetValue(steps)}");
            CheckGuidance(p, guidance);
            var path = p.GetRequiredValue(modelPath);
            var target = p.GetRequiredValue(outPath);
            using var model = DiffusionModel.Load(path, "cpu");
            CheckGuidanceApplies(p, guidance, model, path, "it steers toward the label given to the graph");
            var kind = ParseSampler(p.GetRequiredValue(sampler));
            var options = new GenerationOptions { Sampler = kind, Steps = p.GetValue(steps) ?? model.DefaultSteps(kind), Guidance = p.GetValue(guidance) };
            PrepareOutput("--out", target, folder: false);
            model.ExportOnnx(target, options);
            var conditional = model.Config.NumClasses is { } classes ? string.Create(s_invariant, $" and label int64 [B, 1] (0 to {classes - 1}, −1 none)") : string.Empty;
            var (c, s) = (model.Config.InChannels, model.Config.ImageSize);
            output.WriteLine(string.Create(s_invariant,
                $"wrote {target}, {new FileInfo(target).Length:N0} bytes: {SamplerName(kind)}, {options.Steps} steps, guidance {options.Guidance}; inputs seed int64 [B, 1]{conditional}; output pixels float [B, {c}, {s}, {s}], 0–255"));
            return 0;
        });
        return command;
    }

    private static Command EvalCommand(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip of 28×28 grayscale images (the feature network is Fashion-MNIST's).", Required = true };
        var count = new Option<int>("--count") { Description = "Images to generate (FID is biased upward for small counts; the protocol uses 10000).", Required = true };
        var sampler = new Option<string>("--sampler") { Description = "dpm-solver++, ddim or ddpm.", DefaultValueFactory = _ => "dpm-solver++" };
        var steps = new Option<int?>("--steps") { Description = "Sampling steps (default: 20 for dpm-solver++, 50 for ddim, all for ddpm)." };
        var eta = new Option<double>("--eta") { Description = "DDIM's η (--sampler ddim only).", DefaultValueFactory = _ => 0 };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale (class-conditional models).", DefaultValueFactory = _ => 1 };
        var seed = new Option<ulong>("--seed") { Description = "Image i uses seed + i.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Images per generation batch.", DefaultValueFactory = _ => 100 };
        var bitsPerDim = new Option<int>("--bits-per-dim-count") { Description = "Also estimate bits/dim on the first N test images (0: no; each batch costs one network pass per training timestep).", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda[:N].", DefaultValueFactory = _ => "auto" };
        var json = new Option<string?>("--json") { Description = "Also write the results to this JSON file." };
        var cache = new Option<string?>("--cache-dir") { Description = "Where the reference statistics are cached (default ~/.cache/mlnet-diffusion)." };
        sampler.AcceptOnlyFromAmong("dpm-solver++", "ddim", "ddpm");
        var command = new Command("eval", "Measure a Fashion-MNIST model: FID against the test set, class coverage, optionally bits/dim.")
        {
            modelPath, count, sampler, steps, eta, guidance, seed, batch, bitsPerDim, device, json, cache,
        };
        command.SetAction(p =>
        {
            Check(p.GetValue(count) >= 2, $"--count must be ≥ 2 (a covariance needs two images), not {p.GetValue(count)}");
            Check(p.GetValue(count) <= 60_000, $"--count must be ≤ 60000 (the real-data floor uses that many Fashion-MNIST training images), not {p.GetValue(count)}");
            Check(p.GetValue(batch) >= 1, $"--batch-size must be ≥ 1, not {p.GetValue(batch)}");
            Check(p.GetValue(steps) is null or >= 1, $"--steps must be ≥ 1, not {p.GetValue(steps)}");
            Check(p.GetValue(bitsPerDim) is >= 0 and <= 10_000, $"--bits-per-dim-count must be in [0, 10000] (the test set), not {p.GetValue(bitsPerDim)}");
            CheckGuidanceAndEta(p, sampler, eta, guidance);

            // The model file is read (and checked) before the outputs are prepared, so a file that is not a model writes nothing.
            var path = p.GetRequiredValue(modelPath);
            using var model = DiffusionModel.Load(path, p.GetRequiredValue(device));
            CheckGuidanceApplies(p, guidance, model, path, "image i is generated as class i mod 10");
            if (p.GetValue(json) is { } jsonOutput)
            {
                PrepareOutput("--json", jsonOutput, folder: false);
            }

            if (p.GetValue(cache) is { } cacheDirectory)
            {
                PrepareOutput("--cache-dir", cacheDirectory, folder: true);
            }
            var options = new EvaluationOptions
            {
                Count = p.GetValue(count),
                BatchSize = p.GetValue(batch),
                BitsPerDimCount = p.GetValue(bitsPerDim),
                CacheDirectory = p.GetValue(cache),
                Generation = new GenerationOptions
                {
                    Sampler = ParseSampler(p.GetRequiredValue(sampler)),
                    Steps = p.GetValue(steps),
                    Eta = p.GetValue(eta),
                    Guidance = p.GetValue(guidance),
                    Seed = p.GetValue(seed),
                },
            };
            var result = DiffusionEvaluator.Evaluate(model, options, new SynchronousProgress<string>(line => output.WriteLine($"  {line}")));
            WriteSummary(output, path, model, result);
            if (p.GetValue(json) is { } jsonPath)
            {
                result.Save(jsonPath);
                output.WriteLine($"wrote {jsonPath}");
            }

            return 0;
        });
        return command;
    }

    private static void WriteSummary(TextWriter output, string path, DiffusionModel model, EvaluationResult result)
    {
        var g = result.Generation;
        output.WriteLine($"model:          {path} ({model.Config})");
        output.WriteLine(string.Create(s_invariant, $"generated:      {result.Count} images, {g.Sampler} {(g.Steps is { } n ? $"{n} steps" : "default steps")}, η {g.Eta}, guidance {g.Guidance}, seeds {g.Seed}..{g.Seed + (ulong)result.Count - 1}"));
        output.WriteLine(string.Create(s_invariant, $"FID:            {result.Fid:F3}{(result.RealDataFid is { } floor ? $"   (real-data floor at {result.Count} images: {floor:F3})" : string.Empty)}"));
        output.WriteLine("classes seen:   " + string.Join(", ", result.ClassHistogram.Select((n, c) => string.Create(s_invariant, $"{FashionMnist.ClassNames[c]} {n}"))));
        if (result.ClassAccuracy is { } accuracy)
        {
            output.WriteLine("per-class hit:  " + string.Join(", ", accuracy.Select((a, c) => string.Create(s_invariant, $"{FashionMnist.ClassNames[c]} {a:P0}"))) +
                string.Create(s_invariant, $"; mean {result.MeanClassAccuracy:P1}"));
        }

        if (result.BitsPerDim is { } bound)
        {
            output.WriteLine(string.Create(s_invariant, $"bits/dim:       {bound.Total:F4} on {result.BitsPerDimCount} test images (prior {bound.Prior:F4}, diffusion {bound.Diffusion:F4}, decoder {bound.Decoder:F4})"));
        }

        output.WriteLine(string.Create(s_invariant, $"feature net:    SHA-256 {result.FeatureNetworkSha256[..16]}…; took {result.Elapsed:hh\\:mm\\:ss}"));
    }

    private static void CheckGuidance(ParseResult p, Option<double> guidance) =>
        Check(ClassifierFreeGuidance.IsValidScale(p.GetValue(guidance)), $"--guidance must be a finite number ≥ 0, not {p.GetValue(guidance).ToString(s_invariant)}");

    // A guidance other than 1 on an unconditional model would change nothing: refused, saying why it needs classes.
    private static void CheckGuidanceApplies(ParseResult p, Option<double> guidance, DiffusionModel model, string path, string why) =>
        Check(model.Config.NumClasses is not null || p.GetValue(guidance) == 1,
            $"--guidance {p.GetValue(guidance).ToString(s_invariant)} applies only to a class-conditional model ({why}); '{path}' is unconditional");

    // Shared by generate and eval: the guidance scale's range, and η only where DDIM reads it (η 0, the default, asks for nothing).
    private static void CheckGuidanceAndEta(ParseResult p, Option<string> sampler, Option<double> eta, Option<double> guidance)
    {
        CheckGuidance(p, guidance);
        Check(p.GetValue(eta) == 0 || p.GetRequiredValue(sampler) == "ddim",
            $"--eta applies only to --sampler ddim (η is DDIM's share of fresh noise), not to {p.GetRequiredValue(sampler)}");
    }

    // Every output of every command is checked before the work that produces it: its folder is created when missing, and a
    // place that cannot be written fails at once, named as the user gave it.
    private static void PrepareOutput(string option, string path, bool folder)
    {
        try
        {
            if (folder)
            {
                OutputFolder.Prepare(path);
            }
            else
            {
                OutputFolder.PrepareFor(path);
            }
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"{option}: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new IOException($"{option}: {ex.Message}", ex);
        }
    }

    private static string ScheduleName(NoiseScheduleOptions schedule)
    {
        var name = schedule.Kind.ToString().ToLowerInvariant();
        return schedule == new NoiseScheduleOptions { Kind = schedule.Kind } ? name : $"{name} ({schedule})";
    }

    private static string PredictionName(PredictionType prediction) => prediction switch
    {
        PredictionType.Sample => "sample",
        PredictionType.VPrediction => "v",
        _ => "epsilon",
    };

    private static string SamplerName(SamplerKind sampler) => sampler switch
    {
        SamplerKind.Ddim => "ddim",
        SamplerKind.Ddpm => "ddpm",
        _ => "dpm-solver++",
    };

    private static SamplerKind ParseSampler(string name) => name switch
    {
        "ddim" => SamplerKind.Ddim,
        "ddpm" => SamplerKind.Ddpm,
        _ => SamplerKind.DpmSolverPlusPlus,
    };

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
                        task.Description = string.Create(s_invariant, $"step {p.Step}/{p.TotalSteps}  loss {p.SmoothedLoss:F4}  {p.ImagesPerSecond:F0} images/s");
                    }));
                });
            return result!;
        }

        return train(new SynchronousProgress<TrainingProgress>(p =>
        {
            var every = Math.Max(1, p.TotalSteps / 20);
            if (p.Step % every == 0 || p.Step == p.TotalSteps)
            {
                output.WriteLine(string.Create(s_invariant, $"step {p.Step}/{p.TotalSteps}  loss {p.SmoothedLoss:F4}  {p.ImagesPerSecond:F0} images/s  {p.Remaining:hh\\:mm\\:ss} left"));
            }
        }));
    }

    private static void Check(bool condition, string message, bool invalidOperation = false)
    {
        if (!condition)
        {
            throw invalidOperation ? new InvalidOperationException(message) : new ArgumentException(message);
        }
    }
}
