using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Tests.Training;

/// <summary>
/// What makes a training report readable, checked on its HTML: every chart has axis ticks with numbers on both axes and a
/// legend; no text a browser cannot wrap is longer than 80 characters; every sample grid shows tiles of at least 64 px, the
/// embedded PNG being exactly the size it is shown at (enlarged in the file, not by the browser).
/// </summary>
internal static partial class ReportStructure
{
    public static void Check(string html)
    {
        var charts = Chart().Matches(html);
        Assert.IsGreaterThanOrEqualTo(1, charts.Count, "at least the loss chart");
        foreach (Match chart in charts)
        {
            foreach (var axis in new[] { "x", "y" })
            {
                var ticks = TickLabel().Matches(chart.Value).Where(m => m.Groups[1].Value == axis).Select(m => WebUtility.HtmlDecode(m.Groups[2].Value)).ToList();
                Assert.IsGreaterThanOrEqualTo(2, ticks.Count, $"{axis} ticks of {chart.Value[..80]}");
                foreach (var tick in ticks)
                {
                    Assert.IsTrue(double.TryParse(tick, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out _), $"tick '{tick}' is a number");
                }
            }

            StringAssert.Contains(chart.Value, "<g class=\"legend\">");
            Assert.AreEqual(2, AxisTitle().Count(chart.Value), "both axes are titled");
        }

        var text = Tag().Replace(Hidden().Replace(html, " ").Replace("<wbr>", " ", StringComparison.Ordinal), " ");
        var longest = WebUtility.HtmlDecode(text).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).MaxBy(w => w.Length) ?? string.Empty;
        Assert.IsLessThanOrEqualTo(80, longest.Length, $"unbreakable text: {longest}");

        foreach (Match image in GridImage().Matches(html))
        {
            var (width, height, tile) = (int.Parse(image.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(image.Groups[2].Value, CultureInfo.InvariantCulture),
                int.Parse(image.Groups[3].Value, CultureInfo.InvariantCulture));
            Assert.IsGreaterThanOrEqualTo(64, tile, "tiles of at least 64 px");
            var png = ImageCodec.Decode(Convert.FromBase64String(image.Groups[4].Value));
            Assert.AreEqual((width, height), (png.Width, png.Height), "the PNG is as large as it is shown");
        }
    }

    [GeneratedRegex("<svg class=\"chart\".*?</svg>", RegexOptions.Singleline)]
    private static partial Regex Chart();

    [GeneratedRegex("<text class=\"tick-label (x|y)\"[^>]*>([^<]*)</text>")]
    private static partial Regex TickLabel();

    [GeneratedRegex("<text class=\"axis-title\"")]
    private static partial Regex AxisTitle();

    [GeneratedRegex("<(style|svg)[^>]*>.*?</\\1>|<img[^>]*>", RegexOptions.Singleline)]
    private static partial Regex Hidden();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tag();

    [GeneratedRegex("<img alt=\"[^\"]*\" width=\"(\\d+)\" height=\"(\\d+)\" data-tile=\"(\\d+)\" src=\"data:image/png;base64,([^\"]+)\">")]
    private static partial Regex GridImage();
}
