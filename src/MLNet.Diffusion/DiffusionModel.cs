using System.Globalization;
using MLNet.Diffusion.Engine;
using MLNet.Diffusion.Models;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.Pipeline;
using MLNet.Diffusion.ModelFormat;

namespace MLNet.Diffusion;

/// <summary>
/// A trained diffusion model: the network, its noise schedule and what it predicts, ready to generate images and
/// to be saved as one model file: ML.NET's model zip holding the generator as an ONNX graph (x_T from the seed, the
/// sampling loop and the network with its moving-average weights), whose <c>metadata_props</c> carry the manifest
/// (format and library versions, model and schedule configuration, prediction type, preprocessing, training summary)
/// and the sampler settings fixed at save (docs/model-format.md).
/// </summary>
/// <remarks>
/// <para>
/// As an ML.NET <see cref="ITransformer"/> (what <c>mlContext.Diffusion().Train(...)</c> fits), the model maps a view with a
/// <see cref="SeedColumnName"/> column (an integer ≥ 0 per image) and, for a class-conditional model, an optional
/// <see cref="LabelColumnName"/> column (a key, or an integer class 0 to classes − 1; −1, or a missing key, for an unconditional
/// image) to the same rows plus an
/// <see cref="ImageColumnName"/> column of <see cref="MLImage"/>s (<see cref="Microsoft.ML.Transforms.Image.ImageDataViewType"/>) and a
/// <see cref="PixelsColumnName"/> column of floats [C, H, W] in 0–255 (whole numbers). Rows are generated lazily,
/// <see cref="TransformBatchSize"/> at a time, with <see cref="TransformOptions"/>; each image depends only on its seed and
/// label. <c>mlContext.Diffusion().CreateSeeds(...)</c> makes such a view; a <c>PredictionEngine</c> generates one row at a time.
/// </para>
/// <para>
/// A view without the seed column but with the training column (<see cref="FeatureColumnName"/>) passes through unchanged:
/// that is what an ML.NET <c>EstimatorChain</c> sees when it transforms the training data after fitting, and it costs nothing.
/// </para>
/// <para>
/// <c>mlContext.Model.Save</c> saves the model (alone or as the last stage of a fitted chain) as ML.NET's built-in
/// transformers — ConvertType, ApplyOnnxModel with the generator graph, ConvertToImage — so <c>mlContext.Model.Load</c>
/// needs Microsoft.ML, Microsoft.ML.OnnxTransformer and Microsoft.ML.ImageAnalytics, not this library or libtorch. The
/// graph fixes <see cref="TransformOptions"/>' sampler (DDIM with η = 0 or DPM-Solver++), steps and guidance.
/// <see cref="Load"/> reads such a zip (or one saved by <see cref="Save(string)"/>) back into a full model.
/// </para>
/// </remarks>
public sealed partial class DiffusionModel : ITransformer, IDisposable
{
    /// <summary>The model zip format this library writes (and the newest it reads).</summary>
    public const int FormatVersion = ModelFile.FormatVersion;

    /// <summary>The largest entry a model zip may hold (4 GiB; the ddpm-cifar10 weights are 143 MB).</summary>
    public const long DefaultMaxEntryBytes = 4L << 30;

    private readonly UNet2D _network;

    private DiffusionModel(UNet2D network, NoiseScheduleOptions schedule, PredictionType predictionType, TrainingSummary? training,
        PixelEncoding? preprocessing)
    {
        Preprocessing = preprocessing ?? PixelEncoding.ModelSpace(network.Config.InChannels);
        _network = network;
        _network.eval();
        ScheduleOptions = schedule;
        Schedule = new NoiseSchedule(schedule);
        PredictionType = predictionType;
        Training = training;
    }

    /// <summary>The network's configuration (image size, channels, classes, ...).</summary>
    public UNetConfig Config => _network.Config;

    /// <summary>The noise schedule's settings.</summary>
    public NoiseScheduleOptions ScheduleOptions { get; }

    /// <summary>The noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>What the network predicts.</summary>
    public PredictionType PredictionType { get; }

    /// <summary>The training run, when known.</summary>
    public TrainingSummary? Training { get; }

    /// <summary>
    /// How training images were turned into the model's values (colors, offset and scale, resizing), and so how generated
    /// values map back to pixels. Models saved before this was recorded read as <see cref="PixelEncoding.ModelSpace"/>.
    /// </summary>
    public PixelEncoding Preprocessing { get; }

    /// <summary>
    /// The classes' names in label order (index 0 first) for a class-conditional model, when known: an image folder's
    /// sub-folders, Fashion-MNIST's names, or the key values of the label column it was trained on; null when unknown or
    /// unconditional (then classes are numbers only). Saved in the model file's manifest.
    /// </summary>
    /// <exception cref="ArgumentException">Set on an unconditional model, with a count other than its classes, with an empty
    /// or repeated name, or with a name "-1" (the command line's unconditional label).</exception>
    public IReadOnlyList<string>? ClassNames
    {
        get => _classNames;
        set => _classNames = value is null ? null : ClassNameRules.Check(value, Config.NumClasses);
    }

    private IReadOnlyList<string>? _classNames;

    /// <summary>The input column of seeds (an integer column: Int32, Int64, UInt32 or UInt64; values ≥ 0) that <see cref="Transform"/> reads. Default "Seed".</summary>
    public string SeedColumnName { get; set; } = "Seed";

    /// <summary>
    /// The input column of class labels that <see cref="Transform"/> reads when present, for a class-conditional model: a key column
    /// (ML.NET's 1-based keys; a missing key, 0, is an unconditional image) or an integer column of classes 0 to classes − 1
    /// (−1, <see cref="GenerationOptions.UnconditionalLabel"/>, for an unconditional image). Default "Label".
    /// </summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>
    /// The class column that <see cref="Transform"/> adds for a class-conditional model given labels: a key of the classes
    /// (Key&lt;UInt32&gt;, class c is key c + 1, an unconditional row is the missing key 0) whose key values are the
    /// <see cref="ClassNames"/> (or "0", "1", ... when unknown), as MapValueToKey makes one. The saved model adds the same column,
    /// so an app with ML.NET and ONNX Runtime only reads the names from the loaded model's output schema (<c>GetKeyValues</c>).
    /// Default "ClassName".
    /// </summary>
    public string ClassNameColumnName { get; set; } = "ClassName";

    /// <summary>The <see cref="MLImage"/> column that <see cref="Transform"/> adds. Default "Image".</summary>
    public string ImageColumnName { get; set; } = "Image";

    /// <summary>The pixel column that <see cref="Transform"/> adds: floats [C, H, W] in 0–255, planar, the bytes of <see cref="ImageColumnName"/>. Default "Pixels".</summary>
    public string PixelsColumnName { get; set; } = "Pixels";

    /// <summary>The training column: a view that has it and no seed column passes through <see cref="Transform"/> unchanged. Default "Pixels".</summary>
    public string FeatureColumnName { get; set; } = "Pixels";

    /// <summary>
    /// How <see cref="Transform"/> samples (its <see cref="GenerationOptions.Seed"/> and labels are replaced by each row's),
    /// and what a save fixes in the generator graph (sampler, steps, guidance). A model read by <see cref="Load"/> starts
    /// with the settings fixed in its file.
    /// </summary>
    public GenerationOptions TransformOptions { get; set; } = new();

    /// <summary>Rows generated together by <see cref="Transform"/>'s views, ≥ 1. Default 16.</summary>
    public int TransformBatchSize { get; set; } = 16;

    /// <summary>The number of parameters of the network.</summary>
    public long ParameterCount => _network.ParameterCount();

    /// <summary>The network that generates (the moving-average weights). Owned by this model.</summary>
    public UNet2D Network => _network;

    /// <summary>A model with copies of the networks of a finished training run (the result can be disposed).</summary>
    /// <param name="result">The run.</param>
    /// <param name="preprocessing">How the training images became the model's values; null: the run's <see cref="DdpmTrainerOptions.PixelEncoding"/>, else 0–255 mapped to [−1, 1].</param>
    /// <remarks>The model's <see cref="ClassNames"/> are the run's <see cref="DdpmTrainerOptions.ClassNames"/>.</remarks>
    public static DiffusionModel FromTraining(TrainingResult result, PixelEncoding? preprocessing = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        return FromRun(Copy(result.EmaModel), result.Options, result.Steps, result.Losses, result.LossWindowSize, result.Elapsed, result.ImagesPerSecond, preprocessing);
    }

    /// <summary>
    /// The model of a run at step <paramref name="steps"/>, from what the run recorded up to it: one rule for
    /// <see cref="FromTraining"/> (a finished run) and <see cref="FromCheckpoint"/> (a run's checkpoint), so that both give the
    /// same model and the same <see cref="TrainingSummary"/>. Takes <paramref name="network"/> (the moving-average weights),
    /// disposing it when the model cannot be made.
    /// </summary>
    /// <exception cref="ArgumentException">The options' class names do not fit the network.</exception>
    internal static DiffusionModel FromRun(UNet2D network, DdpmTrainerOptions options, long steps, IReadOnlyList<double> losses, int lossWindow, TimeSpan elapsed,
        double imagesPerSecond, PixelEncoding? preprocessing)
    {
        try
        {
            var summary = new TrainingSummary(steps, options.BatchSize * options.GradientAccumulationSteps, LossWindow.Mean(losses, lossWindow), options.Seed ?? 0, elapsed.TotalSeconds, imagesPerSecond);
            return new DiffusionModel(network, options.Schedule, options.PredictionType, summary, preprocessing ?? options.PixelEncoding)
            {
                ClassNames = options.ClassNames,
            };
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static UNet2D Copy(UNet2D source)
    {
        var copy = new UNet2D(source.Config);
        copy.to(source.parameters().First().device);
        copy.LoadStateDict(source.state_dict());
        return copy;
    }

    /// <summary>
    /// Generates <paramref name="count"/> images, [count, C, H, W] in [−1, 1] (clamped), on the model's device.
    /// The same seed gives the same images, whatever the count.
    /// </summary>
    public Tensor Generate(int count, GenerationOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        options ??= new GenerationOptions();
        return GenerateSeeds([.. Enumerable.Range(0, count).Select(i => options.Seed + (ulong)i)], options);
    }

    /// <summary>Turns generated values [N, C, H, W] back into 8-bit images through <see cref="Preprocessing"/>, rounded and clamped to 0–255.</summary>
    /// <exception cref="ArgumentException">The tensor is not floating-point [N, C, H, W] with this model's channels.</exception>
    public Image[] ConvertToImages(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var shape = values.shape;
        if (shape.Length != 4 || shape[1] != Config.InChannels || !values.dtype.IsFloatingPoint())
        {
            throw new ArgumentException($"Expected floating-point values [N, {Config.InChannels}, H, W]; got [{string.Join(", ", shape)}] {values.dtype.Name()}.", nameof(values));
        }

        float[] all;
        using (torch.NewDisposeScope())
        {
            all = values.detach().to(torch.CPU).to(ScalarType.Float32).contiguous().data<float>().ToArray();
        }

        var (channels, height, width) = ((int)shape[1], (int)shape[2], (int)shape[3]);
        var size = channels * height * width;
        return [.. Enumerable.Range(0, (int)shape[0]).Select(n =>
            ImagePixels.ToImage(all.AsSpan(n * size, size), width, height, channels, Preprocessing.ToPixel))];
    }

    /// <summary>
    /// The inverse of <see cref="ConvertToImages"/>: 8-bit images as this model's values [N, C, S, S] through <see cref="Preprocessing"/>
    /// (converted to the model's channels, alpha composited onto black, resized to its size S as <paramref name="resizing"/> says, padding
    /// black) — what <see cref="Edit"/> and <see cref="Inpaint"/> take. An image already of the model's size is not resampled, so its
    /// values turn back into the same bytes.
    /// </summary>
    /// <param name="images">Any sizes, 1 to 4 channels.</param>
    /// <param name="resizing">How an image of another size becomes square: crop (the default, as training on a folder does), pad or stretch.</param>
    /// <returns>float32 [N, C, S, S] on the CPU.</returns>
    public Tensor ConvertFromImages(IReadOnlyList<Image> images, ImageResizeMode resizing = ImageResizeMode.IsoCrop)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfZero(images.Count);
        var (channels, size) = (Config.InChannels, Config.ImageSize);
        using var scope = torch.NewDisposeScope();
        var converted = images.Select(image =>
        {
            var pixels = ImagePixels.Composite(image, channels);
            for (var i = 0; i < pixels.Length; i++)
            {
                pixels[i] = Preprocessing.ToValue(pixels[i]);
            }

            var values = torch.tensor(pixels, [1, channels, image.Height, image.Width]);
            return ImageResize.Apply(values, size, size, resizing, padValue: Preprocessing.ToValue(0));
        }).ToArray();
        return scope.MoveToOuter(torch.cat(converted, 0).contiguous());
    }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <summary>
    /// The schema <see cref="Transform"/> gives: <paramref name="inputSchema"/> plus the image and pixel columns when it has the seed
    /// column; <paramref name="inputSchema"/> itself when it has only the training column.
    /// </summary>
    /// <exception cref="ArgumentException">The seed or label column has the wrong type, or there is neither a seed nor a training column; the message names the column.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return GenerationColumns.Bind(this, inputSchema) is { } bound ? bound.OutputSchema : inputSchema;
    }

    /// <summary>
    /// Adds generated images to a view of seeds (and labels), lazily and <see cref="TransformBatchSize"/> rows at a time; passes a view
    /// of training rows through unchanged (see the remarks).
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="GetOutputSchema"/>.</exception>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(TransformBatchSize, 1, nameof(TransformBatchSize));
        return GenerationColumns.Bind(this, input.Schema) is { } bound ? new GeneratedDataView(input, bound, TransformBatchSize) : input;
    }

    /// <summary>The row-by-row form of <see cref="Transform"/>, which ML.NET's <c>PredictionEngine</c> uses.</summary>
    /// <exception cref="ArgumentException">As <see cref="GetOutputSchema"/>.</exception>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return GenerationColumns.Bind(this, inputSchema) is { } bound ? new GenerationRowMapper(bound) : new GenerationRowMapper(inputSchema);
    }

    /// <summary>Images for <paramref name="seeds"/> (and per-image <paramref name="labels"/>) as planar 0–255 floats [N, C, H, W], rounded and clamped.</summary>
    internal float[] GeneratePixels(ulong[] seeds, int[]? labels)
    {
        var options = TransformOptions with { Seed = 0, Label = null, Labels = labels };
        using var scope = torch.NewDisposeScope();
        using var values = GenerateSeeds(seeds, options);
        var all = values.to(torch.CPU).contiguous().data<float>().ToArray();
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = Preprocessing.ToPixel(all[i]);
        }

        return all;
    }

    private Tensor GenerateSeeds(ulong[] seeds, GenerationOptions options) =>
        Sample(seeds, options, null, (sampler, denoiser, noise, steps, _) => SamplingLoop.Run(sampler, denoiser,
            [seeds.Length, Config.InChannels, Config.ImageSize, Config.ImageSize], noise, steps));

    /// <summary>
    /// Image-to-image (SDEdit, Meng et al. 2022; <see cref="ImageEditing.ImageToImage"/>): each image [N, C, H, W] (the model's size and
    /// channels, values in [−1, 1] as the model was trained on) noised part-way with its seed's x_T and denoised by the last
    /// ⌊steps × <paramref name="strength"/>⌋ steps of the sampler's grid. Seeds are <see cref="GenerationOptions.Seed"/> + i, labels and
    /// guidance as for <see cref="Generate"/>. Strength 0 returns the images; strength 1 is <see cref="Generate"/> with the same options.
    /// </summary>
    /// <param name="images">[N, C, H, W] in [−1, 1], any device.</param>
    /// <param name="strength">0 to 1: how much of the grid runs.</param>
    /// <param name="options">Sampler, steps, seed, labels, guidance; null: the defaults.</param>
    /// <returns>[N, C, H, W] in [−1, 1] (clamped) on the model's device.</returns>
    /// <exception cref="ArgumentException">The images are not [N, C, H, W] of this model, or <paramref name="strength"/> is outside [0, 1].</exception>
    public Tensor Edit(Tensor images, double strength, GenerationOptions? options = null) =>
        EditSeeded(EditSeeds(images, options ??= new GenerationOptions()), images, strength, options);

    private Tensor EditSeeded(ulong[] seeds, Tensor images, double strength, GenerationOptions options)
    {
        CheckEditSampler(options, nameof(options));
        return Sample(seeds, options, images, (sampler, denoiser, noise, steps, x0) => ImageEditing.ImageToImage(sampler, denoiser, x0!, noise, steps, strength));
    }

    /// <summary>
    /// Fills the pixels where <paramref name="mask"/> is 0 and keeps those where it is 1 (RePaint's convention), returning kept pixels equal
    /// to the input's. With <paramref name="rePaint"/> null: deterministic inpainting with the options' sampler (DDIM with η = 0 or
    /// DPM-Solver++; <see cref="ImageEditing.Inpaint"/>); with it: RePaint with DDPM steps and jumps (<see cref="ImageEditing.RePaint"/>).
    /// Seeds, labels and guidance as for <see cref="Edit"/>.
    /// </summary>
    /// <param name="images">[N, C, H, W] in [−1, 1].</param>
    /// <param name="mask">[N or 1, 1 or C, H, W] of 0 and 1.</param>
    /// <param name="options">Sampler (deterministic inpainting), steps, seed, labels, guidance; null: the defaults.</param>
    /// <param name="rePaint">RePaint's jump length and count; null for deterministic inpainting.</param>
    /// <exception cref="ArgumentException">Shapes do not fit, the mask holds other values, or a stochastic sampler is asked for without RePaint.</exception>
    public Tensor Inpaint(Tensor images, Tensor mask, GenerationOptions? options = null, RePaintOptions? rePaint = null) =>
        InpaintSeeded(EditSeeds(images, options ??= new GenerationOptions()), images, mask, options, rePaint);

    /// <summary>The sampler refusal of deterministic inpainting, before any work.</summary>
    internal static void CheckInpaintSampler(GenerationOptions options, RePaintOptions? rePaint, string parameterName)
    {
        if (rePaint is not null)
        {
            return;  // RePaint takes DDPM steps whatever the options' sampler
        }

        CheckEditSampler(options, parameterName);
        if (!options.Sampler.IsDeterministic(options.Eta))
        {
            throw new ArgumentException(
                $"Deterministic inpainting needs a deterministic sampler (DPM-Solver++, or DDIM with η = 0), not {options.Sampler.ToName()}{(options.Eta != 0 ? $" with η = {options.Eta}" : string.Empty)}; " +
                "for DDPM steps with resampling, pass RePaintOptions.", parameterName);
        }
    }

    /// <summary>The refusal of a churn the sampler does not take, before any work.</summary>
    internal static void CheckChurn(GenerationOptions options)
    {
        if (options.Churn != 0 && !options.Sampler.TakesChurn())
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Churn (EDM's S_churn) applies to the Euler and Heun samplers, not to {options.Sampler.ToName()}; set Churn = 0 or choose SamplerKind.Euler or SamplerKind.Heun (got Churn = {options.Churn})."),
                nameof(options));
        }
    }

    /// <summary>The refusal of Heun and Euler for image-to-image and inpainting, before any work.</summary>
    internal static void CheckEditSampler(GenerationOptions options, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(options, parameterName);
        CheckChurn(options);
        if (!Samplers.CanEdit(options.Sampler.ToString()))
        {
            throw new ArgumentException(
                $"Image-to-image and inpainting run DPM-Solver++, DDIM or DDPM (RePaint), not {options.Sampler.ToName()}: Heun and Euler on the Karras grid generate from noise only.",
                parameterName);
        }
    }

    private Tensor InpaintSeeded(ulong[] seeds, Tensor images, Tensor mask, GenerationOptions options, RePaintOptions? rePaint)
    {
        CheckInpaintSampler(options, rePaint, nameof(options));
        var result = rePaint is null
            ? Sample(seeds, options, images, (sampler, denoiser, noise, steps, x0) => ImageEditing.Inpaint(sampler, denoiser, x0!, mask, noise, steps))
            : Sample(seeds, options with { Sampler = SamplerKind.Ddpm }, images, (sampler, denoiser, noise, steps, x0) =>
                ImageEditing.RePaint((DdpmSampler)sampler, denoiser, x0!, mask, noise, rePaint.Steps, rePaint.JumpLength, rePaint.JumpCount));
        using var scope = torch.NewDisposeScope();
        var keep = mask.to(result.device).eq(1).expand(result.shape);
        var exact = torch.where(keep, images.to(result.device).to(result.dtype), result);
        result.Dispose();
        return scope.MoveToOuter(exact);
    }

    /// <summary>
    /// Edited or inpainted images of <paramref name="task"/> for one batch of rows: their seeds, labels, planar model values
    /// [N × C × S × S] and, for inpainting, keep-flags (0 or 1, [N × (1 or C) × S × S]); the result as planar 0–255 floats, rounded.
    /// </summary>
    internal float[] EditPixels(ImageEditingOptions task, ulong[] seeds, int[]? labels, float[] images, float[]? masks)
    {
        var (channels, size) = (Config.InChannels, Config.ImageSize);
        var count = seeds.Length;
        var options = task.Sampling with { Seed = 0, Label = null, Labels = labels };
        using var scope = torch.NewDisposeScope();
        var x0 = torch.tensor(images, [count, channels, size, size]);
        var result = masks is null
            ? EditSeeded(seeds, x0, task.Strength, options)
            : InpaintSeeded(seeds, x0, torch.tensor(masks, [count, masks.Length / (count * size * size), size, size]), options, task.RePaint);
        var all = result.to(torch.CPU).contiguous().data<float>().ToArray();
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = Preprocessing.ToPixel(all[i]);
        }

        return all;
    }

    private ulong[] EditSeeds(Tensor images, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(images);
        var shape = images.shape;
        if (shape.Length != 4 || shape[0] < 1 || shape[1] != Config.InChannels || shape[2] != Config.ImageSize || shape[3] != Config.ImageSize)
        {
            throw new ArgumentException(
                $"Images must be [N, {Config.InChannels}, {Config.ImageSize}, {Config.ImageSize}] (this model's channels and size); got [{string.Join(", ", shape)}].", nameof(images));
        }

        return [.. Enumerable.Range(0, (int)shape[0]).Select(i => options.Seed + (ulong)i)];
    }

    // One sampling run: the device, labels, sampler, steps, guided network and per-seed noise of the options, then what `run` does with
    // them (given the input images on the device, when there are any); the result is clamped to [−1, 1].
    private Tensor Sample(ulong[] seeds, GenerationOptions options, Tensor? images,
        Func<IDiffusionSampler, Denoiser, SamplingNoise, int, Tensor?, Tensor> run)
    {
        CheckChurn(options);
        var count = seeds.Length;
        var device = options.Device is null ? _network.parameters().First().device : Devices.Parse(options.Device);
        device.EnsureAvailable();
        _network.to(device);
        using var scope = torch.NewDisposeScope();
        var labels = Labels(count, options, device);
        var sampler = Samplers.Create(options.Sampler.ToString(), Schedule, new SamplerOptions { PredictionType = PredictionType, Eta = options.Eta, Churn = options.Churn });
        var steps = StepsFor(options);
        using var noise = SamplingNoise.PerSample(seeds, device);
        var result = run(sampler, UNetDenoiser.Create(_network, labels, labels is null ? 1 : options.Guidance), noise, steps,
            images?.to(device).to(ScalarType.Float32));
        return scope.MoveToOuter(result.clamp(-1, 1));
    }

    /// <summary>Disposes the network.</summary>
    public void Dispose() => _network.Dispose();

    /// <summary>
    /// The sampler, steps and guidance a generator graph made for <paramref name="options"/> fixes: the sampler's default
    /// steps when none are given, and guidance 1 for an unconditional model (which has nothing to steer toward).
    /// </summary>
    /// <param name="options">The generation options a graph is asked for.</param>
    public (SamplerKind Sampler, int Steps, double Guidance) GraphSettings(GenerationOptions options) =>
        (options.Sampler, StepsFor(options), Config.NumClasses is null ? 1 : options.Guidance);

    private int StepsFor(GenerationOptions options) => options.Steps ?? DefaultSteps(options.Sampler);

    /// <summary>
    /// The sampler's usual step count: DDPM all training steps, DDIM 50, DPM-Solver++ and Euler 20, Heun 10 (19 network evaluations);
    /// at most the training steps.
    /// </summary>
    /// <param name="sampler">The sampler.</param>
    public int DefaultSteps(SamplerKind sampler) => Samplers.DefaultSteps(sampler.ToString(), Schedule.TrainTimesteps);

    /// <summary>Refuses labels outside 0 to classes − 1 that are not <see cref="GenerationOptions.UnconditionalLabel"/>.</summary>
    /// <exception cref="ArgumentException">The model is unconditional, or a label is out of range (naming them).</exception>
    /// <param name="labels">The labels.</param>
    /// <param name="parameterName">The parameter (or option) the message names.</param>
    public void CheckLabels(IEnumerable<int> labels, string parameterName)
    {
        if (Config.NumClasses is not { } classes)
        {
            throw new ArgumentException("This model is unconditional; it takes no labels.", parameterName);
        }

        var bad = labels.Where(l => l is < GenerationOptions.UnconditionalLabel || l >= classes).Distinct().ToList();
        if (bad.Count > 0)
        {
            throw new ArgumentException(
                $"Labels must be in [0, {classes - 1}], or {GenerationOptions.UnconditionalLabel} for an unconditional image; got {string.Join(", ", bad)}.", parameterName);
        }
    }

    private Tensor? Labels(int count, GenerationOptions options, Device device)
    {
        if (options.Labels is null && options.Label is null)
        {
            return null;
        }

        var labels = options.Labels?.ToArray() ?? Enumerable.Repeat(options.Label!.Value, count).ToArray();
        CheckLabels(labels, nameof(options));
        if (labels.Length != count)
        {
            throw new ArgumentException($"{labels.Length} labels were given for {count} images.", nameof(options));
        }

        // The network's null label is its class count (UNet2D.NullLabel).
        var nullLabel = (long)Config.NumClasses!.Value;
        return torch.tensor(labels.Select(l => l == GenerationOptions.UnconditionalLabel ? nullLabel : l).ToArray(), device: device);
    }
}
