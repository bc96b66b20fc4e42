using MLNet.Diffusion.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.Diffusion.Pipelines;

/// <summary>
/// The starting point of a pipeline, as ML.NET's <c>MLContext</c> is: the catalogs <see cref="Data"/>, <see cref="Transforms"/>
/// and <see cref="Model"/> (and <c>Diffusion()</c> for trainers), a seed, a device, and a <see cref="Log"/>.
/// </summary>
public sealed class DiffusionContext
{
    /// <summary>A context.</summary>
    /// <param name="seed">
    /// The seed of shuffles and training runs that are not given their own (a trainer's <see cref="Training.DdpmTrainerOptions.Seed"/>
    /// of 0, the default, takes it). Null: training keeps its options' seed and shuffles draw a random one.
    /// </param>
    /// <param name="device">cpu, cuda, cuda:N or auto (the default): where training runs and loaded models live, unless their options say otherwise.</param>
    /// <exception cref="ArgumentException">The device is not one of those.</exception>
    public DiffusionContext(ulong? seed = null, string device = "auto")
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        _ = Devices.Parse(device);
        (Seed, Device) = (seed, device);
        Data = new DataOperationsCatalog(this);
        Transforms = new TransformsCatalog();
        Model = new ModelOperationsCatalog(this);
    }

    /// <summary>Messages from the context's components: training progress once in a while, start and end of runs.</summary>
    public event EventHandler<DiffusionLogEventArgs>? Log;

    /// <summary>The context's seed, if it has one.</summary>
    public ulong? Seed { get; }

    /// <summary>The device of training and loading: cpu, cuda, cuda:N or auto.</summary>
    public string Device { get; }

    /// <summary>Loading, caching, shuffling and taking rows.</summary>
    public DataOperationsCatalog Data { get; }

    /// <summary>Image transforms: LoadImages, ResizeImages, ExtractPixels, ConvertToImage.</summary>
    public TransformsCatalog Transforms { get; }

    /// <summary>Saving and loading models.</summary>
    public ModelOperationsCatalog Model { get; }

    internal void WriteLog(string source, string message) => Log?.Invoke(this, new DiffusionLogEventArgs(source, message));
}
