using System.Globalization;
using ScottPlot;
using SkiaSharp;

/// <summary>One line of a chart panel: its legend name and one value per epoch (epoch 1 first).</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> Values);

/// <summary>
/// One panel of a metrics chart: a title, the y axis's label and its lines; the final value of each line, printed with
/// <paramref name="Format"/> and <paramref name="Unit"/>, goes into the legend and the title.
/// </summary>
public sealed record ChartPanel(string Title, string YLabel, IReadOnlyList<ChartSeries> Series, string Format = "F4", string Unit = "")
{
    /// <summary>The corner the legend sits in: away from where the lines usually end (lower right for rising curves).</summary>
    public Alignment LegendAt { get; init; } = Alignment.UpperRight;

    /// <summary>Mean training loss per epoch, and the test loss when there is one.</summary>
    public static ChartPanel Loss(IReadOnlyList<double> train, IReadOnlyList<double>? test = null) =>
        new("Loss", "cross-entropy loss", Lines(train, test));

    /// <summary>Accuracy per epoch (fractions in [0, 1]), drawn in percent.</summary>
    public static ChartPanel Accuracy(IReadOnlyList<double> train, IReadOnlyList<double> test) =>
        new("Accuracy", "accuracy (%)", Lines([.. train.Select(v => 100 * v)], [.. test.Select(v => 100 * v)]), "F1", " %")
        {
            LegendAt = Alignment.LowerRight,
        };

    /// <summary>Perplexity per epoch from mean cross-entropies in nats (a language model's panel).</summary>
    public static ChartPanel Perplexity(IReadOnlyList<double> trainLoss, IReadOnlyList<double>? testLoss = null) =>
        new("Perplexity", "perplexity", Lines([.. trainLoss.Select(Metrics.Perplexity)],
            testLoss is null ? null : [.. testLoss.Select(Metrics.Perplexity)]), "F2");

    private static ChartSeries[] Lines(IReadOnlyList<double> train, IReadOnlyList<double>? test) =>
        test is null ? [new("train", train)] : [new("train", train), new("test", test)];

    /// <summary>A series' last value as the legend and title print it.</summary>
    public string Final(ChartSeries s) =>
        s.Values.Count == 0 ? "none" : s.Values[^1].ToString(Format, CultureInfo.InvariantCulture) + Unit;
}

/// <summary>
/// Metrics charts for the training apps, drawn with ScottPlot 5 on SkiaSharp's self-contained native library: panels side
/// by side, each with a title, labelled axes with tick values and a legend, written as PNG and SVG. All text uses the
/// DejaVu Sans file shipped in <c>fonts/</c> next to the app (examples/Shared/fonts), registered under its own name, so
/// charts render the same on a machine with no fonts at all (that Skia build does not read fontconfig).
/// </summary>
public static class Charts
{
    /// <summary>The name the shipped font is registered under; no installed font can answer to it.</summary>
    public const string FontName = "DeepSharp DejaVu Sans";

    private const int PanelWidth = 560, Height = 400;
    private static readonly Lazy<string> Font = new(Register);

    /// <summary>The shipped font file, next to the app.</summary>
    public static string FontPath => Path.Combine(AppContext.BaseDirectory, "fonts", "DejaVuSans.ttf");

    /// <summary>
    /// Draws <paramref name="panels"/> side by side into <c><paramref name="path"/>.png</c> and <c>.svg</c>, checking on the
    /// way that the PNG's text rendered (dark pixels where each panel's title, tick values and axis labels go).
    /// </summary>
    /// <returns>The two files written.</returns>
    /// <exception cref="FileNotFoundException">The font is not next to the app.</exception>
    /// <exception cref="InvalidOperationException">The text did not render (the check above failed).</exception>
    public static (string Png, string Svg) Write(string path, IReadOnlyList<ChartPanel> panels)
    {
        _ = Font.Value;
        int width = PanelWidth * Math.Max(panels.Count, 1);
        string png = path + ".png", svg = path + ".svg";
        var plots = panels.Select(Build).ToList();
        using (var surface = SKSurface.Create(new SKImageInfo(width, Height)))
        {
            Draw(surface.Canvas, plots);
            using var image = surface.Snapshot();
            using var bitmap = SKBitmap.FromImage(image);
            CheckText(bitmap, plots, panels);
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(png, data.ToArray());
        }
        using (var file = File.Create(svg))
        using (var canvas = SKSvgCanvas.Create(SKRect.Create(width, Height), file))
            Draw(canvas, plots); // the canvas writes the document's end when disposed, before the file closes
        return (png, svg);
    }

    private static void Draw(SKCanvas canvas, List<Plot> plots)
    {
        canvas.Clear(SKColors.White);
        for (int i = 0; i < plots.Count; i++)
        {
            // A plot clears its canvas before drawing: the clip keeps it to its own panel.
            canvas.Save();
            canvas.ClipRect(SKRect.Create(i * PanelWidth, 0, PanelWidth, Height));
            plots[i].Render(canvas, new PixelRect(i * PanelWidth, (i + 1) * PanelWidth, Height, 0));
            canvas.Restore();
        }
    }

    private static Plot Build(ChartPanel panel)
    {
        var plot = new Plot();
        foreach (var s in panel.Series)
        {
            var xs = Enumerable.Range(1, s.Values.Count).Select(e => (double)e).ToArray();
            var line = plot.Add.Scatter(xs, s.Values.ToArray());
            line.LegendText = $"{s.Name}: {panel.Final(s)}";
            line.LineWidth = 2;
            line.MarkerSize = s.Values.Count <= 30 ? 5 : 0;
            if (s.Name == "test") line.MarkerShape = MarkerShape.FilledSquare; // not a dash: Skia's SVG canvas drops path effects
        }
        string finals = panel.Series.Count == 1 ? panel.Final(panel.Series[0])
            : string.Join(", ", panel.Series.Select(s => $"{s.Name} {panel.Final(s)}"));
        plot.Title($"{panel.Title} (final: {finals})", size: 16);
        plot.XLabel("epoch", size: 14);
        plot.YLabel(panel.YLabel, size: 14);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(panel.LegendAt);
        plot.Font.Set(FontName);
        plot.Axes.Title.Label.Bold = false; // one weight shipped: a bold request would fall back to a system font
        return plot;
    }

    /// <summary>Registers the shipped file under <see cref="FontName"/> (regular and bold requests) and makes it the default.</summary>
    private static string Register()
    {
        string path = FontPath;
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"The charts' font is missing: {path} (the build copies examples/Shared/fonts next to the app).", path);
        Fonts.AddFontFile(FontName, path);
        Fonts.AddFontFile(FontName, path, bold: true);
        Fonts.Default = Fonts.Sans = FontName;
        var typeface = Fonts.GetTypeface(FontName, bold: false, italic: false);
        if (typeface.FamilyName != "DejaVu Sans" || typeface.GlyphCount == 0)
            throw new InvalidOperationException(
                $"{path} did not load as DejaVu Sans (got '{typeface.FamilyName}', {typeface.GlyphCount} glyphs).");
        return path;
    }

    /// <summary>
    /// Honest proof that the text rendered: outside each panel's data area, clear of the frame and its tick marks (8
    /// pixels), only text is drawn — the title above, the tick values and axis label to the left and below. Each of those
    /// bands must hold dark pixels. Without a usable font Skia draws no glyphs, ScottPlot measures the text as empty, and
    /// the bands are blank (or shrink to nothing).
    /// </summary>
    private static void CheckText(SKBitmap bitmap, List<Plot> plots, IReadOnlyList<ChartPanel> panels)
    {
        for (int p = 0; p < plots.Count; p++)
        {
            var data = plots[p].RenderManager.LastRender.DataRect;
            int left = p * PanelWidth, right = left + PanelWidth, top = (int)data.Top, bottom = (int)data.Bottom;
            (string Where, int Dark)[] bands =
            [
                ("title", Dark(bitmap, left, right, 0, top - 8)),
                ("y tick values and label", Dark(bitmap, left, (int)data.Left - 8, top, bottom)),
                ("x tick values and label", Dark(bitmap, (int)data.Left, (int)data.Right, bottom + 8, Height)),
            ];
            foreach (var (where, dark) in bands)
                if (dark < 30)
                    throw new InvalidOperationException(
                        $"The chart's text did not render: panel '{panels[p].Title}' has {dark} dark pixels in the band of its {where}.");
        }
    }

    private static int Dark(SKBitmap bitmap, int x0, int x1, int y0, int y1)
    {
        int dark = 0;
        for (int y = Math.Max(y0, 0); y < Math.Min(y1, bitmap.Height); y++)
            for (int x = Math.Max(x0, 0); x < Math.Min(x1, bitmap.Width); x++)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Alpha > 200 && c.Red + c.Green + c.Blue < 3 * 100) dark++;
            }
        return dark;
    }
}
