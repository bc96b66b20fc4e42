using static TorchSharp.torch;
namespace MLNet.Diffusion.IO;

/// <summary>The tensors and metadata read from a safetensors file. Disposing it disposes the tensors.</summary>
internal sealed class SafetensorsContent : IDisposable
{
    internal SafetensorsContent(Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in Tensors.Values)
        {
            t.Dispose();
        }
    }
}
