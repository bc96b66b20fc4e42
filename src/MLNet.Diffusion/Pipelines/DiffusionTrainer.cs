using TorchSharp;
using static TorchSharp.torch;
using System.Globalization;
using MLNet.Diffusion.Data;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;

namespace MLNet.Diffusion.Pipelines;

/// <summary>
/// The DDPM trainer as a pipeline estimator (made by <c>context.Diffusion().Train(...)</c>): checks the pixel and label columns,
/// then trains with <see cref="DdpmTrainer"/> on the view's rows, read batch by batch, and returns a <see cref="DiffusionModel"/>
/// that records how the pixels were encoded. Progress goes to the context's <see cref="DiffusionContext.Log"/>.
/// </summary>
public sealed class DiffusionTrainer : IEstimator<DiffusionModel>
{
    private const string Source = nameof(DiffusionTrainer);
    private readonly DiffusionContext _context;

    internal DiffusionTrainer(DiffusionContext context, DiffusionTrainerOptions options)
    {
        _context = context;
        Options = (DiffusionTrainerOptions)options.Validated();
    }

    /// <summary>The run's options (with the context's seed and device applied).</summary>
    public DiffusionTrainerOptions Options { get; }

    /// <summary>
    /// Checks <paramref name="inputSchema"/> for training and returns the schema the trained model gives for a view of seeds
    /// (and labels): Seed, optionally Label, and Image.
    /// </summary>
    /// <exception cref="ArgumentException">The pixel or label column is missing, of the wrong type or of the wrong size; the message names it.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        var (channels, size, _) = CheckPixels(inputSchema);
        var classes = CheckLabels(inputSchema);
        var columns = new List<DataViewColumn> { new("Seed", ColumnType.WholeNumber) };
        if (classes is { } count)
        {
            columns.Add(new DataViewColumn("Label", ColumnType.Key(count)));
        }

        columns.Add(new DataViewColumn("Image", ColumnType.Image(size, size, channels)));
        return new DataViewSchema(columns);
    }

    /// <inheritdoc/>
    public DiffusionModel Fit(IDataView input) => Fit(input, null);

    /// <summary>Trains on <paramref name="input"/>, reporting every step to <paramref name="progress"/>; cancelling stops after the current step.</summary>
    /// <exception cref="ArgumentException">The schema does not fit (see <see cref="GetOutputSchema"/>), or the view has no access by position.</exception>
    public DiffusionModel Fit(IDataView input, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (_, _, encoding) = CheckPixels(input.Schema);
        var classes = CheckLabels(input.Schema);
        var data = new DataViewTrainingData(input, Options.PixelColumnName, Options.LabelColumnName);
        var trainer = new DdpmTrainer(Options with { ClassConditional = classes is not null });
        var total = trainer.TotalSteps(data);
        var every = Math.Max(1, total / 20);
        _context.WriteLog(Source, string.Create(CultureInfo.InvariantCulture,
            $"training {Options.Model?.ToString() ?? Options.ModelPreset} on {data.Count} images {data.Channels}×{data.ImageSize}×{data.ImageSize}{(classes is { } c ? $" in {c} classes" : "")}: {total} steps of {Options.BatchSize}, seed {Options.Seed}, device {Options.Device}"));
        var report = new Reporter(p =>
        {
            progress?.Report(p);
            if (p.Step % every == 0 || p.Step == p.TotalSteps)
            {
                _context.WriteLog(Source, string.Create(CultureInfo.InvariantCulture,
                    $"step {p.Step}/{p.TotalSteps} loss {p.SmoothedLoss:F4} lr {p.LearningRate:G3} {p.ImagesPerSecond:F1} images/s, {p.Remaining:hh\\:mm\\:ss} left"));
            }
        });
        using var result = trainer.Train(data, report, cancellationToken);
        _context.WriteLog(Source, string.Create(CultureInfo.InvariantCulture,
            $"{(result.Completed ? "finished" : "cancelled")} after {result.Steps} steps in {result.Elapsed.TotalSeconds:F1} s"));
        return DiffusionModel.FromTraining(result, encoding);
    }

    private (int Channels, int Size, PixelEncoding Encoding) CheckPixels(DataViewSchema schema)
    {
        var name = Options.PixelColumnName;
        var column = SchemaCheck.Column(schema, name, "training images as float vectors [C, H, W]");
        var type = column.Type;
        const string Expected = "a float vector [C, H, W] with C = 1 or 3 and H = W";
        if (type.Kind != ColumnKind.Vector)
        {
            throw SchemaCheck.Mismatch(name, Expected, type, "Extract the pixels of images with ExtractPixels.");
        }

        if (type.Encoding is { Interleaved: true })
        {
            throw SchemaCheck.Mismatch(name, Expected, type, "Its colors are interleaved [H, W, C]: extract with interleavePixelColors: false.");
        }

        if (type.Dimensions is not [var channels and (1 or 3), var height, var width])
        {
            throw SchemaCheck.Mismatch(name, Expected, type, type.Dimensions is null ? "Its size is unknown: resize the images to one size first." : null);
        }

        if (height != width)
        {
            throw SchemaCheck.Mismatch(name, Expected, type, $"Its images are {width}×{height}: resize them to a square.");
        }

        var encoding = type.Encoding ?? PixelEncoding.ModelSpace(channels);
        var (min, max) = encoding.Range;
        if (Math.Abs(min + 1) > 1e-3 || Math.Abs(max - 1) > 1e-3)
        {
            throw SchemaCheck.Mismatch(name, "pixels in [-1, 1]", type, string.Create(CultureInfo.InvariantCulture,
                $"Its pixels 0 to 255 become {min} to {max}: extract with offsetImage: 127.5f, scaleImage: 1 / 127.5f."));
        }

        if (Options.Model is { } model && (model.ImageSize != height || model.InChannels != channels))
        {
            throw SchemaCheck.Mismatch(name, $"{model.InChannels}×{model.ImageSize}×{model.ImageSize} images, as the model configuration takes", type);
        }

        return (channels, height, encoding);
    }

    private int? CheckLabels(DataViewSchema schema)
    {
        if (Options.LabelColumnName is not { } name)
        {
            return Options.ClassConditional
                ? throw new ArgumentException("ClassConditional needs a label column: set LabelColumnName to a key column of class labels.", nameof(schema))
                : null;
        }

        var column = SchemaCheck.Column(schema, name, "class labels");
        if (column.Type.Kind != ColumnKind.Key)
        {
            throw SchemaCheck.Mismatch(name, "a Key column of class labels", column.Type, "Declare it with ColumnType.Key(classes).");
        }

        if (Options.Model?.NumClasses is { } modelClasses && modelClasses != column.Type.KeyCount)
        {
            throw SchemaCheck.Mismatch(name, $"Key({modelClasses}), as the model configuration takes", column.Type);
        }

        return column.Type.KeyCount;
    }

    // Reports on the training thread (Progress<T> would post to the thread pool and reorder messages).
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
