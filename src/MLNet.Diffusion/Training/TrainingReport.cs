using MLNet.Diffusion.Engine;
using MLNet.Diffusion.IO;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace MLNet.Diffusion.Training;

/// <summary>
/// A self-contained HTML page about a training run: the loss curve (inline SVG, raw and smoothed), the sample
/// grids written with the checkpoints (embedded as data URIs), the configuration and the timings.
/// </summary>
public static class TrainingReport
{
    private const int MaxCurvePoints = 800;

    /// <summary>Writes the report of <paramref name="result"/> to <paramref name="path"/> (to a temporary file, then renamed).</summary>
    public static void Write(string path, TrainingResult result, string title = "MLNet.Diffusion training report")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(result);
        AtomicFile.Write(path, [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(Render(result, title))]);
    }

    /// <summary>The report's HTML.</summary>
    public static string Render(TrainingResult result, string title = "MLNet.Diffusion training report")
    {
        ArgumentNullException.ThrowIfNull(result);
        var c = CultureInfo.InvariantCulture;
        var o = result.Options;
        var page = new StringBuilder();
        page.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(Encode(title)).Append("</title>\n")
            .Append("<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}")
            .Append("figure{display:inline-block;margin:0 1em 1em 0}img{image-rendering:pixelated;width:240px}</style></head><body>\n")
            .Append("<h1>").Append(Encode(title)).Append("</h1>\n");

        page.Append("<h2>Run</h2>\n<table>\n");
        Row(page, "steps", string.Create(c, $"{result.Steps:N0}{(result.Completed ? string.Empty : " (stopped early)")}"));
        Row(page, "images per step", string.Create(c, $"{o.BatchSize * o.GradientAccumulationSteps}"));
        Row(page, "wall-clock time", result.Elapsed.ToString(@"hh\:mm\:ss", c));
        Row(page, "throughput", string.Create(c, $"{result.ImagesPerSecond:F1} images/s"));
        Row(page, "final loss (mean of last 100 steps)", result.Losses.Count == 0 ? "—" : result.Losses.TakeLast(100).Average().ToString("F5", c));
        Row(page, "parameters", result.Model.ParameterCount().ToString("N0", c));
        Row(page, "model", result.Model.Config.ToString());
        Row(page, "last checkpoint", result.LastCheckpoint ?? "—");
        page.Append("</table>\n");

        page.Append("<h2>Loss</h2>\n").Append(LossCurve(result.Losses, result.Steps - result.Losses.Count));

        // Grids of this run's steps only: a folder may also hold those of a run that went further before this one resumed.
        var grids = result.Options.CheckpointDirectory is { } directory && Directory.Exists(directory)
            ? Directory.GetFiles(directory, "samples-*.png").Where(g => GridStep(Path.GetFileName(g)) <= result.Steps).Order(StringComparer.Ordinal).ToArray()
            : [];
        if (grids.Length > 0)
        {
            page.Append("<h2>Samples during training</h2>\n");
            foreach (var grid in grids)
            {
                var step = GridStep(Path.GetFileName(grid))!.Value.ToString("N0", c);
                page.Append("<figure><img alt=\"samples at step ").Append(step).Append("\" src=\"data:image/png;base64,")
                    .Append(Convert.ToBase64String(File.ReadAllBytes(grid))).Append("\"><figcaption>step ").Append(step).Append("</figcaption></figure>\n");
            }
        }

        page.Append("<h2>Configuration</h2>\n<table>\n");
        using (var options = JsonDocument.Parse(JsonSerializer.Serialize(o, JsonSettings.Options)))
        {
            foreach (var property in options.RootElement.EnumerateObject())
            {
                Row(page, property.Name, property.Value.ToString());
            }
        }

        page.Append("</table>\n</body></html>\n");
        return page.ToString();
    }

    /// <summary>The step of a sample grid's file name (<c>samples-00001000.png</c>), or null for another name.</summary>
    internal static long? GridStep(string fileName) =>
        fileName.StartsWith("samples-", StringComparison.Ordinal) && fileName.EndsWith(".png", StringComparison.Ordinal)
        && long.TryParse(fileName["samples-".Length..^".png".Length], NumberStyles.None, CultureInfo.InvariantCulture, out var step)
            ? step
            : null;

    // The raw loss (light) and an exponential moving average (dark) against the step, on a linear scale.
    private static string LossCurve(IReadOnlyList<double> losses, long firstStep)
    {
        var finite = losses.Where(double.IsFinite).ToList();
        if (finite.Count < 2)
        {
            return "<p>Not enough steps for a curve.</p>\n";
        }

        const double Width = 720, Height = 240, Margin = 40;
        var (low, high) = (Math.Min(0, finite.Min()), finite.Max());
        var stride = Math.Max(1, losses.Count / MaxCurvePoints);
        var raw = new StringBuilder();
        var smooth = new StringBuilder();
        var average = finite[0];
        var c = CultureInfo.InvariantCulture;
        for (var i = 0; i < losses.Count; i++)
        {
            if (!double.IsFinite(losses[i]))
            {
                continue;
            }

            average = (0.98 * average) + (0.02 * losses[i]);
            if (i % stride != 0 && i != losses.Count - 1)
            {
                continue;
            }

            var x = Margin + (Width - (2 * Margin)) * i / (losses.Count - 1);
            raw.Append(string.Create(c, $"{x:F1},{Y(losses[i]):F1} "));
            smooth.Append(string.Create(c, $"{x:F1},{Y(average):F1} "));
        }

        return string.Create(c,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"training loss\">" +
            $"<rect x=\"{Margin}\" y=\"{Margin / 2}\" width=\"{Width - (2 * Margin)}\" height=\"{Height - (1.5 * Margin)}\" fill=\"none\" stroke=\"#999\"/>" +
            $"<polyline fill=\"none\" stroke=\"#9cc\" stroke-width=\"1\" points=\"{raw.ToString().TrimEnd()}\"/>" +
            $"<polyline fill=\"none\" stroke=\"#036\" stroke-width=\"2\" points=\"{smooth.ToString().TrimEnd()}\"/>" +
            $"<text x=\"2\" y=\"{Margin / 2 + 10}\" font-size=\"11\">{high:G3}</text><text x=\"2\" y=\"{Height - Margin}\" font-size=\"11\">{low:G3}</text>" +
            $"<text x=\"{Margin}\" y=\"{Height - 8}\" font-size=\"11\">step {firstStep + 1}</text>" +
            $"<text x=\"{Width - Margin - 60}\" y=\"{Height - 8}\" font-size=\"11\">step {firstStep + losses.Count}</text></svg>\n");

        double Y(double loss) => (Margin / 2) + ((Height - (1.5 * Margin)) * (high - loss) / Math.Max(high - low, 1e-12));
    }

    private static void Row(StringBuilder page, string name, string value) =>
        page.Append("<tr><th>").Append(Encode(name)).Append("</th><td>").Append(Encode(value)).Append("</td></tr>\n");

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
