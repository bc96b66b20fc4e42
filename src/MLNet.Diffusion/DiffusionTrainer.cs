using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Training;
using TorchSharp;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Pipeline;

namespace MLNet.Diffusion;

/// <summary>
/// The DDPM trainer as an ML.NET estimator (<c>mlContext.Diffusion().Train(...)</c>): it checks the pixel and label columns, trains a
/// <see cref="Models.UNet2D"/> with <see cref="DdpmTrainer"/> on the view's rows (read through cursors, batch by batch), and returns a
/// <see cref="DiffusionModel"/>, the transformer that generates images from seeds.
/// </summary>
/// <remarks>
/// <para>
/// Checks happen as early as ML.NET lets them: <see cref="GetOutputSchema"/> (which a pipeline runs before fitting anything) sees
/// column kinds and item types; <see cref="Fit"/> sees the vector's dimensions, and reads the first batch to check that the pixels
/// lie in [−1, 1] (ExtractPixels records no offset or scale), all before the first training step.
/// </para>
/// <para>
/// The context is honoured: a seed left null is drawn from the context's random source when the trainer is made; progress goes to
/// <see cref="MLContext.Log"/> (source <c>DiffusionTrainer</c>); a device of "auto" follows <see cref="MLContext.GpuDeviceId"/> and
/// <see cref="MLContext.FallbackToCpu"/> when the GPU id is set.
/// </para>
/// </remarks>
public sealed class DiffusionTrainer : IEstimator<DiffusionModel>
{
    private readonly MLContext _context;
    private readonly IHost _host;

    internal DiffusionTrainer(MLContext context, Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.FeatureColumnName, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ShufflePoolSize, 2, nameof(options));
        _context = context;
        _host = ((IHostEnvironment)context).Register(nameof(DiffusionTrainer));
        // A resumed run keeps its checkpoint's seed unless one is given (and then it must be the same).
        var seed = options.Seed ?? (options.ResumeFrom is null ? (ulong)_host.Rand.Next() : null);
        TrainerOptions = (Options)(options with { Seed = seed, Device = options.Device == "auto" ? ContextDevice(context) : options.Device }).Validated();
    }

    /// <summary>The run's options, with the seed and device resolved from the context (a resumed run's null seed stays null: the checkpoint's is used).</summary>
    public Options TrainerOptions { get; }

    /// <summary>
    /// Checks what the schema shape shows (the columns exist, the pixels are a known-size vector of Single, the label is a key or an
    /// integer) and returns it unchanged: the fitted model passes training rows through (see <see cref="DiffusionModel"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong kind; the message names it and the transform that fixes it.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var name = TrainerOptions.FeatureColumnName;
        var pixels = inputSchema.FirstOrDefault(c => c.Name == name);
        if (pixels.Name is null)
        {
            throw Missing(name, "training images", inputSchema.Select(c => c.Name), FeatureHint);
        }

        if (pixels.Kind == SchemaShape.Column.VectorKind.VariableVector)
        {
            throw Mismatch(name, "a vector of variable size", "Resize every image to one square size first: ResizeImages(..., imageWidth: 32, imageHeight: 32).");
        }

        if (pixels.Kind != SchemaShape.Column.VectorKind.Vector || pixels.ItemType != NumberDataViewType.Single)
        {
            throw Mismatch(name, $"{pixels.Kind} of {pixels.ItemType}", "Extract the pixels of images with ExtractPixels(..., offsetImage: 127.5f, scaleImage: 1 / 127.5f).");
        }

        if (TrainerOptions.LabelColumnName is { } labelName)
        {
            var label = inputSchema.FirstOrDefault(c => c.Name == labelName);
            if (label.Name is null)
            {
                throw Missing(labelName, "class labels", inputSchema.Select(c => c.Name));
            }

            if (label.Kind != SchemaShape.Column.VectorKind.Scalar || (!label.IsKey && !IntegerColumn.IsInteger(label.ItemType)))
            {
                throw LabelMismatch(labelName, $"{label.Kind} of {label.ItemType}");
            }
        }

        return inputSchema;
    }

    /// <summary>Trains on <paramref name="input"/> and returns the model.</summary>
    /// <exception cref="ArgumentException">The schema or the first batch does not fit (see the remarks); the message names the column.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    public DiffusionModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var options = TrainerOptions;
        var (pixels, channels, size) = CheckPixels(input.Schema);
        var (label, classes) = CheckLabels(input);
        var classNames = ClassNames(label, classes);
        var data = new DataViewTrainingData(_context, input, pixels, label, channels, size, classes, options.ShufflePoolSize);
        var encoding = options.PixelEncoding ?? PixelEncoding.ModelSpace(channels);
        CheckEncoding(encoding, channels);
        using var channel = _host.Start("Training");
        var trainerOptions = (DdpmTrainerOptions)options with
        {
            ClassConditional = classes is not null,
            PixelEncoding = encoding,
            ClassNames = classNames,
            Model = options.ResumeFrom is not null && options.InitialModel is { } initial ? initial.Config : options.Model,
        };

        // Before any work: a resumed run's settings are checked against its checkpoint, and the report's folder is made ready.
        var resume = options.ResumeFrom is { } checkpoint ? ResumePlan.Create(checkpoint, data, trainerOptions) : null;
        if (options.ReportPath is { } reportPath)
        {
            OutputFolder.PrepareFor(reportPath);
        }

        CheckFirstBatch(input, pixels, channel);
        var run = resume?.Options ?? trainerOptions;
        var trainer = new DdpmTrainer(run);
        var total = trainer.TotalSteps(data);
        channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
            $"training {options.InitialModel?.Config.ToString() ?? run.Model?.ToString() ?? run.ModelPreset} on {data.Count} images {channels}×{size}×{size}{(classes is { } c ? $" in {c} classes" : "")}: {total} steps of {run.BatchSize}, seed {trainer.Options.Seed}, device {run.Device}, {(data.ShufflesExactly ? "exact shuffling" : $"pool shuffling ({options.ShufflePoolSize} rows)")}"));
        if (run.WarmupSteps >= total)
        {
            channel.Warning(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                $"WarmupSteps {run.WarmupSteps} ≥ the run's {total} steps: the learning rate never reaches its peak {run.LearningRate:G3}, and a short run at a fraction of it may learn nothing. TrainingRecipes.Default(options) sets a warm-up and schedule for runs of hundreds to thousands of steps."));
        }

        if (resume is not null)
        {
            channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                $"resuming {resume.Path} at step {resume.Checkpoint.Step}{(resume.Changes.Count == 0 ? ", unchanged" : $", changing {string.Join(", ", resume.Changes)}")}"));
        }

        var every = Math.Max(1, total / 20);
        var progress = new SynchronousProgress<TrainingProgress>(p =>
        {
            options.Progress?.Report(p);
            if (p.Message is { } message)
            {
                if (message.StartsWith("Warning: ", StringComparison.Ordinal))
                {
                    channel.Warning(MessageSensitivity.None, message["Warning: ".Length..]);
                }
                else
                {
                    channel.Info(MessageSensitivity.None, message);
                }
            }
            else if (p.Step % every == 0 || p.Step == p.TotalSteps)
            {
                channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                    $"step {p.Step}/{p.TotalSteps} loss {p.MeanLoss:F4} (mean of {p.LossWindow}) lr {p.LearningRate:G3} {p.ImagesPerSecond:F1} images/s, {p.Remaining:hh\\:mm\\:ss} left"));
            }
        });
        using var result = resume is not null
            ? DdpmTrainer.Resume(resume, data, progress, options.CancellationToken)
            : trainer.Train(data, progress, options.InitialModel?.Network, options.CancellationToken);
        channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
            $"{(result.Completed ? "finished" : "cancelled")} after {result.Steps} steps in {result.Elapsed.TotalSeconds:F1} s ({result.ImagesPerSecond:F1} images/s)"));
        if (options.ReportPath is { } report)
        {
            var details = options.ReportDetails ?? new TrainingReportDetails { Title = "Training report" };
            TrainingReport.Write(report, result, details with
            {
                Dataset = details.Dataset ?? string.Create(CultureInfo.InvariantCulture,
                    $"an ML.NET data view: {data.Count:N0} rows, '{options.FeatureColumnName}' {channels}×{size}×{size}{(classes is { } k ? $", labels '{options.LabelColumnName}' in {k} classes" : string.Empty)}"),
            });
        }

        var model = DiffusionModel.FromTraining(result);
        model.FeatureColumnName = options.FeatureColumnName;
        model.LabelColumnName = options.LabelColumnName ?? model.LabelColumnName;
        return model;
    }

    /// <summary>The device "auto" means in <paramref name="context"/>: cuda:<see cref="MLContext.GpuDeviceId"/> when set (cpu instead when CUDA is absent and <see cref="MLContext.FallbackToCpu"/>), else auto.</summary>
    internal static string ContextDevice(MLContext context)
    {
        if (context.GpuDeviceId is not { } id)
        {
            return "auto";
        }

        if (!torch.cuda.is_available() && context.FallbackToCpu)
        {
            return "cpu";
        }

        return string.Create(CultureInfo.InvariantCulture, $"cuda:{id}");
    }

    private (DataViewSchema.Column Column, int Channels, int Size) CheckPixels(DataViewSchema schema)
    {
        var name = TrainerOptions.FeatureColumnName;
        var column = schema.GetColumnOrNull(name) ?? throw Missing(name, "training images", schema.Select(c => c.Name), FeatureHint);
        if (column.Type is not VectorDataViewType vector || vector.ItemType != NumberDataViewType.Single)
        {
            throw Mismatch(name, $"{column.Type}", "Extract the pixels of images with ExtractPixels(..., offsetImage: 127.5f, scaleImage: 1 / 127.5f).");
        }

        if (!vector.IsKnownSize)
        {
            throw Mismatch(name, "a vector of variable size", "Resize every image to one square size first: ResizeImages(..., imageWidth: 32, imageHeight: 32).");
        }

        var dims = vector.Dimensions;
        if (dims is [var h, var w, var c] && c is 1 or 3 or 4 && h is not (1 or 3))
        {
            throw Mismatch(name, $"a vector [{h}, {w}, {c}] (colors interleaved, [H, W, C])", "Extract with interleavePixelColors: false (the default) to get [C, H, W].");
        }

        if (dims is not [var channels, var height, var width])
        {
            throw Mismatch(name, $"a vector [{string.Join(", ", dims)}]", "A vector [C, H, W] is needed: ExtractPixels gives one; for your own data declare [VectorType(C, H, W)].");
        }

        if (channels is not (1 or 3))
        {
            throw Mismatch(name, $"a vector [{channels}, {height}, {width}] ({channels} channels)",
                "Extract red, green and blue (the default colors, without alpha), or one channel: ConvertToGrayscale then colorsToExtract: Red.");
        }

        if (height != width)
        {
            throw Mismatch(name, $"{width}×{height} images", string.Create(CultureInfo.InvariantCulture, $"Resize them to a square: ResizeImages(..., imageWidth: {Math.Min(width, height)}, imageHeight: {Math.Min(width, height)})."));
        }

        var model = TrainerOptions.InitialModel?.Config ?? TrainerOptions.Model;
        if (model is not null && (model.ImageSize != height || model.InChannels != channels))
        {
            throw Mismatch(name, $"{channels}×{height}×{width} images", $"The model takes {model.InChannels}×{model.ImageSize}×{model.ImageSize}: resize or convert the images to that.");
        }

        return (column, channels, height);
    }

    // The classes' names from a key label column's KeyValues (text), checked before any work; null without them.
    private static string[]? ClassNames(DataViewSchema.Column? label, int? classes)
    {
        if (label is not { } column || classes is null || column.Type is not KeyDataViewType ||
            column.Annotations.Schema.GetColumnOrNull("KeyValues")?.Type is not VectorDataViewType { ItemType: TextDataViewType })
        {
            return null;
        }

        var values = default(VBuffer<ReadOnlyMemory<char>>);
        column.GetKeyValues(ref values);
        try
        {
            return ClassNameRules.Check(values.DenseValues().Select(v => v.ToString()), classes);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The key values of label column '{column.Name}' cannot name the model's classes: {ex.Message}", nameof(label), ex);
        }
    }

    private (DataViewSchema.Column? Column, int? Classes) CheckLabels(IDataView input)
    {
        if (TrainerOptions.LabelColumnName is not { } name)
        {
            return TrainerOptions.ClassConditional
                ? throw new ArgumentException("ClassConditional needs a label column: set LabelColumnName to a key column of class labels.", nameof(input))
                : (null, null);
        }

        var column = input.Schema.GetColumnOrNull(name) ?? throw Missing(name, "class labels", input.Schema.Select(c => c.Name));
        int classes;
        if (column.Type is KeyDataViewType key)
        {
            classes = key.Count is > 0 and <= int.MaxValue ? (int)key.Count : throw LabelMismatch(name, $"a key of {key.Count} values");
        }
        else if (IntegerColumn.IsInteger(column.Type))
        {
            // Integer classes 0 to K − 1: K is the largest label + 1, read once (labels only: nothing else is decoded).
            using var cursor = input.GetRowCursor([column]);
            var read = DataViewTrainingData.LabelGetter(cursor, column);
            var max = -1L;
            while (cursor.MoveNext())
            {
                var value = read();
                max = value >= 0 ? Math.Max(max, value) : throw new InvalidDataException($"Row {cursor.Position}: label {value} in column '{name}' is negative; classes run from 0.");
            }

            classes = (int)Math.Min(int.MaxValue, max + 1);
        }
        else
        {
            throw LabelMismatch(name, $"{column.Type}");
        }

        var expected = TrainerOptions.InitialModel?.Config.NumClasses ?? TrainerOptions.Model?.NumClasses;
        if (expected is { } count && count != classes)
        {
            throw LabelMismatch(name, $"{classes} classes, but the model has {count}");
        }

        return (column, classes);
    }

    private static readonly string s_encodingParameter = "options.PixelEncoding";

    private static void CheckEncoding(PixelEncoding encoding, int channels)
    {
        var (min, max) = encoding.Range;
        if (Math.Abs(min + 1) > 1e-3 || Math.Abs(max - 1) > 1e-3)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"PixelEncoding maps pixels 0 to 255 to {min} to {max}; the model trains on [-1, 1]: offset 127.5 and scale 1/127.5 (PixelEncoding.ModelSpace)."), s_encodingParameter);
        }

        if ((encoding.Colors == PixelColors.Gray ? 1 : 3) != channels)
        {
            throw new ArgumentException($"PixelEncoding says {encoding.Colors} but the pixel column has {channels} channel(s).", s_encodingParameter);
        }
    }

    // ExtractPixels records no offset or scale, so the values themselves are the evidence: the first batch must lie in [−1, 1].
    // The batch is read in order on this thread, so that it reads (and decodes) these rows only, and an image that cannot be
    // read is named, with its row and path, before the first step.
    private void CheckFirstBatch(IDataView input, DataViewSchema.Column pixels, IChannel channel)
    {
        using var cursor = UnreadableRow.SequentialCursor(input, [pixels]);
        var getter = cursor.GetGetter<VBuffer<float>>(pixels);
        var buffer = default(VBuffer<float>);
        var (min, max) = (float.PositiveInfinity, float.NegativeInfinity);
        for (var row = 0; row < TrainerOptions.BatchSize && Next(); row++)
        {
            foreach (var value in buffer.DenseValues())
            {
                if (float.IsNaN(value))
                {
                    throw new InvalidDataException($"Row {cursor.Position}: column '{pixels.Name}' holds NaN.");
                }

                (min, max) = (Math.Min(min, value), Math.Max(max, value));
            }
        }

        bool Next() => UnreadableRow.ReadNext(cursor, getter, ref buffer, input, pixels.Name);

        if (min < -1.001f || max > 1.001f)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Column '{pixels.Name}' holds pixels from {min:G4} to {max:G4} in its first rows; the model trains on pixels in [-1, 1]. Extract them with ExtractPixels(..., offsetImage: 127.5f, scaleImage: 1 / 127.5f)."), nameof(input));
        }

        if (min >= 0)
        {
            channel.Warning(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                $"Column '{pixels.Name}' has no negative value in its first rows (from {min:G4} to {max:G4}): pixels scaled to [0, 1] train a washed-out model. The model expects [-1, 1]: ExtractPixels(..., offsetImage: 127.5f, scaleImage: 1 / 127.5f)."));
        }
    }

    // The parameter the schema errors name: the input of GetOutputSchema or Fit.
    private static readonly string s_inputParameter = "input";

    // What to do when the pixel column is not where the trainer looks.
    private const string FeatureHint =
        " Name the column of pixels with Train(featureColumnName: ...) or Options.FeatureColumnName, or extract them into 'Pixels'.";

    private static ArgumentException Missing(string name, string what, IEnumerable<string> present, string hint = "") =>
        new($"Column '{name}' ({what}) not found; the input has {string.Join(", ", present.Distinct().Select(n => $"'{n}'"))}.{hint}", s_inputParameter);

    private static ArgumentException Mismatch(string name, string actual, string fix) =>
        new($"Column '{name}' holds {actual}; training needs a Single vector [C, H, W] with C = 1 or 3, H = W, values in [-1, 1]. {fix}", s_inputParameter);

    private static ArgumentException LabelMismatch(string name, string actual) =>
        new($"Column '{name}' holds {actual}; class labels must be a key column (MapValueToKey(\"{name}\") turns names or numbers into one) or integers 0 to classes − 1.", s_inputParameter);

    /// <summary>
    /// Everything a <see cref="DiffusionTrainer"/> run is configured by: every <see cref="DdpmTrainerOptions"/> setting, the columns,
    /// and what only the ML.NET trainer does (pixel encoding, shuffling of streaming views, resume, fine-tuning, report, cancellation).
    /// </summary>
    public sealed record Options : DdpmTrainerOptions
    {
        /// <summary>Options with every default.</summary>
        public Options()
        {
        }

        /// <summary>
        /// Options with the trainer settings of <paramref name="settings"/> (for example a checkpoint's, <see cref="TrainingCheckpoint.Read"/>)
        /// and the defaults of the rest (columns, encoding, resume, report, ...).
        /// </summary>
        public Options(DdpmTrainerOptions settings)
            : base(settings ?? throw new ArgumentNullException(nameof(settings)))
        {
        }

        /// <summary>The training images: a Single vector column [C, H, W] with C = 1 or 3, H = W, values in [−1, 1]. Default "Pixels".</summary>
        public string FeatureColumnName { get; init; } = "Pixels";

        /// <summary>A key (or integer 0 to K − 1) column of class labels; set, it trains a class-conditional model. Default null (unconditional).</summary>
        public string? LabelColumnName { get; init; }

        /// <summary>
        /// The pool of ML.NET's pool shuffling (<c>ShuffleRows</c>) for views that cannot shuffle themselves (<c>LoadFromEnumerable</c>,
        /// <c>TextLoader</c> files): each pass draws rows from a pool of this many, which only approximates a shuffle. Cache such a view
        /// first (<c>mlContext.Data.Cache</c>) for an exact one. Views that can shuffle (the ones <see cref="DiffusionCatalog"/> makes, cached
        /// views) are shuffled exactly. ≥ 2. Default 1000.
        /// </summary>
        public int ShufflePoolSize { get; init; } = 1000;

        /// <summary>
        /// A checkpoint to continue from (one of the files a run writes into <see cref="DdpmTrainerOptions.CheckpointDirectory"/>), on the same
        /// data; null (the default) starts a new run. These options then describe the continued run in full, as
        /// <see cref="DdpmTrainer.Resume(string, ITrainingData, DdpmTrainerOptions, IProgress{TrainingProgress}, CancellationToken)"/> takes them:
        /// what defines the run (model, schedule, prediction, loss weighting, conditioning, batch size, flipping, seed) must equal the
        /// checkpoint's, every difference named in one error before training; the rest (steps, learning rate and its schedule, weight decay,
        /// clipping, moving average, device, threads, checkpoint directory and cadence, sample grid) is applied and recorded in later
        /// checkpoints. A null <see cref="DdpmTrainerOptions.Seed"/> keeps the checkpoint's. To start from the checkpoint's settings, build
        /// the options from them: <c>new DiffusionTrainer.Options(TrainingCheckpoint.Read(path).Options) { ResumeFrom = path, ... }</c>.
        /// </summary>
        public string? ResumeFrom { get; init; }

        /// <summary>A model to fine-tune: training starts from its weights (its configuration replaces the preset). Default null.</summary>
        public DiffusionModel? InitialModel { get; init; }

        /// <summary>Where to write the HTML training report (<see cref="TrainingReport"/>: loss and learning-rate curves, sample grids, configuration, environment); null writes none. Default null.</summary>
        public string? ReportPath { get; init; }

        /// <summary>
        /// What the report at <see cref="ReportPath"/> says beyond the run's record: its title, the data in a line, where the model
        /// goes, a final grid and the next steps. Null (the default): the file's name as title and a line about the data view.
        /// </summary>
        public TrainingReportDetails? ReportDetails { get; init; }

        /// <summary>Receives a report after every optimiser step (on the training thread). Default null.</summary>
        public IProgress<TrainingProgress>? Progress { get; init; }

        /// <summary>Stops training after the current step (writing a checkpoint when there is a checkpoint directory); the model is what was trained so far.</summary>
        public CancellationToken CancellationToken { get; init; }
    }
}
