using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.IO;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using TorchSharp;

namespace MLNet.Diffusion.Training;

/// <summary>
/// A self-contained HTML page about a training run, for a person: what was trained and where it went, the next command,
/// the loss (per step and its mean over the run's window, <see cref="LossWindow"/>, on a log scale) and the learning rate
/// against the step, the final samples and those of each checkpoint (enlarged, with class names), the configuration as a
/// table, and the environment it ran in. Images are embedded as data URIs; nothing is fetched.
/// </summary>
public static partial class TrainingReport
{
    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;

    /// <summary>Writes the report of <paramref name="result"/> to <paramref name="path"/> (to a temporary file, then renamed).</summary>
    /// <param name="path">The HTML file to write; its folder must exist.</param>
    /// <param name="result">The finished (or stopped) run.</param>
    /// <param name="details">What the page adds to the run's record (title, dataset, model path, final grid, next steps); null: none.</param>
    public static void Write(string path, TrainingResult result, TrainingReportDetails? details = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(result);
        AtomicFile.Write(path, [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(Render(result, details))]);
    }

    /// <summary>The report's HTML (see <see cref="Write"/>).</summary>
    /// <param name="result">The finished (or stopped) run.</param>
    /// <param name="details">What the page adds to the run's record; null: none.</param>
    public static string Render(TrainingResult result, TrainingReportDetails? details = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        details ??= new TrainingReportDetails();
        var o = result.Options;
        var window = result.LossWindowSize;
        var page = new StringBuilder();
        page.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(Encode(details.Title)).Append("</title>\n<style>").Append(Style).Append("</style></head><body>\n")
            .Append("<h1>").Append(Encode(details.Title)).Append("</h1>\n");

        var status = result.Completed ? "Trained" : "Stopped after";
        page.Append("<p class=\"lead\">").Append(Encode(string.Create(s_c,
            $"{status} {result.Steps:N0} steps of {o.ImagesPerStep} images in {Duration(result.Elapsed)} on {result.Device}; final loss {result.FinalLoss:F4} (mean of the last {window} steps).")))
            .Append("</p>\n");

        page.Append("<h2>Run</h2>\n<table>\n");
        Row(page, "steps", string.Create(s_c, $"{result.Steps:N0} of {Math.Max(result.TotalSteps, result.Steps):N0}{(result.Completed ? string.Empty : " (stopped early)")}"));
        Row(page, "images per step", string.Create(s_c, $"{o.ImagesPerStep}"));
        Row(page, "training time", Duration(result.Elapsed));
        Row(page, "throughput", string.Create(s_c, $"{result.ImagesPerSecond:F1} images/s"));
        Row(page, $"final loss (mean of the last {window} steps)", result.Losses.Count == 0 ? "—" : result.FinalLoss.ToString("F5", s_c));
        Row(page, "parameters", result.EmaModel.ParameterCount().ToString("N0", s_c));
        Row(page, "network", result.EmaModel.Config.ToString());
        Row(page, "classes", ClassNames(result) is { } names ? string.Join(", ", names.Select((n, i) => string.Create(s_c, $"{i} {n}"))) : "none (unconditional)");
        if (details.Dataset is { } dataset)
        {
            Row(page, "data", dataset);
        }

        if (details.ModelPath is { } modelPath)
        {
            Row(page, "model written to", modelPath);
        }

        Row(page, "last checkpoint", result.LastCheckpoint ?? "none (no checkpoint directory)");
        page.Append("</table>\n");

        if (details.NextSteps.Count > 0)
        {
            page.Append("<h2>Next</h2>\n");
            foreach (var step in details.NextSteps)
            {
                page.Append("<pre><code>").Append(Breakable(step)).Append("</code></pre>\n");
            }
        }

        var firstStep = result.Steps - result.Losses.Count + 1;
        var target = o.PredictionType switch { ForwardProcess.PredictionType.Sample => "clean-image (x₀)", ForwardProcess.PredictionType.VPrediction => "v", _ => "noise (ε)" };
        page.Append("<h2>Loss</h2>\n<p>The training objective of each step (mean squared error of the network's ")
            .Append(Encode(target)).Append(" prediction, ").Append(Encode(o.LossWeighting.ToString().ToLowerInvariant()))
            .Append(" weighting over timesteps) and its mean over the last ").Append(window.ToString(s_c))
            .Append(" steps, max(10, total steps / 50): the loss the console prints and the final loss.</p>\n")
            .Append(ReportCharts.Render("training loss",
                [
                    new ReportCharts.Series(result.Losses, "per-step loss", "#9cc", 1),
                    new ReportCharts.Series(LossWindow.Curve(result.Losses, window), string.Create(s_c, $"mean of the last {window} steps"), "#036", 2),
                ], firstStep, "optimiser step", "loss (log scale)", logY: true) ?? "<p>Not enough steps for a curve.</p>\n");

        page.Append("<h2>Learning rate</h2>\n")
            .Append(ReportCharts.Render("learning rate", [new ReportCharts.Series(result.LearningRates, "learning rate", "#a40", 2)],
                result.Steps - result.LearningRates.Count + 1, "optimiser step", "learning rate", logY: false)
                ?? "<p>Not recorded for enough steps (a checkpoint of an earlier version records no rates).</p>\n");

        Evaluations(page, result);
        Samples(page, result, details);

        page.Append("<h2>Configuration</h2>\n<table>\n");
        using (var options = JsonDocument.Parse(JsonSerializer.Serialize(o, JsonSettings.Options)))
        {
            foreach (var (name, value) in Flatten(string.Empty, options.RootElement))
            {
                Row(page, name, value);
            }
        }

        page.Append("</table>\n<h2>Environment</h2>\n<table>\n");
        Row(page, "written", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", s_c));
        Row(page, "MLNet.Diffusion", Version(typeof(TrainingReport).Assembly));
        Row(page, "TorchSharp", $"{Version(typeof(torch).Assembly)} (libtorch {torch.__version__})");
        Row(page, ".NET", RuntimeInformation.FrameworkDescription);
        Row(page, "operating system", RuntimeInformation.OSDescription);
        Row(page, "CPU", string.Create(s_c, $"{CpuName()}, {Environment.ProcessorCount} logical processors"));
        Row(page, "threads", string.Create(s_c, $"{result.Threads} (libtorch intra-op)"));
        Row(page, "device", result.Device);
        page.Append("</table>\n</body></html>\n");
        return page.ToString();
    }

    /// <summary>The step of a sample grid's file name (<c>samples-00001000.png</c>), or null for another name.</summary>
    internal static long? GridStep(string fileName) =>
        fileName.StartsWith("samples-", StringComparison.Ordinal) && fileName.EndsWith(".png", StringComparison.Ordinal)
        && long.TryParse(fileName["samples-".Length..^".png".Length], NumberStyles.None, CultureInfo.InvariantCulture, out var step)
            ? step
            : null;

    // The evaluation curve (DdpmTrainerOptions.EvaluateEvery): KID with its spread at each evaluated step, and which was best.
    private static void Evaluations(StringBuilder page, TrainingResult result)
    {
        var points = result.Evaluations;
        if (points.Count == 0)
        {
            return;
        }

        var o = result.Options;
        var best = points.MinBy(e => e.Kid)!;
        var steps = points.Select(e => e.Step).ToArray();
        page.Append("<h2>Evaluation</h2>\n<p>")
            .Append(Encode(string.Create(s_c,
                $"KID (lower is better) of the moving-average model's {o.EvaluationCount} images (seeds 0 to {o.EvaluationCount - 1}, DPM-Solver++ at its default {Sampling.Samplers.DefaultSteps(Sampling.Samplers.DpmSolverPlusPlus, o.Schedule.TrainTimesteps)} steps) against a fixed random set of as many training images{(o.EvaluateEvery > 0 ? $", every {o.EvaluateEvery} steps and at the last" : string.Empty)}; the band is ± one standard deviation over KID's 100 subsets (none when a subset is the whole set, up to 1,000 images). ")))
            .Append(Encode(string.Create(s_c, $"Best: step {best.Step:N0}, KID {best.Kid:F5}{(Metrics.KidEstimate.HasSpreadOf(best.Kid, best.KidStandardDeviation) ? $" ± {best.KidStandardDeviation:F5}" : string.Empty)}")))
            .Append(o.CheckpointDirectory is null ? "." : " (best.zip in the checkpoint directory).")
            .Append("</p>\n")
            .Append(ReportCharts.Render("evaluation: KID",
                points.Any(e => Metrics.KidEstimate.HasSpreadOf(e.Kid, e.KidStandardDeviation))
                    ? [
                        new ReportCharts.Series([.. points.Select(e => e.Kid + e.KidStandardDeviation)], "+1 std", "#bbb", 1) { Steps = steps },
                        new ReportCharts.Series([.. points.Select(e => e.Kid)], "KID", "#606", 2) { Steps = steps },
                        new ReportCharts.Series([.. points.Select(e => e.Kid - e.KidStandardDeviation)], "−1 std", "#bbb", 1) { Steps = steps },
                    ]
                    : [new ReportCharts.Series([.. points.Select(e => e.Kid)], "KID", "#606", 2) { Steps = steps }],
                steps[0], "optimiser step", "KID", logY: false) ?? "<p>One evaluation so far: no curve yet.</p>\n");
    }

    // The final grid first (the one given, the last checkpoint's, or one sampled now from the moving average), then the grids
    // of this run's checkpoints; a folder may also hold those of a run that went further before this one resumed.
    private static void Samples(StringBuilder page, TrainingResult result, TrainingReportDetails details)
    {
        var o = result.Options;
        var tile = result.EmaModel.Config.ImageSize;
        var columns = ClassNames(result);
        var grids = o.CheckpointDirectory is { } directory && Directory.Exists(directory)
            ? Directory.GetFiles(directory, "samples-*.png").Where(g => GridStep(Path.GetFileName(g)) <= result.Steps).Order(StringComparer.Ordinal).ToList()
            : [];
        page.Append("<h2>Samples</h2>\n");
        if (details.FinalGrid is { } finalGrid)
        {
            page.Append(ReportGrids.Figure(ImageCodec.Load(finalGrid), tile, details.FinalGridCaption ?? $"final samples ({Path.GetFileName(finalGrid)})", rowNames: details.FinalGridRows));
        }
        else if (grids.Count > 0 && GridStep(Path.GetFileName(grids[^1])) == result.Steps)
        {
            page.Append(ReportGrids.Figure(ImageCodec.Load(grids[^1]), tile, string.Create(s_c, $"final samples (step {result.Steps:N0})"), columns));
            grids.RemoveAt(grids.Count - 1);
        }
        else if (o.SampleGridSize > 0)
        {
            var device = result.EmaModel.parameters().First().device;
            var grid = new SampleGridWriter(result.EmaModel.Config, device, result.Schedule, o).Render(result.EmaModel);
            page.Append(ReportGrids.Figure(grid, tile, string.Create(s_c, $"final samples (step {result.Steps:N0}, moving-average weights)"), columns));
        }
        else
        {
            page.Append("<p>None (SampleGridSize is 0).</p>\n");
        }

        if (grids.Count > 0)
        {
            page.Append("<h3>During training</h3>\n<p>DDIM, 50 steps, from the moving-average weights, the same seeds at every checkpoint")
                .Append(columns is null ? string.Empty : "; one column per class").Append(".</p>\n");
            foreach (var grid in grids)
            {
                page.Append(ReportGrids.Figure(ImageCodec.Load(grid), tile, string.Create(s_c, $"step {GridStep(Path.GetFileName(grid)):N0}"), columns));
            }
        }
    }

    // The classes' names, numbers when the run recorded none; null for an unconditional run.
    private static IReadOnlyList<string>? ClassNames(TrainingResult result) =>
        result.EmaModel.Config.NumClasses is not { } classes ? null
            : result.Options.ClassNames ?? [.. Enumerable.Range(0, classes).Select(i => i.ToString(s_c))];

    // Nested settings as rows of their own ("Schedule.Kind"); long lists of numbers summarised.
    private static IEnumerable<(string Name, string Value)> Flatten(string prefix, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    foreach (var row in Flatten(prefix + property.Name + ".", property.Value))
                    {
                        yield return row;
                    }
                }

                break;
            case JsonValueKind.Array:
                var items = element.EnumerateArray().ToList();
                yield return (prefix.TrimEnd('.'), items.Count > 8 && items.All(i => i.ValueKind == JsonValueKind.Number)
                    ? string.Create(s_c, $"{items.Count} values from {items[0].GetDouble():G4} to {items[^1].GetDouble():G4}")
                    : items.Count == 0 ? "none" : string.Join(", ", items.Select(i => i.ToString())));
                break;
            case JsonValueKind.Null:
                yield return (prefix.TrimEnd('.'), "—");
                break;
            default:
                yield return (prefix.TrimEnd('.'), element.ToString());
                break;
        }
    }

    private static string Duration(TimeSpan time) => time.TotalHours >= 1
        ? string.Create(s_c, $"{(int)time.TotalHours} h {time.Minutes:D2} min")
        : time.TotalMinutes >= 1 ? string.Create(s_c, $"{(int)time.TotalMinutes} min {time.Seconds:D2} s") : string.Create(s_c, $"{time.TotalSeconds:F1} s");

    private static string Version(Assembly assembly)
    {
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "unknown";
        return version.IndexOf('+', StringComparison.Ordinal) is var plus and > 0 && version.Length > plus + 13 ? version[..(plus + 13)] : version;
    }

    // The processor's name where the system says it (Linux), else its architecture.
    private static string CpuName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo")
                && File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } line)
            {
                return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static void Row(StringBuilder page, string name, string value) =>
        page.Append("<tr><th>").Append(Encode(name)).Append("</th><td>").Append(Breakable(value)).Append("</td></tr>\n");

    // Encoded text whose long unbroken runs (paths, lists without spaces) may wrap after a separator, so no cell is wider than the page.
    private static string Breakable(string text) =>
        LongRun().Replace(Encode(text), m => SeparatorAfter().Replace(m.Value, "$0<wbr>"));

    [GeneratedRegex(@"[^\s<>]{41,}")]
    private static partial Regex LongRun();

    [GeneratedRegex(@"[/\\,_.=:-]")]
    private static partial Regex SeparatorAfter();

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private const string Style =
        "body{font-family:system-ui,sans-serif;margin:1.5em;max-width:64em;line-height:1.4;color:#222}" +
        "table{border-collapse:collapse;margin-bottom:1em;max-width:100%}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}" +
        "th{font-weight:600;white-space:nowrap}td{overflow-wrap:anywhere}" +
        "pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;overflow-wrap:anywhere}.lead{font-size:1.1em}" +
        "svg.chart{width:100%;max-width:760px;height:auto;display:block}" +
        "figure.grid{margin:0 0 1.2em 0}figure.grid .scroll{overflow-x:auto;max-width:100%}figure.grid img{image-rendering:pixelated;display:block}" +
        ".col-names{display:flex;font-size:12px}.col-names span,.row-names span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
        ".col-names span{flex:none;text-align:center}.row-grid{display:flex;gap:.5em}.row-names{display:flex;flex-direction:column;font-size:12px;text-align:right;max-width:10em}" +
        "figcaption{font-size:.9em;color:#555}";
}
