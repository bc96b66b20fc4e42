using TorchSharp;
using static TorchSharp.torch;
namespace MLNet.Diffusion.Pipelines;

/// <summary>Saving and loading model zips (see <see cref="DiffusionModel.Save"/> and <see cref="DiffusionModel.Load"/>).</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Catalog methods are instance methods, as in ML.NET: context.Transforms.LoadImages(...).")]
public sealed class ModelOperationsCatalog
{
    private readonly DiffusionContext _context;

    internal ModelOperationsCatalog(DiffusionContext context) => _context = context;

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> as one zip, atomically (a temporary file, then renamed).</summary>
    public void Save(DiffusionModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Save(path);
    }

    /// <summary>Reads and validates a model zip, onto the context's device.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid model; the message says why.</exception>
    public DiffusionModel Load(string path) => DiffusionModel.Load(path, _context.Device);
}
