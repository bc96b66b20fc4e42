using System.CommandLine;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary><c>mlnet-diffusion info</c>: describes a saved model, or a training checkpoint read as one.</summary>
internal static class InfoCommand
{
    public static Command Create(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip, or a training checkpoint (its moving-average weights).", Required = true };
        var command = new Command("info", "Describe a saved model.") { modelPath };
        command.SetAction(p =>
        {
            var path = p.GetRequiredValue(modelPath);
            using var model = LoadModel(path, "cpu", out var checkpoint);
            var (bytes, version) = (new FileInfo(path).Length, model.LoadedFormatVersion);
            var recordedBy = checkpoint is null ? "file" : "checkpoint";
            if (checkpoint is not null)
            {
                output.WriteLine(string.Create(Invariant,
                    $"file:       {path} ({bytes:N0} bytes): a training checkpoint at {CheckpointStep(checkpoint)}, read as a model of its moving-average weights; {ResumeHint(path)} continues its run"));
                output.WriteLine("sampler:    none fixed (a checkpoint holds no graph; export and generate --engine onnx build one)");
            }
            else if (ModelFile.FixedSampler(model, path) is { } graphSettings)
            {
                output.WriteLine(string.Create(Invariant,
                    $"file:       {path} ({bytes:N0} bytes): format version {version}, ML.NET's model zip with the generator as an ONNX graph (mlContext.Model.Load runs it)"));
                output.WriteLine(string.Create(Invariant, $"sampler:    {SamplerName(graphSettings.Sampler)}, {graphSettings.Steps} steps, guidance {graphSettings.Guidance} (fixed in the graph)"));
            }
            else
            {
                output.WriteLine(string.Create(Invariant,
                    $"file:       {path} ({bytes:N0} bytes): format version {version}, manifest.json and safetensors weights (no generator graph)"));
                output.WriteLine("sampler:    none fixed (no graph; generate --engine onnx builds one)");
            }

            output.WriteLine($"model:      {model.Config}");
            output.WriteLine(string.Create(Invariant, $"parameters: {model.ParameterCount:N0}"));
            if (model.Config.NumClasses is { } classes)
            {
                output.WriteLine(model.ClassNames is { } names
                    ? "classes:    " + string.Join(", ", names.Select((n, c) => string.Create(Invariant, $"{c} {n}")))
                    : string.Create(Invariant, $"classes:    {classes}, numbered 0 to {classes - 1} (the {recordedBy} records no names)"));
            }

            if (checkpoint is not null)
            {
                // Model files always say how their values become pixels; checkpoints of earlier versions do not.
                output.WriteLine(checkpoint.Options.PixelEncoding is null
                    ? "pixels:     pixel encoding not recorded (read as model space, [-1, 1])"
                    : "pixels:     " + PixelsText(model.Preprocessing));
            }

            var schedule = model.ScheduleOptions;
            output.WriteLine(string.Create(Invariant, $"schedule:   {schedule.Kind}, {schedule.TrainTimesteps} steps{(schedule.RescaleZeroTerminalSnr ? ", zero terminal SNR" : string.Empty)}; predicts {model.PredictionType}"));
            if (model.Training is { } t)
            {
                output.WriteLine(string.Create(Invariant, $"training:   {t.Steps} steps of {t.BatchSize}, final loss {t.FinalLoss:F4}, seed {t.Seed}, {TimeSpan.FromSeconds(t.Seconds):hh\\:mm\\:ss} at {t.ImagesPerSecond:F1} images/s"));
            }

            return 0;
        });
        return command;
    }

    // "Gray, value = (pixel − 127.5) × 0.007843137, [-1, 1]", with the resizing when recorded.
    private static string PixelsText(Images.PixelEncoding encoding)
    {
        var (min, max) = encoding.Range;
        return string.Create(Invariant,
            $"{encoding.Colors}, value = (pixel − {encoding.OffsetImage}) × {encoding.ScaleImage}, [{min:0.###}, {max:0.###}]{(encoding.Resizing is { } mode ? $", resized by {mode}" : string.Empty)}");
    }
}
