using System.Buffers.Binary;
using TorchSharp;
using static TorchSharp.torch;
using MLNet.Diffusion.Datasets;
using MLNet.Diffusion.Tests.Images;

namespace MLNet.Diffusion.Tests.Datasets;

[TestClass]
public sealed class IdxFileTests
{
    private static readonly byte[] s_data = [.. Enumerable.Range(0, 24).Select(i => (byte)(i * 10))];

    [TestMethod]
    public void Load_PlainUnsignedBytes_ReturnsDimensionsAndData()
    {
        using var folder = new TempFolder();
        var path = folder.Write("plain.idx", IdxBytes.UnsignedBytes(s_data, 2, 3, 4));
        var idx = IdxFile.Load(path);
        Assert.AreEqual(ScalarType.Byte, idx.ElementType);
        CollectionAssert.AreEqual(new[] { 2, 3, 4 }, idx.Dimensions.ToArray());
        Assert.AreEqual(24, idx.ElementCount);
        CollectionAssert.AreEqual(s_data, idx.ToArray<byte>());
        CollectionAssert.AreEqual(s_data, idx.Data.ToArray());
    }

    [TestMethod]
    public void Load_DetectsGzipByContentNotByName()
    {
        // The gzip file is named .idx and the plain one .gz: only the magic bytes 1F 8B may decide.
        using var folder = new TempFolder();
        var compressed = IdxBytes.Gzip(IdxBytes.UnsignedBytes(s_data, 6, 4));
        Assert.AreEqual(0x1F, compressed[0]);
        var gzipPath = folder.Write("data.idx", compressed);
        var plainPath = folder.Write("data.gz", IdxBytes.UnsignedBytes(s_data, 6, 4));
        foreach (var path in new[] { gzipPath, plainPath })
        {
            var idx = IdxFile.Load(path);
            CollectionAssert.AreEqual(new[] { 6, 4 }, idx.Dimensions.ToArray(), path);
            CollectionAssert.AreEqual(s_data, idx.ToArray<byte>(), path);
        }
    }

    [TestMethod]
    public void Parse_MultiByteTypes_AreReadBigEndian()
    {
        int[] ints = [1, -2, 0x01020304, int.MinValue];
        var intBytes = new byte[16];
        for (var i = 0; i < ints.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(intBytes.AsSpan(4 * i), ints[i]);
        }

        var int32 = IdxFile.Parse([.. IdxBytes.Header(0x0C, 2, 2), .. intBytes]);
        Assert.AreEqual(ScalarType.Int32, int32.ElementType);
        CollectionAssert.AreEqual(ints, int32.ToArray<int>());

        double[] doubles = [0.5, -1e300, double.Epsilon];
        var doubleBytes = new byte[24];
        for (var i = 0; i < doubles.Length; i++)
        {
            BinaryPrimitives.WriteDoubleBigEndian(doubleBytes.AsSpan(8 * i), doubles[i]);
        }

        CollectionAssert.AreEqual(doubles, IdxFile.Parse([.. IdxBytes.Header(0x0E, 3), .. doubleBytes]).ToArray<double>());

        var floatBytes = new byte[8];
        BinaryPrimitives.WriteSingleBigEndian(floatBytes, 1.5f);
        BinaryPrimitives.WriteSingleBigEndian(floatBytes.AsSpan(4), -0.25f);
        CollectionAssert.AreEqual(new[] { 1.5f, -0.25f }, IdxFile.Parse([.. IdxBytes.Header(0x0D, 2), .. floatBytes]).ToArray<float>());

        CollectionAssert.AreEqual(new short[] { 0x0102, -1 }, IdxFile.Parse([.. IdxBytes.Header(0x0B, 2), 0x01, 0x02, 0xFF, 0xFF]).ToArray<short>());
        CollectionAssert.AreEqual(new sbyte[] { -128, 127 }, IdxFile.Parse([.. IdxBytes.Header(0x09, 2), 0x80, 0x7F]).ToArray<sbyte>());
    }

    [TestMethod]
    public void ToArray_WrongElementType_Throws()
    {
        var idx = IdxFile.Parse(IdxBytes.UnsignedBytes([1, 2], 2));
        var message = Assert.ThrowsExactly<InvalidOperationException>(() => idx.ToArray<int>()).Message;
        StringAssert.Contains(message, "uint8");
        StringAssert.Contains(message, "byte");
        Assert.ThrowsExactly<InvalidOperationException>(() => idx.ToArray<long>());
    }

    [TestMethod]
    public void ToTensor_KeepsShapeTypeAndValues()
    {
        using var scope = torch.NewDisposeScope();
        var bytes = IdxFile.Parse(IdxBytes.UnsignedBytes(s_data, 2, 3, 4)).ToTensor();
        CollectionAssert.AreEqual(new long[] { 2, 3, 4 }, bytes.shape);
        CollectionAssert.AreEqual(s_data, bytes.data<byte>().ToArray());

        var intBytes = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(intBytes, 70000);
        BinaryPrimitives.WriteInt32BigEndian(intBytes.AsSpan(4), -3);
        var ints = IdxFile.Parse([.. IdxBytes.Header(0x0C, 2, 1), .. intBytes]).ToTensor();
        Assert.AreEqual(ScalarType.Int32, ints.dtype);
        CollectionAssert.AreEqual(new long[] { 2, 1 }, ints.shape);
        CollectionAssert.AreEqual(new[] { 70000, -3 }, ints.data<int>().ToArray());
    }

    [TestMethod]
    public void Load_TruncatedFile_IsRejectedNamingTheFile()
    {
        using var folder = new TempFolder();
        var path = folder.Write("short.idx", IdxBytes.UnsignedBytes(s_data[..23], 2, 3, 4));
        var message = Assert.ThrowsExactly<InvalidDataException>(() => IdxFile.Load(path)).Message;
        StringAssert.Contains(message, path);
        StringAssert.Contains(message, "[2, 3, 4] uint8, 24 bytes of data, but only 23 follow");
        StringAssert.Contains(message, "truncated");
    }

    [TestMethod]
    public void Load_TruncatedGzip_IsRejectedNamingTheFile()
    {
        using var folder = new TempFolder();
        var whole = IdxBytes.Gzip(IdxBytes.UnsignedBytes([.. Enumerable.Range(0, 4000).Select(i => (byte)(i * 7919 % 251))], 4000));
        var path = folder.Write("short.gz", whole[..(whole.Length / 2)]);
        var message = Assert.ThrowsExactly<InvalidDataException>(() => IdxFile.Load(path)).Message;
        StringAssert.Contains(message, path);
        Assert.IsTrue(message.Contains("truncated", StringComparison.Ordinal) || message.Contains("gzip", StringComparison.Ordinal), message);
    }

    [TestMethod]
    [DataRow(3, 0xE0, DisplayName = "reserved header flags")]
    [DataRow(-8, 0x01, DisplayName = "CRC-32 in the trailer")]
    [DataRow(-2, 0x01, DisplayName = "length in the trailer")]
    public void Load_CorruptGzip_IsRejectedNamingTheFile(int index, int flip)
    {
        using var folder = new TempFolder();
        var bytes = IdxBytes.Gzip(IdxBytes.UnsignedBytes(s_data, 24));
        bytes[index < 0 ? bytes.Length + index : index] ^= (byte)flip;
        var path = folder.Write("corrupt.gz", bytes);
        var message = Assert.ThrowsExactly<InvalidDataException>(() => IdxFile.Load(path)).Message;
        StringAssert.Contains(message, path);
        StringAssert.Contains(message, "gzip data is corrupt");
    }

    [TestMethod]
    [DataRow(new byte[] { 0x01, 0x00, 0x08, 0x01, 0, 0, 0, 1, 5 }, "not 0x00 0x00: it is not an IDX file", DisplayName = "bad magic")]
    [DataRow(new byte[] { 0x00, 0x00, 0x0A, 0x01, 0, 0, 0, 1, 5 }, "element type code 0x0A is not an IDX type", DisplayName = "unknown type")]
    [DataRow(new byte[] { 0x00, 0x00, 0x08, 0x00 }, "declares 0 dimensions", DisplayName = "no dimensions")]
    [DataRow(new byte[] { 0x00, 0x00, 0x08, 0x09 }, "declares 9 dimensions", DisplayName = "nine dimensions")]
    [DataRow(new byte[] { 0x00, 0x00, 0x08, 0x02, 0, 0, 0, 1, 0, 0, 0, 0 }, "the size of its dimension 1 is 0", DisplayName = "zero size")]
    [DataRow(new byte[] { 0x00, 0x00, 0x08, 0x01, 0x80, 0, 0, 0 }, "the size of its dimension 0 is 2147483648", DisplayName = "negative size")]
    [DataRow(new byte[] { 0x00, 0x00, 0x08, 0x01, 0, 0, 0, 2, 5, 6, 7, 8 }, "2 trailing bytes follow the 2 bytes of data", DisplayName = "trailing bytes")]
    [DataRow(new byte[] { 0x00, 0x00, 0x08 }, "it has 3 bytes, fewer than the 4-byte IDX magic number", DisplayName = "short magic")]
    [DataRow(new byte[] { 0x00, 0x00, 0x08, 0x02, 0, 0, 0, 1 }, "before the sizes of its 2 dimensions", DisplayName = "short header")]
    [DataRow(new byte[] { 0x00, 0x00, 0x0E, 0x02, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF }, "more data than the", DisplayName = "too large")]
    public void Parse_MalformedHeaderOrLength_IsRejectedWithTheReason(byte[] bytes, string reason)
    {
        var message = Assert.ThrowsExactly<InvalidDataException>(() => IdxFile.Parse(bytes, "sample.idx")).Message;
        StringAssert.StartsWith(message, "IDX file 'sample.idx' is invalid: ");
        StringAssert.Contains(message, reason);
    }

    [TestMethod]
    public void Load_TrailingBytesInGzip_AreRejected()
    {
        using var folder = new TempFolder();
        var path = folder.Write("long.gz", IdxBytes.Gzip([.. IdxBytes.UnsignedBytes(s_data, 24), 1, 2, 3]));
        var message = Assert.ThrowsExactly<InvalidDataException>(() => IdxFile.Load(path)).Message;
        StringAssert.Contains(message, path);
        StringAssert.Contains(message, "3 trailing bytes");
    }

    [TestMethod]
    public void Load_MissingFile_IsInvalidDataNamingTheFile()
    {
        using var folder = new TempFolder();
        var path = folder.File("absent.idx");
        var message = Assert.ThrowsExactly<InvalidDataException>(() => IdxFile.Load(path)).Message;
        StringAssert.Contains(message, path);
        StringAssert.Contains(message, "it cannot be read: Could not find file");
        Assert.IsFalse(message.Contains("..", StringComparison.Ordinal), message);
    }
}
