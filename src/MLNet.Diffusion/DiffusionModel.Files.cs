using MLNet.Diffusion.IO;
using Microsoft.ML;
using MLNet.Diffusion.Sampling;
using MLNet.Diffusion.Pipeline;
using MLNet.Diffusion.ModelFormat;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Training;
using MLNet.Diffusion.Engine;
using TorchSharp;
using MLNet.Diffusion.Images;

namespace MLNet.Diffusion;

/// <content>The model file: saving as ML.NET's model zip, loading it back, and the generator as an ONNX graph; a model from a training checkpoint.</content>
public sealed partial class DiffusionModel
{
    /// <summary>
    /// Gives the trainer's evaluations (<see cref="DdpmTrainerOptions.EvaluateEvery"/>) the model file's writer for
    /// <c>best.zip</c>: training sits below the model file in the layers (docs/architecture.md) and cannot call it, so the
    /// front door hands it down when the assembly loads, whichever API starts the run.
    /// </summary>
#pragma warning disable CA2255 // A library's module initializer: the inversion above, with no other effect.
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterBestModelWriter() =>
        TrainingEvaluator.SaveModel = (path, network, options, step, losses, window, elapsed, imagesPerSecond) =>
        {
            using var model = FromRun(network, options, step, losses, window, elapsed, imagesPerSecond, preprocessing: null);
            model.Save(path);
        };

    /// <summary>
    /// Saves the model as ML.NET's built-in transformers around the generator graph (see the remarks of
    /// <see cref="DiffusionModel"/>); <c>mlContext.Model.Save</c> calls this. Throws <see cref="ArgumentException"/> when
    /// <see cref="TransformOptions"/> asks for a sampler a graph cannot hold (DDPM, DDIM with η &gt; 0, a churn).
    /// </summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => BuiltInTransformerChain.Save(this, ctx);

    /// <summary>
    /// The generator as an ONNX model (opset 18): inputs <c>seed</c> int64 [B, 1] (seeds in [0, 2⁶³)) and, for a
    /// class-conditional model, <c>label</c> int64 [B, 1] (class 0 to classes − 1, or −1 for none); output <c>pixels</c>
    /// float [B, C, S, S], whole numbers 0–255, planar. The image of a seed is the one <see cref="Transform"/> makes with
    /// the same <paramref name="options"/>' sampler, steps and guidance (ONNX Runtime and TorchSharp differ only by
    /// kernel rounding). The network's weights are initializers; <c>metadata_props</c> carry the manifest and the settings.
    /// </summary>
    /// <param name="options">Sampler (DDIM with η = 0, or DPM-Solver++), steps and guidance; default <see cref="TransformOptions"/>.
    /// Seed, labels and device are not part of a graph.</param>
    /// <exception cref="ArgumentException">The sampler is DDPM or DDIM with η &gt; 0, or the options set a churn (they draw
    /// noise every step), or the step count is out of range.</exception>
    public byte[] ToOnnx(GenerationOptions? options = null) => ToOnnx(options ?? TransformOptions, rgbForGray: false);

    /// <summary>Writes <see cref="ToOnnx(GenerationOptions?)"/>'s graph to <paramref name="path"/> (a temporary file, then renamed).</summary>
    public void ExportOnnx(string path, GenerationOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToOnnx(options);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    internal byte[] ToOnnx(GenerationOptions options, bool rgbForGray)
    {
        CheckGraphSampler(options);
        var (_, steps, guidance) = GraphSettings(options);
        return ModelFileWriter.Graph(_network, Schedule, PredictionType, Preprocessing, Manifest(), options.Sampler.ToString(), steps, guidance, rgbForGray);
    }

    private static void CheckGraphSampler(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Sampler == SamplerKind.Ddim && options.Eta != 0)
        {
            throw new ArgumentException($"An ONNX generator is deterministic: DDIM takes η = 0, not {options.Eta}.", nameof(options));
        }

        if (options.Churn != 0)
        {
            throw new ArgumentException($"An ONNX generator is deterministic: it takes no churn (Churn = 0, not {options.Churn}); churn adds noise at every step.", nameof(options));
        }

        ClassifierFreeGuidance.CheckScale(options.Guidance, nameof(options));
    }

    /// <summary>
    /// The editing graph for <paramref name="options"/> (opset 18): image-to-image when it has no <see cref="ImageEditingOptions.MaskColumnName"/>,
    /// deterministic inpainting when it has one. Inputs as <see cref="ToOnnx(GenerationOptions?)"/>'s, plus <c>image</c> float
    /// [B, C, S, S] in the model's pixel encoding (what <c>ExtractPixels</c> gave for training) and, for inpainting, <c>mask</c> float
    /// [B, 1, S, S] (above 0.5 keeps a pixel: 1 or 255 keeps, 0 generates); output <c>pixels</c> as generation's. The result of a seed is
    /// the one <c>mlContext.Diffusion().Edit</c> or <c>Inpaint</c> gives with the same options (the engines differ only by kernel rounding; kept
    /// pixels are the input's exactly on both). The strength, sampler, steps and guidance are fixed in the graph.
    /// </summary>
    /// <param name="options">The task and its sampling; column names and batch size are not part of a graph.</param>
    /// <exception cref="ArgumentException">The sampler is DDPM or DDIM with η &gt; 0, or the options ask for RePaint, which draws fresh noise at every
    /// step and jump and has no graph (use deterministic inpainting: RePaint = null).</exception>
    public byte[] ToOnnx(ImageEditingOptions options) => ToOnnx(options, maskChannels: 1, rgbForGray: false, labelInput: true);

    /// <summary>Writes <see cref="ToOnnx(ImageEditingOptions)"/>'s graph to <paramref name="path"/> (a temporary file, then renamed).</summary>
    public void ExportOnnx(string path, ImageEditingOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToOnnx(options);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    internal byte[] ToOnnx(ImageEditingOptions options, int maskChannels, bool rgbForGray, bool labelInput)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaskColumnName is not null && options.RePaint is not null)
        {
            throw new ArgumentException(
                "RePaint has no ONNX graph: it draws fresh noise at every step and jump. Inpaint deterministically instead (RePaint = null, with DPM-Solver++ " +
                "or DDIM at η = 0), which ONNX Runtime runs.", nameof(options));
        }

        Sampling.ImageEditing.CheckStrength(options.Strength, nameof(options));
        CheckEditSampler(options.Sampling, nameof(options));
        CheckGraphSampler(options.Sampling);
        // Without a label input every row is unconditional, and guidance between two unconditional outputs changes nothing.
        var (_, steps, guidance) = GraphSettings(labelInput ? options.Sampling : options.Sampling with { Guidance = 1 });
        var editing = new Onnx.EditingGraph(options.MaskColumnName is null ? options.Strength : 1, options.MaskColumnName is null ? null : maskChannels, labelInput);
        return ModelFileWriter.Graph(_network, Schedule, PredictionType, Preprocessing, Manifest(), options.Sampling.Sampler.ToString(), steps, guidance, rgbForGray, editing);
    }

    /// <summary>
    /// Writes the model file to <paramref name="path"/> (a temporary file, then renamed): ML.NET's model zip, as
    /// <c>mlContext.Model.Save(model, seeds.Schema, path)</c> writes it, with a seeds schema of an int64
    /// <see cref="SeedColumnName"/> (and an int32 <see cref="LabelColumnName"/> for a class-conditional model).
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var ml = new MLContext();
        var schema = BuiltInTransformerChain.EmptySeeds(ml, this).Schema;
        AtomicFile.Write(path, stream => ml.Model.Save(this, schema, stream));
    }

    /// <summary>The format version of the file <see cref="Load"/> read this model from; null for a model not loaded from a file.</summary>
    public int? LoadedFormatVersion { get; private init; }

    /// <summary>The sampler settings fixed in the generator graph of that file; null for a format-1 file or a graph that records none.</summary>
    internal Onnx.GeneratorSettings? LoadedSampler { get; private init; }

    /// <summary>
    /// The sampler, steps and guidance fixed in the generator graph of the file <see cref="Load"/> read this model from;
    /// null for a format-1 file, a graph that records none, or a model not loaded from a file.
    /// </summary>
    public (SamplerKind Sampler, int Steps, double Guidance)? LoadedGraphSettings =>
        LoadedSampler is { } s ? (Enum.Parse<SamplerKind>(s.Sampler), s.Steps, s.Guidance) : null;

    /// <summary>
    /// Writes the previous model file format (version 1: manifest.json and ema.safetensors in our own zip), which
    /// <see cref="Load"/> still reads; kept so that the compatibility is tested against real version-1 files.
    /// </summary>
    internal void SaveFormatVersion1(string path) => ModelFileWriter.WriteFormatVersion1(path, Manifest(), _network);

    /// <summary>
    /// Reads a model zip, checking everything before any weight is used: the format and its version, entry names
    /// (none may leave the archive), entry sizes, the configuration, and every tensor's name, shape and type. Reads
    /// ML.NET's model zip with a generator graph in it (format 2: what <see cref="Save(string)"/> and
    /// <c>mlContext.Model.Save</c> write, the model alone or as the last stage of a chain; the weights come from the
    /// graph's initializers, the description from its metadata) and the previous format 1 (manifest.json and
    /// safetensors). Parses only: no code from the file runs, no file is written.
    /// </summary>
    /// <param name="path">The model .zip.</param>
    /// <param name="device">cpu, cuda, cuda:N or auto.</param>
    /// <param name="maxEntryBytes">The largest zip entry accepted (default 4 GiB); a larger claim is refused before reading.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid model; the message names the file and the reason.</exception>
    public static DiffusionModel Load(string path, string device = "auto", long maxEntryBytes = DefaultMaxEntryBytes)
    {
        var file = ModelFileReader.Read(path, device, maxEntryBytes);
        try
        {
            // The sampler settings fixed in the graph become the transform's, so LoadModel and mlContext.Model.Load
            // of one file generate the same images.
            var graphSettings = file.FixedIn;
            var model = new DiffusionModel(file.Network, file.Manifest.Schedule, file.Manifest.PredictionType, file.Manifest.Training, file.Preprocessing)
            {
                TransformOptions = graphSettings is null
                    ? new GenerationOptions()
                    : new GenerationOptions { Sampler = Enum.Parse<SamplerKind>(graphSettings.Sampler), Steps = graphSettings.Steps, Guidance = graphSettings.Guidance },
                LoadedFormatVersion = file.Manifest.FormatVersion,
                LoadedSampler = graphSettings,
            };
            try
            {
                // Files written before names were recorded have none: their classes stay numbers.
                model.ClassNames = file.Manifest.ClassNames;
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"'{path}' is not a valid model: its class names do not fit it ({ex.Message})", ex);
            }

            return model;
        }
        catch
        {
            file.Network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A model from a training checkpoint (one of the <c>checkpoint-*.safetensors</c> files a <see cref="DdpmTrainer"/> run writes
    /// into its <see cref="DdpmTrainerOptions.CheckpointDirectory"/>): the network with the checkpoint's moving-average (EMA)
    /// weights, the run's model configuration, noise schedule and prediction type, its
    /// <see cref="DdpmTrainerOptions.PixelEncoding"/> (a checkpoint that records none reads as
    /// <see cref="PixelEncoding.ModelSpace"/>) and <see cref="DdpmTrainerOptions.ClassNames"/> (none recorded: the classes are
    /// numbered), and a <see cref="Training"/> summary of the run up to the checkpoint's step. This is the model
    /// <see cref="FromTraining"/> makes of the run's result at that step; <see cref="DdpmTrainer.Resume(string, ITrainingData, IProgress{TrainingProgress}?, long?, CancellationToken)"/>
    /// continues the run itself. Reads the checkpoint's manifest and its <c>ema.*</c> and <c>history.loss</c> tensors; the raw
    /// weights and the optimiser state are not used.
    /// </summary>
    /// <param name="path">The checkpoint (<see cref="TrainingCheckpoint.List"/> lists those of a directory, oldest first).</param>
    /// <param name="device">cpu, cuda, cuda:N or auto.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a training checkpoint this library reads (a model file, another
    /// safetensors file, another format version) or its weights do not fit its configuration; the message names the file.</exception>
    public static DiffusionModel FromCheckpoint(string path, string device = "auto")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        }

        var target = Devices.Parse(device);
        target.EnsureAvailable();
        if (IsZip(path))
        {
            throw new InvalidDataException($"'{path}' is a zip, as model files are, not a training checkpoint (a safetensors file): DiffusionModel.Load reads model files.");
        }

        var (manifest, content) = TrainingCheckpoint.Load(path);
        using (content)
        {
            // The state a resume reads, of which a model needs the moving average and the record of the run.
            var state = RestoredState.Read(manifest, content.Tensors, path);
            UNet2D? network = null;
            try
            {
                network = new UNet2D(manifest.Model.Validated());
                network.LoadStateDict(state.Ema);
                network.to(target);
            }
            catch (ArgumentException ex)
            {
                network?.Dispose();
                throw new InvalidDataException($"Checkpoint '{path}' is not valid: its moving-average weights do not fit its model configuration ({ex.Message})", ex);
            }
            catch
            {
                network?.Dispose();
                throw;
            }

            try
            {
                return FromRun(network, manifest.Options, manifest.Step, state.Losses, LossWindow.Size(manifest.TotalSteps() ?? manifest.Step), state.Elapsed,
                    state.ImagesPerSecond, preprocessing: null);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"Checkpoint '{path}' is not valid: its class names do not fit its model ({ex.Message})", ex);
            }
        }
    }

    private static bool IsZip(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("PK\u0003\u0004"u8);
    }

    private ModelManifest Manifest() => ModelManifest.Create(Config, ScheduleOptions, PredictionType, Preprocessing, Training, ClassNames);
}
