using System.Buffers.Binary;
using System.Text;

namespace MLNet.Diffusion.Torch.Tests;

[TestClass]
public sealed class SafetensorsTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void SaveLoad_EveryDtype_RoundTripsValuesShapesAndMetadata()
    {
        using var scope = LibTorch.NewDisposeScope();
        var source = LibTorch.Arange(-3.0, 3.0, 1.0, ScalarType.Float64).Reshape(2, 3);
        var tensors = new Dictionary<string, Tensor>
        {
            ["f64"] = source,
            ["f32"] = source.To(ScalarType.Float32),
            ["f16"] = source.To(ScalarType.Float16),
            ["bf16"] = source.To(ScalarType.BFloat16).Reshape(3, 2),
            ["i64"] = source.To(ScalarType.Int64),
            ["i32"] = source.To(ScalarType.Int32).Flatten(),
            ["i16"] = source.To(ScalarType.Int16),
            ["i8"] = source.To(ScalarType.Int8),
            ["u8"] = (source + 3).To(ScalarType.UInt8),
            ["bool"] = source.Gt(0),
            ["scalar"] = LibTorch.Scalar(7),
            ["empty"] = LibTorch.Zeros([0, 4]),
        };
        var path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), $"roundtrip-{Guid.NewGuid():N}.safetensors");
        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo" });

        using var loaded = Safetensors.Load(path);
        CollectionAssert.AreEquivalent(tensors.Keys.ToArray(), loaded.Tensors.Keys.ToArray());
        foreach (var (name, expected) in tensors)
        {
            var actual = loaded.Tensors[name];
            Assert.AreEqual(expected.Dtype, actual.Dtype, name);
            CollectionAssert.AreEqual(expected.Shape, actual.Shape, name);
            CollectionAssert.AreEqual(expected.ToBytes(), actual.ToBytes(), name);
        }

        Assert.AreEqual("héllo", loaded.Metadata["note"]);
        Assert.AreEqual(0, (new FileInfo(path).Length - 8 - (long)HeaderLength(File.ReadAllBytes(path)) - tensors.Values.Sum(t => t.ToBytes().LongLength)));
        File.Delete(path);
    }

    [TestMethod]
    public void Serialize_WritesThePublishedLayout()
    {
        using var scope = LibTorch.NewDisposeScope();
        var bytes = Safetensors.Serialize([new("w", LibTorch.FromArray(new float[] { 1, 2 }))]);
        var headerLength = HeaderLength(bytes);
        Assert.AreEqual(0UL, headerLength % 8, "the header is padded to 8 bytes");
        var header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd(' ');
        Assert.AreEqual("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", header);
        CollectionAssert.AreEqual(BitConverter.GetBytes(1f).Concat(BitConverter.GetBytes(2f)).ToArray(), bytes[(8 + (int)headerLength)..]);
    }

    [TestMethod]
    public void Deserialize_HandWrittenFile_ReadsTensorsInAnyOrder()
    {
        // Written by hand, as another implementation might: tensors listed out of offset order, unpadded header.
        var header = "{\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[4,12]},\"a\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]}}";
        var file = Build(header, [1, 2, 3, 4, 42, 0, 0, 0, 0, 0, 0, 0]);
        using var content = Safetensors.Deserialize(file);
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3, 4 }, content.Tensors["a"].ToArray<byte>());
        CollectionAssert.AreEqual(new long[] { 42 }, content.Tensors["b"].ToArray<long>());
    }

    [TestMethod]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "not valid JSON")]
    [DataRow("[1,2]", 0, "not a JSON object")]
    [DataRow("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype 'Q4'")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative integer")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "no shape array")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "0 ≤ begin ≤ end")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlaps")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap before tensor 'a'")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "bytes after the last tensor")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "truncated")]
    [DataRow("{\"__metadata__\":{\"k\":1}}", 0, "metadata 'k' is not a string")]
    [DataRow("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "too large")]
    public void Deserialize_MalformedHeader_IsRejectedWithItsReason(string header, int dataBytes, string reason)
    {
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => Safetensors.Deserialize(Build(header, new byte[dataBytes]), "bad.safetensors"));
        StringAssert.Contains(ex.Message, "'bad.safetensors' is not a valid safetensors file");
        StringAssert.Contains(ex.Message, reason);
    }

    [TestMethod]
    public void Deserialize_BadLengths_AreRejected()
    {
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Safetensors.Deserialize(new byte[5])).Message, "fewer than the 8-byte");
        var huge = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(huge, 1UL << 40);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Safetensors.Deserialize(huge)).Message, "over the 100000000-byte limit");
        var truncated = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(truncated, 100);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Safetensors.Deserialize(truncated)).Message, "only 8 follow");
    }

    [TestMethod]
    public void Save_WhenSerialisationFails_LeavesTheExistingFileIntact()
    {
        var path = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), $"keep-{Guid.NewGuid():N}.safetensors");
        using (var good = LibTorch.Ones([2]))
        {
            Safetensors.Save(path, [new("w", good)]);
        }

        var before = File.ReadAllBytes(path);
        var disposed = LibTorch.Ones([2]);
        disposed.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => Safetensors.Save(path, [new("w", disposed)]));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
        Assert.AreEqual(1, Directory.GetFiles(Path.GetDirectoryName(path)!, $"*{Path.GetFileName(path)}*").Length, "no temporary file is left");
        File.Delete(path);
    }

    private static ulong HeaderLength(byte[] file) => BinaryPrimitives.ReadUInt64LittleEndian(file);

    private static byte[] Build(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        return file;
    }
}
