using System.IO.Compression;
using System.Text.Json;
using MLNet.Diffusion.ForwardProcess;
using MLNet.Diffusion.Images;
using MLNet.Diffusion.IO;
using MLNet.Diffusion.Models;
using MLNet.Diffusion.Onnx;
using TorchSharp;

namespace MLNet.Diffusion.ModelFormat;

/// <summary>Writes what a model file holds: the generator graph with the manifest and the sampler settings in its metadata, and the previous format.</summary>
internal static class ModelFileWriter
{
    /// <summary>
    /// The generator graph (opset 18) of <paramref name="network"/> for the deterministic sampler <paramref name="sampler"/>
    /// (a <see cref="Sampling.Samplers"/> name), with <paramref name="manifest"/> and the fixed settings in its <c>metadata_props</c>;
    /// with <paramref name="editing"/>, the image-to-image or inpainting graph.
    /// </summary>
    public static byte[] Graph(UNet2D network, NoiseSchedule schedule, PredictionType predictionType, PixelEncoding preprocessing, ModelManifest manifest,
        string sampler, int steps, double guidance, bool rgbForGray, EditingGraph? editing = null)
    {
        var unrolled = GeneratorGraph.CreateSampler(schedule, predictionType, sampler, steps);
        var settings = new GeneratorSettings(sampler, steps, guidance, [.. unrolled.Timesteps],
            editing is null ? null : editing.MaskChannels is null ? "edit" : "inpaint", editing is { MaskChannels: null } ? editing.Strength : null);
        var metadata = new Dictionary<string, string>
        {
            [OnnxModelFile.ManifestKey] = JsonSerializer.Serialize(manifest, JsonSettings.Options),
            [OnnxModelFile.SamplerKey] = JsonSerializer.Serialize(settings, JsonSettings.Options),
        };
        var model = GeneratorGraph.Build(network, unrolled, preprocessing, guidance, rgbForGray, metadata, editing);
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }

    /// <summary>
    /// Writes the previous model file format (version 1: manifest.json and ema.safetensors in our own zip), which
    /// <see cref="ModelFileReader"/> still reads; kept so that the compatibility is tested against real version-1 files.
    /// </summary>
    public static void WriteFormatVersion1(string path, ModelManifest manifest, UNet2D network)
    {
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            var v1 = manifest with { FormatVersion = 1, Weights = "ema.safetensors" };
            Write(zip, ModelFile.ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(v1, JsonSettings.Options));
            Write(zip, v1.Weights, Weights(network));
        });
    }

    private static byte[] Weights(UNet2D network)
    {
        using var scope = torch.NewDisposeScope();
        return Safetensors.Serialize(network.state_dict().Select(p => KeyValuePair.Create(p.Key, p.Value.to(torch.CPU))));
    }


    private static void Write(ZipArchive zip, string name, byte[] bytes)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        stream.Write(bytes);
    }
}
