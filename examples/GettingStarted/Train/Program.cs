// Trains a class-conditional diffusion model on a folder of images, one sub-folder per class, and saves it as one .zip.
//   dotnet run -- <image-folder> <model.zip> [steps] [image-size] [preset]
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNet.Diffusion;
using MLNet.Diffusion.Training;

var imageFolder = args[0];
var modelPath = args[1];
var steps = args.Length > 2 ? int.Parse(args[2]) : 3000;
var size = args.Length > 3 ? int.Parse(args[3]) : 32;
var preset = args.Length > 4 ? args[4] : "small";

var ml = new MLContext(seed: 1);
ml.Log += (_, e) =>
{
    if (e.Kind is ChannelMessageKind.Info or ChannelMessageKind.Warning && e.Source.StartsWith("DiffusionTrainer", StringComparison.Ordinal))
    {
        Console.WriteLine(e.Message);                     // progress, now and then
    }
};
var rows = ml.Data.LoadFromEnumerable(Directory.GetFiles(imageFolder, "*", SearchOption.AllDirectories)
    .Where(file => Path.GetExtension(file).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg")
    .Select(file => new ImageRow { Path = Path.GetRelativePath(imageFolder, file), Label = Path.GetFileName(Path.GetDirectoryName(file)!) })
    .OrderBy(row => row.Label, StringComparer.Ordinal));  // classes numbered by folder name, ordinal, as the CLI does
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
    .Append(ml.Transforms.LoadImages("Image", imageFolder, "Path"))
    .Append(ml.Transforms.ResizeImages("Image", size, size))
    .Append(ml.Transforms.ExtractPixels("Pixels", "Image", offsetImage: 127.5f, scaleImage: 1 / 127.5f))
    .Append(ml.Diffusion().Train(TrainingRecipes.Default(new DiffusionTrainer.Options
    {
        LabelColumnName = "Label",                        // a class-conditional model; the folder names become its class names
        ModelPreset = preset,
        MaxSteps = steps,
        BatchSize = 8,
        ReportPath = Path.ChangeExtension(modelPath, ".html"),
    })));                                                 // the library's recipe (the CLI's and the demo's too)
var model = pipeline.Fit(rows);
using var generator = model.LastTransformer;              // the DiffusionModel: save it alone, not the whole chain
generator.Save(modelPath);                                // ML.NET's model zip, with the generator as an ONNX graph
Console.WriteLine($"saved {modelPath}: classes {string.Join(", ", generator.ClassNames ?? [])}");

/// <summary>One training image: its path relative to the folder, and its class (the sub-folder's name).</summary>
internal sealed class ImageRow
{
    public string Path { get; set; } = "";

    public string Label { get; set; } = "";
}
