using MLNet.Diffusion.IO;
using System.Globalization;
using System.Text.Json;
using MLNet.Diffusion.Models;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Training;

/// <summary>
/// A training checkpoint: one safetensors file holding the model (<c>model.*</c>), its moving average
/// (<c>ema.*</c>), the optimiser state (<c>optimizer.*</c>), the random generators' states (<c>rng.*</c>) and the
/// loss and learning rate of every step so far (<c>history.loss</c>, <c>history.lr</c>, float64), with a JSON manifest in
/// the metadata: format version, step, data position, the full options (with the pixel encoding and class names) and model
/// config, and what the run has recorded (training time, images trained). Written to a temporary file and renamed, so a checkpoint on disk is always complete.
/// </summary>
public sealed class TrainingCheckpoint
{
    /// <summary>The format written by this version.</summary>
    public const int FormatVersion = 1;

    /// <summary>The float64 tensor of the losses of the last steps, oldest first, ending with step <see cref="Step"/>: every step for runs of this version.</summary>
    internal const string LossHistoryTensor = "history.loss";

    /// <summary>
    /// The float64 tensor of the learning rate of each step of <see cref="LossHistoryTensor"/>, aligned with it; absent in
    /// checkpoints of earlier versions.
    /// </summary>
    internal const string LearningRateHistoryTensor = "history.lr";

    private const string ManifestKey = "mlnet-diffusion.checkpoint";

    /// <summary>Optimiser steps completed.</summary>
    public required long Step { get; init; }

    /// <summary>The pass over the data the next batch comes from.</summary>
    public required long Epoch { get; init; }

    /// <summary>The position of the next example in that pass's order.</summary>
    public required long Position { get; init; }

    /// <summary>The options of the run.</summary>
    public required DdpmTrainerOptions Options { get; init; }

    /// <summary>The model's configuration.</summary>
    public required UNetConfig Model { get; init; }

    /// <summary>
    /// The intra-op CPU thread count the run used (null in checkpoints of earlier versions). A resumed run uses it
    /// again unless its options name another, since the count can change the last bits of CPU results.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>Training time of the run so far in seconds, summed over every resumed part. Null in checkpoints of earlier versions.</summary>
    public double? ElapsedSeconds { get; init; }

    /// <summary>Training images of the run so far (steps × batch size × accumulation). Null in checkpoints of earlier versions.</summary>
    public long? ImagesTrained { get; init; }

    /// <summary>
    /// Examples in one pass of the run's data, which with the seed decides the data order: a run resumes only on data of
    /// the same size. Null in checkpoints of earlier versions.
    /// </summary>
    public long? ExampleCount { get; init; }

    /// <summary>The run's evaluation curve so far (<see cref="DdpmTrainerOptions.EvaluateEvery"/>); null when it made none.</summary>
    public IReadOnlyList<TrainingEvaluation>? Evaluations { get; init; }

    /// <summary>The library version that wrote it.</summary>
    public string LibraryVersion { get; init; } = typeof(TrainingCheckpoint).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>
    /// The run's total optimiser steps: <see cref="DdpmTrainerOptions.MaxSteps"/>, or for a run of
    /// <see cref="DdpmTrainerOptions.Epochs"/> the steps those passes over <see cref="ExampleCount"/> examples take. Null for a
    /// run of epochs in a checkpoint of an earlier version, which records no example count.
    /// </summary>
    public long? TotalSteps() =>
        Options.Epochs is null ? Options.MaxSteps
        : ExampleCount is { } examples ? DdpmTrainer.TotalSteps(Options, examples)
        : null;

    /// <summary>The path of the checkpoint of <paramref name="step"/> in <paramref name="directory"/>.</summary>
    public static string PathFor(string directory, long step) =>
        System.IO.Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"checkpoint-{step:D8}.safetensors"));

    /// <summary>The checkpoints in <paramref name="directory"/>, oldest first.</summary>
    public static IReadOnlyList<string> List(string directory) =>
        Directory.Exists(directory)
            ? [.. Directory.GetFiles(directory, "checkpoint-*.safetensors").Order(StringComparer.Ordinal)]
            : [];

    internal static void Save(string path, TrainingCheckpoint manifest, IEnumerable<KeyValuePair<string, Tensor>> tensors) =>
        Safetensors.Save(path, tensors, new Dictionary<string, string> { [ManifestKey] = JsonSerializer.Serialize(new Manifest(FormatVersion, manifest), JsonSettings.Options) });

    /// <summary>
    /// Reads the manifest of the checkpoint <paramref name="path"/> without its tensors: what a run was set up with
    /// (<see cref="Options"/>, <see cref="Model"/>) and how far it got, e.g. to build the options of a resumed run from.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a training checkpoint this library reads.</exception>
    public static TrainingCheckpoint Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        }

        IReadOnlyDictionary<string, string> metadata;
        try
        {
            metadata = Safetensors.ReadMetadata(path);
        }
        catch (InvalidDataException ex)
        {
            throw NotACheckpoint(path, ex);
        }

        return Parse(path, metadata);
    }

    /// <summary>
    /// Whether <paramref name="path"/> is an existing training checkpoint (a safetensors file with this library's
    /// checkpoint manifest), so that a tool given one where it wants a model can say what the file is.
    /// </summary>
    /// <param name="path">Any path.</param>
    public static bool IsCheckpointFile(string path)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return false;
        }

        try
        {
            _ = Read(path);
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or JsonException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Reads a checkpoint; the caller disposes the returned tensors.</summary>
    internal static (TrainingCheckpoint Manifest, SafetensorsContent Content) Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        }

        SafetensorsContent content;
        try
        {
            content = Safetensors.Load(path);
        }
        catch (InvalidDataException ex)
        {
            // A checkpoint's manifest in a file whose tensors cannot be read: a checkpoint cut short (a full disk, a partial copy).
            throw IsCheckpointFile(path) ? new InvalidDataException($"Checkpoint '{path}' cannot be read: {ex.Message}", ex) : NotACheckpoint(path, ex);
        }

        try
        {
            return (Parse(path, content.Metadata), content);
        }
        catch
        {
            content.Dispose();
            throw;
        }
    }

    // A file that is not even safetensors: said in checkpoint terms, with what a checkpoint is.
    private static InvalidDataException NotACheckpoint(string path, InvalidDataException ex) =>
        new($"'{path}' is not a training checkpoint (one of the checkpoint-*.safetensors files a run writes into its DdpmTrainerOptions.CheckpointDirectory): {ex.Message}", ex);

    private static TrainingCheckpoint Parse(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(ManifestKey, out var json))
        {
            throw new InvalidDataException($"'{path}' is a safetensors file but not an MLNet.Diffusion training checkpoint (no {ManifestKey} metadata).");
        }

        Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(json, JsonSettings.Options);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Checkpoint '{path}' has an unreadable manifest: {ex.Message}", ex);
        }

        if (manifest?.State is null)
        {
            throw new InvalidDataException($"Checkpoint '{path}' has an empty manifest.");
        }

        if (manifest.FormatVersion != FormatVersion)
        {
            throw new InvalidDataException($"Checkpoint '{path}' has format version {manifest.FormatVersion}; this library reads version {FormatVersion}.");
        }

        return manifest.State;
    }

    private sealed record Manifest(int FormatVersion, TrainingCheckpoint State);
}
