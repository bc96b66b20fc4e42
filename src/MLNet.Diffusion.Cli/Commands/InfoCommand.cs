using System.CommandLine;

using static MLNet.Diffusion.Cli.SharedOptions;

namespace MLNet.Diffusion.Cli.Commands;

/// <summary><c>mlnet-diffusion info</c>: describes a saved model.</summary>
internal static class InfoCommand
{
    public static Command Create(TextWriter output)
    {
        var modelPath = new Option<string>("--model") { Description = "A model .zip.", Required = true };
        var command = new Command("info", "Describe a saved model.") { modelPath };
        command.SetAction(p =>
        {
            var path = p.GetRequiredValue(modelPath);
            using var model = LoadModel(path, "cpu");
            var (bytes, version) = (new FileInfo(path).Length, model.LoadedFormatVersion);
            if (ModelFile.FixedSampler(model, path) is { } graphSettings)
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
                    : string.Create(Invariant, $"classes:    {classes}, numbered 0 to {classes - 1} (the file records no names)"));
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
}
