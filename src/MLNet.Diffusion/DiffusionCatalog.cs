using Microsoft.ML;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.Pipeline;

namespace MLNet.Diffusion;

/// <summary>
/// MLNet.Diffusion's operations on an <see cref="MLContext"/> (<c>mlContext.Diffusion()</c>): the DDPM trainer for a pipeline,
/// data views of images and of seeds, and loading a saved model.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Catalog operations are instance methods, as ML.NET's are.")]
public sealed class DiffusionCatalog
{
    internal DiffusionCatalog(MLContext context) => Context = context;

    /// <summary>The context this catalog belongs to.</summary>
    public MLContext Context { get; }

    /// <summary>
    /// A DDPM trainer with the settings people change most, on the library's recipe (<see cref="TrainingRecipes.Default{T}"/>:
    /// v prediction for runs of fewer than <see cref="TrainingRecipes.DefaultEpsilonFromImages"/> images (<paramref name="maxSteps"/> × <paramref name="batchSize"/>) and ε from there on,
    /// so ε at the defaults, peak rate 1e-3 after a warm-up that scales with <paramref name="maxSteps"/>, cosine decay); every other setting
    /// keeps its <see cref="DiffusionTrainer.Options"/> default.
    /// </summary>
    /// <param name="featureColumnName">The training images: a float vector column [C, H, W] (C = 1 or 3, H = W) in [−1, 1], as
    /// <c>ExtractPixels(offsetImage: 127.5f, scaleImage: 1 / 127.5f)</c> makes it. Default "Pixels".</param>
    /// <param name="labelColumnName">A key (or integer) column of class labels, which trains a class-conditional model; null (the default)
    /// trains an unconditional one.</param>
    /// <param name="modelPreset">tiny, small or ddpm-cifar10, sized to the images. Default small.</param>
    /// <param name="maxSteps">Optimiser steps, ≥ 1. Default 10,000.</param>
    /// <param name="batchSize">Images per step, ≥ 1. Default 64.</param>
    /// <param name="learningRate">Peak learning rate, &gt; 0; null (the default): the recipe's, 1e-3.</param>
    /// <param name="seed">The run's seed; null draws one from the context's random source (so <c>new MLContext(seed: 1)</c> is reproducible).</param>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public DiffusionTrainer Train(string featureColumnName = "Pixels", string? labelColumnName = null, string modelPreset = "small",
        long maxSteps = 10_000, int batchSize = 64, double? learningRate = null, ulong? seed = null)
    {
        var options = TrainingRecipes.Default(new DiffusionTrainer.Options
        {
            FeatureColumnName = featureColumnName, LabelColumnName = labelColumnName, ModelPreset = modelPreset, MaxSteps = maxSteps,
            BatchSize = batchSize, Seed = seed,
        });
        return Train(options with { LearningRate = learningRate ?? options.LearningRate });
    }

    /// <summary>A DDPM trainer with all of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public DiffusionTrainer Train(DiffusionTrainer.Options options) => new(Context, options);

    /// <summary>
    /// The images of a folder as a data view with columns <c>Path</c> (text), <c>Label</c> (a key with the class names as its
    /// KeyValues, only when the folder has one sub-folder per class) and <c>Pixels</c> (Single [<paramref name="channels"/>,
    /// <paramref name="imageSize"/>, <paramref name="imageSize"/>] in [−1, 1], ready for <see cref="Train(string, string?, string, long, int, double?, ulong?)"/>).
    /// </summary>
    /// <remarks>
    /// Only the listing is read here; an image is decoded when its row's pixels are read (EXIF orientation applied, CMYK converted,
    /// antialiased when shrunk: docs/images.md), and nothing is kept, so a folder larger than memory trains. The view reads rows by
    /// position, so training shuffles it exactly per pass and resumes without rereading. Files are taken in the ordinal order of
    /// their paths; classes in the ordinal order of the sub-folder names; folders starting with a dot are skipped.
    /// </remarks>
    /// <param name="folder">One sub-folder per class, or the images themselves (.png, .jpg, .jpeg).</param>
    /// <param name="imageSize">The side of the square images, ≥ 1.</param>
    /// <param name="channels">1 (gray, by luma) or 3 (RGB; the default); alpha is composited onto black.</param>
    /// <param name="resizing">How images are brought to the square: IsoCrop (the default), IsoPad or Fill.</param>
    /// <param name="excludedFiles">
    /// Files to leave out (for example those that cannot be decoded), each as its path relative to <paramref name="folder"/>
    /// (<c>cats/3.png</c>; '/' or the system's separator), as a run records them in <see cref="Training.DdpmTrainerOptions.ExcludedFiles"/>.
    /// The other files keep their order, so the rows and a seed's data order are the same whenever the same files are left out; a
    /// name that is not one of the folder's images changes nothing. Null (the default): none.
    /// </param>
    /// <exception cref="ArgumentException">An argument is out of range; the message names it.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No images (besides those left out), an empty class folder, or class folders mixed with loose images.</exception>
    public IDataView LoadImageFolder(string folder, int imageSize, int channels = 3, ImageResizeMode resizing = ImageResizeMode.IsoCrop,
        IEnumerable<string>? excludedFiles = null) =>
        new ImageFolderDataView(folder, imageSize, channels, resizing, excludedFiles: excludedFiles);

    /// <summary>
    /// Fashion-MNIST (Debian's <c>dataset-fashion-mnist</c>) as a data view: <c>Pixels</c> (Single [1, 28, 28] in [−1, 1]) and
    /// <c>Label</c> (a key of 10 classes named T-shirt/top … Ankle boot), read by position from the files without loading them.
    /// </summary>
    /// <param name="train">The 60,000 training images (the default), or the 10,000 test images.</param>
    /// <param name="limit">Only the first rows, ≥ 1; null for all.</param>
    /// <param name="directory">The folder of the four files; null for /usr/share/datasets/fashion-mnist.</param>
    /// <exception cref="DirectoryNotFoundException">The folder is missing; the message says how to install it.</exception>
    /// <exception cref="InvalidDataException">A file is malformed; the message names it.</exception>
    public IDataView LoadFashionMnist(bool train = true, int? limit = null, string? directory = null) =>
        IdxDataView.OpenFashionMnist(train, limit, directory);

    /// <summary>
    /// IDX files (plain or .gz) as a data view: <c>Pixels</c> (Single [1, H, W] in [−1, 1]) from an idx3 file of unsigned bytes, and
    /// with <paramref name="labelsPath"/> a <c>Label</c> key (classes 0 to the largest label) from an idx1 file.
    /// </summary>
    /// <param name="imagesPath">The images, [N, H, W] unsigned bytes.</param>
    /// <param name="labelsPath">The labels, [N] unsigned bytes; null for none.</param>
    /// <param name="limit">Only the first rows, ≥ 1; null for all.</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or the counts differ; the message names the file.</exception>
    public IDataView LoadIdx(string imagesPath, string? labelsPath = null, int? limit = null) =>
        IdxDataView.Open(imagesPath, labelsPath, limit);

    /// <summary>
    /// A view of seeds for <see cref="DiffusionModel.Transform"/>: <paramref name="count"/> rows with an Int64 <c>Seed</c> column
    /// (<paramref name="firstSeed"/>, <paramref name="firstSeed"/> + 1, ...) and, when <paramref name="labels"/> is given, an Int32
    /// <c>Label</c> column (class 0 to classes − 1, or −1, <see cref="GenerationOptions.UnconditionalLabel"/>, for an unconditional
    /// image) cycling through it: <c>labels: [0, 1, 2]</c> gives 0, 1, 2, 0, 1, ...
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="count"/> is not positive, the seeds pass 2^63 − 1, or a label is below −1 or the list is empty.</exception>
    public IDataView CreateSeeds(int count, long firstSeed = 0, IReadOnlyList<int>? labels = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegative(firstSeed);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstSeed, long.MaxValue - count + 1);
        if (labels is { Count: 0 } || labels?.Any(l => l < GenerationOptions.UnconditionalLabel) == true)
        {
            throw new ArgumentException($"Labels must be a non-empty list of classes ≥ 0 (or {GenerationOptions.UnconditionalLabel}, unconditional).", nameof(labels));
        }

        if (labels is null)
        {
            return Context.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new SeedRow { Seed = firstSeed + i }));
        }

        var cycle = labels.ToArray();
        return Context.Data.LoadFromEnumerable(
            Enumerable.Range(0, count).Select(i => new LabelledSeedRow { Seed = firstSeed + i, Label = cycle[i % cycle.Length] }));
    }

    /// <summary>
    /// A view of seeds with class names: <paramref name="count"/> rows with an Int64 <c>Seed</c> column (<paramref name="firstSeed"/>,
    /// <paramref name="firstSeed"/> + 1, ...) and a text <c>Label</c> column cycling through <paramref name="labels"/>, which
    /// <see cref="DiffusionModel.Transform"/> maps to classes by the model's <see cref="DiffusionModel.ClassNames"/> (a name it does
    /// not have fails when its row is read, listing the names). A saved model (ONNX inside ML.NET's zip) takes class numbers only:
    /// save with the seeds schema of <see cref="CreateSeeds(int, long, IReadOnlyList{int})"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="count"/> is not positive, the seeds pass 2^63 − 1, or the list is empty or holds an empty name.</exception>
    public IDataView CreateSeeds(int count, long firstSeed, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegative(firstSeed);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstSeed, long.MaxValue - count + 1);
        if (labels.Count == 0 || labels.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Labels must be a non-empty list of class names, none empty.", nameof(labels));
        }

        var cycle = labels.ToArray();
        return Context.Data.LoadFromEnumerable(
            Enumerable.Range(0, count).Select(i => new NamedSeedRow { Seed = firstSeed + i, Label = cycle[i % cycle.Length] }));
    }

    /// <summary>
    /// Image-to-image (SDEdit) as a pipeline stage: each row's image (Single [C, S, S] in the model's pixel encoding, as ExtractPixels made
    /// the training images) is noised part-way with its seed's x_T and denoised by the last ⌊steps × <paramref name="strength"/>⌋ steps
    /// of the sampler's grid, into <paramref name="outputColumnName"/> (an <c>MLImage</c>) and <paramref name="outputColumnName"/> + "Pixels"
    /// (0–255). Labels are read from a "Label" column when the model is class-conditional and the view has one. docs/editing.md.
    /// </summary>
    /// <param name="outputColumnName">The output image column.</param>
    /// <param name="model">The model (not owned).</param>
    /// <param name="inputColumnName">The images. Default "Pixels".</param>
    /// <param name="seedColumnName">One seed per row (an integer ≥ 0). Default "Seed".</param>
    /// <param name="strength">0 (the image) to 1 (a new image). Default 0.6.</param>
    public ImageEditingEstimator Edit(string outputColumnName, DiffusionModel model, string inputColumnName = "Pixels", string seedColumnName = "Seed",
        double strength = 0.6) =>
        Edit(model, new ImageEditingOptions { OutputColumnName = outputColumnName, InputColumnName = inputColumnName, SeedColumnName = seedColumnName, Strength = strength });

    /// <summary>
    /// Inpainting as a pipeline stage: each row's image keeps the pixels where its mask is 1 (or 255) exactly and has those where it is 0
    /// generated, deterministically (DPM-Solver++) or, with <paramref name="rePaint"/>, by RePaint. Outputs as <see cref="Edit(string, DiffusionModel, string, string, double)"/>'s.
    /// </summary>
    /// <param name="outputColumnName">The output image column.</param>
    /// <param name="model">The model (not owned).</param>
    /// <param name="inputColumnName">The images. Default "Pixels".</param>
    /// <param name="maskColumnName">Single [1 or C, S, S] of 0 and 1 (or 0 and 255): 1 keeps, 0 generates. Default "Mask".</param>
    /// <param name="seedColumnName">One seed per row. Default "Seed".</param>
    /// <param name="rePaint">RePaint's steps and jumps; null: deterministic inpainting.</param>
    public ImageEditingEstimator Inpaint(string outputColumnName, DiffusionModel model, string inputColumnName = "Pixels", string maskColumnName = "Mask",
        string seedColumnName = "Seed", RePaintOptions? rePaint = null) =>
        Edit(model, new ImageEditingOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, MaskColumnName = maskColumnName, SeedColumnName = seedColumnName, RePaint = rePaint,
        });

    /// <summary>Image-to-image, or inpainting when <see cref="ImageEditingOptions.MaskColumnName"/> is set, with every setting.</summary>
    /// <exception cref="ArgumentException">A setting is out of range, or inpainting asks for a stochastic sampler without RePaint.</exception>
    public ImageEditingEstimator Edit(DiffusionModel model, ImageEditingOptions options) => new(model, options);

    /// <summary>
    /// <c>mlContext.Model.Save(model, inputSchema, path)</c>, made safe for the file already at <paramref name="path"/>:
    /// ML.NET's own <c>Save(path)</c> opens the target with <c>File.Create</c> before anything is written, so a save that
    /// fails halfway (a full disk, a sampler a graph cannot hold, a transformer that cannot save) leaves the previous model
    /// destroyed. This one writes a temporary file beside the target and renames it over the target once complete.
    /// </summary>
    /// <param name="model">Any fitted transformer or chain (for a <see cref="DiffusionModel"/>, see its remarks on what is saved).</param>
    /// <param name="inputSchema">The schema of the data the model is applied to (a seeds view for a generator).</param>
    /// <param name="path">The .zip to write.</param>
    /// <exception cref="ArgumentException">The model cannot be saved (for a generator: DDPM or DDIM with η ≠ 0, or a seeds schema
    /// the saved transformers could not read: seeds or labels that are not Int32/Int64, a class-conditional model without a
    /// label column; for a chain ending in a generator, a stage before it that cannot be applied to <paramref name="inputSchema"/>,
    /// such as a fitted training pipeline given a seeds schema: save its <c>LastTransformer</c> instead); nothing is written.</exception>
    public void SaveModel(ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if ((model as DiffusionModel ?? (model as IEnumerable<ITransformer>)?.LastOrDefault() as DiffusionModel) is { } generator)
        {
            if (model is IEnumerable<ITransformer> chain)
            {
                BuiltInTransformerChain.CheckStagesBefore([.. chain], inputSchema);
            }

            BuiltInTransformerChain.CheckSeedsSchema(generator, inputSchema);
        }

        IO.AtomicFile.Write(path, stream => Context.Model.Save(model, inputSchema, stream));
    }

    /// <summary>
    /// Reads a model file back into a full <see cref="DiffusionModel"/> (any sampler, steps and guidance; fine-tuning;
    /// evaluation): a zip written by <c>mlContext.Model.Save</c> or <see cref="SaveModel"/> with a
    /// <see cref="DiffusionModel"/> in it (alone or as the last stage of a chain), by <see cref="DiffusionModel.Save(string)"/>,
    /// or in the previous format (version 1). See <see cref="DiffusionModel.Load"/>.
    /// </summary>
    /// <param name="path">The model .zip.</param>
    /// <param name="device">cpu, cuda, cuda:N or auto (the context's <see cref="MLContext.GpuDeviceId"/> when set, else CUDA when present).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid model; the message says why.</exception>
    public DiffusionModel LoadModel(string path, string device = "auto") =>
        DiffusionModel.Load(path, device == "auto" ? DiffusionTrainer.ContextDevice(Context) : device);

    /// <summary>A row of <see cref="CreateSeeds(int, long, IReadOnlyList{int})"/> for an unconditional model.</summary>
    internal sealed class SeedRow
    {
        public long Seed { get; set; }
    }

    /// <summary>A row of <see cref="CreateSeeds(int, long, IReadOnlyList{string})"/>: a seed and a class name.</summary>
    internal sealed class NamedSeedRow
    {
        public long Seed { get; set; }

        public string Label { get; set; } = string.Empty;
    }

    /// <summary>A row of <see cref="CreateSeeds(int, long, IReadOnlyList{int})"/> with a class.</summary>
    internal sealed class LabelledSeedRow
    {
        public long Seed { get; set; }

        public int Label { get; set; }
    }
}
