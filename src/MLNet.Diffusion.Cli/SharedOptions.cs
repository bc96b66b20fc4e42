using System.CommandLine;
using System.Globalization;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Cli;

/// <summary>The options, checks and names the commands share: each rule stated once.</summary>
internal static class SharedOptions
{
    /// <summary>Numbers in messages and file names, whatever the user's culture.</summary>
    public static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static void Check(bool condition, string message, bool invalidOperation = false)
    {
        if (!condition)
        {
            throw invalidOperation ? new InvalidOperationException(message) : new ArgumentException(message);
        }
    }

    public static void CheckGuidance(ParseResult p, Option<double> guidance) =>
        Check(ClassifierFreeGuidance.IsValidScale(p.GetValue(guidance)), $"--guidance must be a finite number ≥ 0, not {p.GetValue(guidance).ToString(Invariant)}");

    // A guidance other than 1 on an unconditional model would change nothing: refused, saying why it needs classes.
    public static void CheckGuidanceApplies(ParseResult p, Option<double> guidance, DiffusionModel model, string path, string why) =>
        Check(model.Config.NumClasses is not null || p.GetValue(guidance) == 1,
            $"--guidance {p.GetValue(guidance).ToString(Invariant)} applies only to a class-conditional model ({why}); '{path}' is unconditional");

    public static Option<double> ChurnOption() => new("--churn")
    {
        Description = "EDM's S_churn for --sampler heun or euler: noise added back before every step, from each image's own seed (0, the default: deterministic). γ = min(churn/steps, 0.414), so any value from 0.414 × steps gives the same images.",
        DefaultValueFactory = _ => 0,
    };

    // Shared by generate and eval: the guidance scale's range, and η and churn only where DDIM or Euler/Heun read them (0, the
    // default, asks for nothing).
    public static void CheckGuidanceEtaAndChurn(ParseResult p, Option<string> sampler, Option<double> eta, Option<double> churn, Option<double> guidance)
    {
        CheckGuidance(p, guidance);
        Check(p.GetValue(eta) == 0 || ParseSampler(p.GetRequiredValue(sampler)) == SamplerKind.Ddim,
            $"--eta applies only to --sampler ddim (η is DDIM's share of fresh noise), not to {p.GetRequiredValue(sampler)}");
        Check(p.GetValue(churn) is >= 0 and < double.PositiveInfinity, $"--churn must be a finite number ≥ 0, not {p.GetValue(churn).ToString(Invariant)}");
        Check(p.GetValue(churn) == 0 || ParseSampler(p.GetRequiredValue(sampler)).TakesChurn(),
            $"--churn applies only to --sampler heun or euler (EDM's S_churn), not to {p.GetRequiredValue(sampler)}");
    }

    // Every output of every command is checked before the work that produces it: its folder is created when missing, and a
    // place that cannot be written fails at once, named as the user gave it.
    public static void PrepareOutput(string option, string path, bool folder)
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

    public static string ScheduleName(NoiseScheduleOptions schedule)
    {
        var name = schedule.Kind.ToString().ToLowerInvariant();
        return schedule == new NoiseScheduleOptions { Kind = schedule.Kind } ? name : $"{name} ({schedule})";
    }

    public static string PredictionName(PredictionType prediction) => prediction switch
    {
        PredictionType.Sample => "sample",
        PredictionType.VPrediction => "v",
        _ => "epsilon",
    };

    /// <summary>The sampler's name on the command line (the library's <see cref="SamplerKindExtensions.ToName"/>).</summary>
    public static string SamplerName(SamplerKind sampler) => sampler.ToName();

    /// <summary>The sampler a <c>--sampler</c> value names (one <see cref="SamplerOption"/> accepted).</summary>
    public static SamplerKind ParseSampler(string name) => SamplerKindExtensions.ParseName(name);

    /// <summary><c>--sampler</c>: the library's sampler names, DPM-Solver++ by default.</summary>
    public static Option<string> SamplerOption(string description)
    {
        var option = new Option<string>("--sampler") { Description = description, DefaultValueFactory = _ => SamplerKind.DpmSolverPlusPlus.ToName() };
        option.AcceptOnlyFromAmong([.. SamplerKindExtensions.Names]);
        return option;
    }

    /// <summary><c>--steps</c> of sampling, checked by <see cref="CheckSteps"/>; none: the sampler's usual count.</summary>
    public static Option<int?> StepsOption(string description) => new("--steps") { Description = description };

    /// <summary>
    /// The model file at <paramref name="path"/>, read onto <paramref name="device"/>; a training checkpoint given instead is
    /// read as a model of its moving-average weights, which one line on <paramref name="output"/> says, with the command that
    /// continues its run.
    /// </summary>
    public static DiffusionModel LoadModel(string path, string device, TextWriter output)
    {
        var model = LoadModel(path, device, out var checkpoint);
        if (checkpoint is not null)
        {
            output.WriteLine($"'{path}' is a training checkpoint ({CheckpointStep(checkpoint)}): using its moving-average weights; {ResumeHint(path)} continues its run");
        }

        return model;
    }

    /// <summary>
    /// The model file at <paramref name="path"/>, or the model of a training checkpoint's moving-average weights, whose
    /// manifest <paramref name="checkpoint"/> then is (null for a model file).
    /// </summary>
    public static DiffusionModel LoadModel(string path, string device, out TrainingCheckpoint? checkpoint)
    {
        checkpoint = null;
        try
        {
            return DiffusionModel.Load(path, device);
        }
        catch (InvalidDataException) when (TrainingCheckpoint.IsCheckpointFile(path))
        {
            // Only a file that is not a model is probed as a checkpoint.
            checkpoint = TrainingCheckpoint.Read(path);
            return DiffusionModel.FromCheckpoint(path, device);
        }
    }

    /// <summary>"step 200 of 1000": how far the checkpoint's run got.</summary>
    public static string CheckpointStep(TrainingCheckpoint checkpoint) =>
        string.Create(Invariant, $"step {checkpoint.Step}{(checkpoint.TotalSteps() is { } total ? $" of {total}" : string.Empty)}");

    /// <summary>The command that continues the run of the checkpoint at <paramref name="path"/>.</summary>
    public static string ResumeHint(string path) =>
        $"`mlnet-diffusion train --resume --checkpoint-dir {Path.GetDirectoryName(Path.GetFullPath(path))}` (with the run's --data and --out)";

    /// <summary>
    /// Refuses a <c>--device</c> this process cannot use before any work, in the tool's terms: the tool carries libtorch
    /// for the CPU, so a GPU is only for apps that reference a TorchSharp CUDA package.
    /// </summary>
    public static void CheckDevice(ParseResult p, Option<string> device)
    {
        var name = p.GetRequiredValue(device);
        if (name is "auto" or "cpu")
        {
            return;
        }

        try
        {
            Engine.Devices.EnsureAvailable(Engine.Devices.Parse(name));
        }
        catch (InvalidOperationException ex) when (!TorchSharp.torch.cuda.is_available())
        {
            throw new InvalidOperationException(
                $"--device {name}: CUDA is not available to mlnet-diffusion, which runs libtorch for the CPU (a GPU takes an app that references " +
                "the MLNet.Diffusion library and a TorchSharp CUDA package); use --device cpu or auto.", ex);
        }
    }

    /// <summary>
    /// The class a <c>--label</c> names: a class name of the model wins, then a number (0 to classes − 1, or −1 for an
    /// unconditional image), so that folders named "1", "10", "2" are found by name. Anything else is refused, listing
    /// the classes.
    /// </summary>
    public static int ClassIndex(DiffusionModel model, string label)
    {
        if (model.ClassNames is { } names && names.ToList().IndexOf(label) is var index and >= 0)
        {
            return index;
        }

        if (int.TryParse(label, NumberStyles.Integer, Invariant, out var number)
            && (number == GenerationOptions.UnconditionalLabel || (model.Config.NumClasses is { } classCount && number >= 0 && number < classCount)))
        {
            return number;
        }

        var classes = model.Config.NumClasses is not { } count ? "the model is unconditional and takes no --label"
            : model.ClassNames is { } known ? $"its classes are {string.Join(", ", known.Select((n, i) => string.Create(Invariant, $"{i} {n}")))}"
            : string.Create(Invariant, $"the model records no class names: give a number from 0 to {count - 1}");
        throw new ArgumentException($"--label '{label}' is not a class of this model: {classes} (or -1 for an unconditional image).");
    }

    /// <summary>Whether the command line gave <paramref name="option"/> (rather than leaving it at its default).</summary>
    public static bool Given(this ParseResult p, Option option) => p.GetResult(option) is { Implicit: false };

    /// <summary>Refuses a sampling step count below 1.</summary>
    public static void CheckSteps(ParseResult p, Option<int?> steps) =>
        Check(p.GetValue(steps) is null or >= DiffusionSampler.MinSteps, $"--steps must be ≥ {DiffusionSampler.MinSteps}, not {p.GetValue(steps)}");
}
