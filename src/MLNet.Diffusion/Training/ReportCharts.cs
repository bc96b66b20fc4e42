using System.Globalization;
using System.Text;

namespace MLNet.Diffusion.Training;

/// <summary>
/// The report's line charts as inline SVG: axes with ticks and values, axis titles, a legend, a linear or log-10 y axis.
/// The drawing scales to the page's width (viewBox), so a narrow window shrinks it rather than overflowing.
/// </summary>
internal static class ReportCharts
{
    private const double Width = 760, Height = 300, Left = 72, Right = 16, Top = 16, Bottom = 48;
    private const int MaxPoints = 800;
    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;

    /// <summary>One line of a chart: its values by index (NaN: no point), its legend text and its look.</summary>
    public sealed record Series(IReadOnlyList<double> Values, string Legend, string Color, double StrokeWidth)
    {
        /// <summary>The step of each value, for a series measured now and then; null: consecutive steps from the chart's first.</summary>
        public IReadOnlyList<long>? Steps { get; init; }
    }

    /// <summary>
    /// A chart of <paramref name="series"/> against steps <paramref name="firstStep"/>, <paramref name="firstStep"/> + 1, ...;
    /// null when no series has two finite (and, on a log axis, positive) values.
    /// </summary>
    public static string? Render(string label, IReadOnlyList<Series> series, long firstStep, string xTitle, string yTitle, bool logY)
    {
        bool Usable(double v) => double.IsFinite(v) && (!logY || v > 0);
        var values = series.SelectMany(s => s.Values).Where(Usable).ToList();
        var count = series.Max(s => s.Values.Count);
        if (values.Count < 2 || count < 2)
        {
            return null;
        }

        var (xLow, xHigh) = ((double)firstStep, (double)(firstStep + count - 1));
        if (series.Any(s => s.Steps is not null))
        {
            xLow = series.Min(s => s.Steps is { Count: > 0 } steps ? steps[0] : firstStep);
            xHigh = Math.Max(xLow + 1, series.Max(s => s.Steps is { Count: > 0 } steps ? steps[^1] : firstStep + s.Values.Count - 1));
        }

        var xTicks = LinearTicks(xLow, xHigh, expand: false);
        var (yTicks, yLow, yHigh) = logY ? LogTicks(values.Min(), values.Max()) : NiceLinear(Math.Min(0, values.Min()), values.Max());
        double X(double step) => Left + ((Width - Left - Right) * (step - xLow) / Math.Max(xHigh - xLow, 1e-12));
        double Y(double v)
        {
            var (a, b, t) = logY ? (Math.Log10(yLow), Math.Log10(yHigh), Math.Log10(v)) : (yLow, yHigh, v);
            return Top + ((Height - Top - Bottom) * (b - t) / Math.Max(b - a, 1e-12));
        }

        var svg = new StringBuilder();
        svg.Append(string.Create(s_c, $"<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{label}\" font-size=\"12\">"));
        svg.Append(string.Create(s_c, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Width - Left - Right}\" height=\"{Height - Top - Bottom}\" fill=\"none\" stroke=\"#999\"/>"));
        foreach (var tick in xTicks)
        {
            var x = X(tick);
            svg.Append(string.Create(s_c, $"<line class=\"tick x\" x1=\"{x:F1}\" x2=\"{x:F1}\" y1=\"{Height - Bottom}\" y2=\"{Height - Bottom + 5}\" stroke=\"#666\"/>"))
                .Append(string.Create(s_c, $"<text class=\"tick-label x\" x=\"{x:F1}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{tick.ToString("#,0", s_c)}</text>"));
        }

        var scientific = yTicks.Any(t => t != 0 && Math.Abs(t) is < 1e-3 or >= 1e5);
        foreach (var tick in yTicks)
        {
            var y = Y(tick);
            svg.Append(string.Create(s_c, $"<line class=\"tick y\" x1=\"{Left - 5}\" x2=\"{Width - Right}\" y1=\"{y:F1}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>"))
                .Append(string.Create(s_c, $"<text class=\"tick-label y\" x=\"{Left - 8}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Number(tick, scientific)}</text>"));
        }

        svg.Append(string.Create(s_c, $"<text class=\"axis-title\" x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\">{Encode(xTitle)}</text>"))
            .Append(string.Create(s_c, $"<text class=\"axis-title\" transform=\"translate(16 {(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">{Encode(yTitle)}</text>"));

        var stride = Math.Max(1, count / MaxPoints);
        foreach (var line in series)
        {
            var points = new StringBuilder();
            for (var i = 0; i < line.Values.Count; i++)
            {
                var step = line.Steps is { } steps ? steps[i] : firstStep + i;
                if ((line.Steps is not null || i % stride == 0 || i == line.Values.Count - 1) && Usable(line.Values[i]))
                {
                    points.Append(string.Create(s_c, $"{X(step):F1},{Y(line.Values[i]):F1} "));
                    if (line.Steps is not null)
                    {
                        // Measured points are few: each gets a dot.
                        svg.Append(string.Create(s_c, $"<circle cx=\"{X(step):F1}\" cy=\"{Y(line.Values[i]):F1}\" r=\"{line.StrokeWidth + 1}\" fill=\"{line.Color}\"/>"));
                    }
                }
            }

            svg.Append(string.Create(s_c, $"<polyline fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"{line.StrokeWidth}\" points=\"{points.ToString().TrimEnd()}\"/>"));
        }

        // The legend, top right inside the plot: a swatch and the text of each series.
        // Text is about 0.6 em wide per character in the page's sans-serif at 12 px; the box is sized from that, with room to spare.
        var boxWidth = 26 + 8 + (series.Max(s => s.Legend.Length) * 7.2);
        var (lx, ly) = (Width - Right - boxWidth - 4, Top + 8);
        svg.Append(string.Create(s_c, $"<g class=\"legend\"><rect x=\"{lx - 6:F1}\" y=\"{ly - 4}\" width=\"{boxWidth:F1}\" height=\"{(series.Count * 18) + 6}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>"));
        for (var i = 0; i < series.Count; i++)
        {
            var y = ly + 9 + (i * 18);
            svg.Append(string.Create(s_c, $"<line x1=\"{lx:F1}\" x2=\"{lx + 20:F1}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{series[i].Color}\" stroke-width=\"{Math.Max(2, series[i].StrokeWidth)}\"/>"))
                .Append(string.Create(s_c, $"<text x=\"{lx + 26:F1}\" y=\"{y + 4}\">{Encode(series[i].Legend)}</text>"));
        }

        return svg.Append("</g></svg>\n").ToString();
    }

    /// <summary>Ticks at 1, 2 or 5 × 10^k inside [low, high] (about five), the axis kept at the data's range.</summary>
    internal static List<double> LinearTicks(double low, double high, bool expand)
    {
        var step = NiceStep((high - low) / 5);
        var first = expand ? Math.Floor(low / step) * step : Math.Ceiling(low / step) * step;
        var ticks = new List<double>();
        for (var t = first; t <= high + (step * 1e-9); t += step)
        {
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        }

        return ticks;
    }

    // A linear axis from nice bounds around [low, high], with its ticks.
    private static (List<double> Ticks, double Low, double High) NiceLinear(double low, double high)
    {
        if (high <= low)
        {
            high = low + Math.Max(Math.Abs(low), 1e-12);
        }

        var step = NiceStep((high - low) / 5);
        var (niceLow, niceHigh) = (Math.Floor(low / step) * step, Math.Ceiling(high / step) * step);
        return (LinearTicks(niceLow, niceHigh, expand: true), niceLow, niceHigh);
    }

    /// <summary>
    /// A log-10 axis from the nearest 1, 2 or 5 × 10^k at or outside [low, high], with ticks at those values (only the powers
    /// of ten when they would be more than eight).
    /// </summary>
    internal static (List<double> Ticks, double Low, double High) LogTicks(double low, double high)
    {
        var candidates = new List<double>();
        for (var k = (int)Math.Floor(Math.Log10(low)) - 1; k <= (int)Math.Ceiling(Math.Log10(high)) + 1; k++)
        {
            foreach (var m in new[] { 1.0, 2.0, 5.0 })
            {
                candidates.Add(m * Math.Pow(10, k));
            }
        }

        var axisLow = candidates.Where(v => v <= low * (1 + 1e-12)).DefaultIfEmpty(low).Max();
        var axisHigh = candidates.Where(v => v >= high * (1 - 1e-12)).DefaultIfEmpty(high).Min();
        if (axisHigh <= axisLow)
        {
            axisHigh = candidates.First(v => v > axisLow);
        }

        var ticks = candidates.Where(v => v >= axisLow * (1 - 1e-12) && v <= axisHigh * (1 + 1e-12)).ToList();
        if (ticks.Count > 8)
        {
            ticks = ticks.Where(v => Math.Abs(Math.Log10(v) - Math.Round(Math.Log10(v))) < 1e-9).ToList();
        }

        return (ticks, axisLow, axisHigh);
    }

    private static double NiceStep(double rough)
    {
        if (!(rough > 0) || !double.IsFinite(rough))
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var fraction = rough / power;
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
    }

    // A tick value in few characters, one notation per axis: 0.05, 1.2 or 2e-4, 1e5.
    internal static string Number(double v, bool scientific) =>
        v == 0 ? "0" : !scientific ? v.ToString("0.###", s_c) : v.ToString("0.#e+0", s_c).Replace("e+", "e", StringComparison.Ordinal);

    private static string Encode(string text) => System.Net.WebUtility.HtmlEncode(text);
}
