using System.Globalization;
using System.Net;
using System.Text;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion.Training;

/// <summary>
/// The report's sample grids: enlarged by nearest neighbour to tiles of at least <see cref="MinTile"/> pixels (in the PNG
/// itself, so no browser smoothing or scaling is involved), with the class of each column or the label of each row above
/// or beside its tiles. A grid wider than the page scrolls inside its own box.
/// </summary>
internal static class ReportGrids
{
    /// <summary>The smallest tile shown, in CSS pixels.</summary>
    public const int MinTile = 64;

    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;

    /// <summary>
    /// A figure of <paramref name="grid"/> (tiles of <paramref name="tile"/> px with <see cref="ImageGrid.DefaultPadding"/>
    /// between them), with <paramref name="columnNames"/> over its columns or <paramref name="rowNames"/> beside its rows when
    /// given and the grid's layout is as expected.
    /// </summary>
    public static string Figure(Image grid, int tile, string caption, IReadOnlyList<string>? columnNames = null, IReadOnlyList<string>? rowNames = null)
    {
        // The grid as ImageGrid composes it, possibly already enlarged by a whole factor: the smallest factor whose layout fits.
        var scale = Enumerable.Range(1, 8).FirstOrDefault(s => Layout(grid, tile * s, ImageGrid.DefaultPadding * s).Regular, 1);
        var (scaledTile, pad) = (tile * scale, ImageGrid.DefaultPadding * scale);
        var (columns, rows, regular) = Layout(grid, scaledTile, pad);
        var factor = Math.Clamp((MinTile + scaledTile - 1) / scaledTile, 1, 16);
        var large = ImageGrid.Upscale(grid, factor);
        var (cell, gap) = (scaledTile * factor, pad * factor);
        var html = new StringBuilder("<figure class=\"grid\"><div class=\"scroll\">");
        if (regular && columnNames is { Count: > 0 })
        {
            html.Append(string.Create(s_c, $"<div class=\"col-names\" style=\"padding-left:{gap}px;gap:{gap}px\">"));
            for (var c = 0; c < columns; c++)
            {
                var name = columnNames[c % columnNames.Count];
                html.Append(string.Create(s_c, $"<span style=\"width:{cell}px\" title=\"{Encode(name)}\">{Encode(name)}</span>"));
            }

            html.Append("</div>");
        }

        var labelled = regular && rowNames is { Count: > 0 } && rowNames.Count >= rows;
        if (labelled)
        {
            html.Append(string.Create(s_c, $"<div class=\"row-grid\"><div class=\"row-names\" style=\"padding-top:{gap}px;gap:{gap}px\">"));
            for (var r = 0; r < rows; r++)
            {
                html.Append(string.Create(s_c, $"<span style=\"height:{cell}px;line-height:{cell}px\" title=\"{Encode(rowNames![r])}\">{Encode(rowNames[r])}</span>"));
            }

            html.Append("</div>");
        }

        html.Append(string.Create(s_c, $"<img alt=\"{Encode(caption)}\" width=\"{large.Width}\" height=\"{large.Height}\" data-tile=\"{cell}\" src=\"data:image/png;base64,"))
            .Append(Convert.ToBase64String(ImageCodec.EncodePng(large))).Append("\">");
        if (labelled)
        {
            html.Append("</div>");
        }

        return html.Append("</div><figcaption>").Append(Encode(caption)).Append("</figcaption></figure>\n").ToString();
    }

    private static (int Columns, int Rows, bool Regular) Layout(Image grid, int tile, int pad)
    {
        var (columns, rows) = ((grid.Width - pad) / (tile + pad), (grid.Height - pad) / (tile + pad));
        return (columns, rows, columns >= 1 && rows >= 1 && (columns * (tile + pad)) + pad == grid.Width && (rows * (tile + pad)) + pad == grid.Height);
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
