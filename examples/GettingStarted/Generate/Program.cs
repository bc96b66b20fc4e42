// Generates images from a model .zip that MLNet.Diffusion saved, with ML.NET and ONNX Runtime only.
//   dotnet run -- <model.zip> <output-folder> [count] [class name]
using Microsoft.ML;
using Microsoft.ML.Data;

var modelPath = args[0];
var outputFolder = args[1];
var count = args.Length > 2 ? int.Parse(args[2]) : 8;
var className = args.Length > 3 ? args[3] : null;

var ml = new MLContext();
var generator = ml.Model.Load(modelPath, out var seedsSchema);

// A class-conditional model lists its classes as the key values of its ClassName column: class c is the c-th name.
var label = -1;                                           // -1: no class (unconditional)
if (generator.GetOutputSchema(seedsSchema).GetColumnOrNull("ClassName") is { } classColumn)
{
    VBuffer<ReadOnlyMemory<char>> keyValues = default;
    classColumn.GetKeyValues(ref keyValues);
    var names = keyValues.DenseValues().Select(name => name.ToString()).ToList();
    Console.WriteLine($"classes: {string.Join(", ", names)}");
    label = className is null ? -1 : names.IndexOf(className);
    if (className is not null && label < 0)
    {
        Console.Error.WriteLine($"'{className}' is not a class of this model");
        return 1;
    }
}

var seeds = ml.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new SeedRow { Seed = 1000 + i, Label = label }));
var images = generator.Transform(seeds);                  // lazy: each image is made when its row is read
Directory.CreateDirectory(outputFolder);
var index = 0;
foreach (var image in images.GetColumn<MLImage>("Image"))
{
    image.Save(Path.Combine(outputFolder, $"{index++:D4}.png"));
    image.Dispose();
}

(generator as IDisposable)?.Dispose();                    // deletes ONNX Runtime's copy of the graph
Console.WriteLine($"wrote {index} images to {outputFolder}");
return 0;

/// <summary>One image to make: the seed decides the image, the label its class (read by a class-conditional model).</summary>
internal sealed class SeedRow
{
    public long Seed { get; set; }

    public int Label { get; set; }
}
