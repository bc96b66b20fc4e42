using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNet.Diffusion.IO;

/// <summary>The JSON settings of every manifest we write (model files, checkpoints, graphs, reports): enums by name, compact.</summary>
internal static class JsonSettings
{
    /// <summary>Enums as their member names (so files read the same whatever the enum's order), no indentation.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = false,
    };
}
