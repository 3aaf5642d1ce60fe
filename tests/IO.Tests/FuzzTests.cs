using System.Buffers.Binary;
using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>
/// A seeded mutation fuzzer over the checkpoint and safetensors readers. Oracle: every input either loads or throws
/// <see cref="CheckpointFormatException"/> (nothing else escapes), and no input makes the reader allocate more than the
/// stated bound, <see cref="CheckpointLimits.ReadAllocationBound"/>. The seeds include small copies of the costliest
/// shapes. Half of the checkpoint mutations re-seal the header CRC so the MessagePack parser itself is exercised, not only
/// the checksum. Longer runs: <c>FUZZ_ITERATIONS=1000000 dotnet test tests/IO.Tests -c Release --filter FuzzTests</c>.
/// </summary>
public class FuzzTests
{
    private static int Iterations => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_ITERATIONS"), out var n) ? n : 4000;

    private static List<byte[]> Corpus()
    {
        byte[] Ckpt(CheckpointValue v) { using var ms = new MemoryStream(); Checkpoint.Write(ms, v); return ms.ToArray(); }
        var dict = new OrderedDictionary<string, CheckpointValue>
        {
            ["a"] = Tensor.Ones(3),
            ["b"] = new ListValue([Tensor.Arange(4, DType.Int64), new ListValue([])])
        };
        return
        [
            Ckpt(Tensor.Ones(2, 2)),
            Ckpt(new DictValue(dict)),
            Ckpt(new ListValue([Tensor.Zeros(0, 5), Tensor.FromArray(new double[] { 1, 2 }), Tensor.Scalar(3f)])),
            .. HostileFiles.Checkpoints(8).Select(f => f.File).Where(f => f.Length < 4096),
        ];
    }

    private static byte[] Mutate(byte[] seed, Random r, bool reseal)
    {
        var b = new List<byte>(seed);
        int steps = 1 + r.Next(4);
        for (int s = 0; s < steps && b.Count > 0; s++)
        {
            int at = r.Next(b.Count);
            switch (r.Next(6))
            {
                case 0: b[at] ^= (byte)(1 << r.Next(8)); break;
                case 1: b[at] = (byte)r.Next(256); break;
                case 2: b.InsertRange(at, Enumerable.Range(0, 1 + r.Next(8)).Select(_ => (byte)r.Next(256))); break;
                case 3: b.RemoveRange(at, Math.Min(b.Count - at, 1 + r.Next(8))); break;
                case 4: b.RemoveRange(at, b.Count - at); break; // truncate
                default:
                    if (at + 4 <= b.Count)
                    {
                        uint v = new uint[] { 0, 1, 0x7F, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF }[r.Next(7)];
                        for (int k = 0; k < 4; k++) b[at + k] = (byte)(v >> (8 * k));
                    }
                    break;
            }
        }
        var bytes = b.ToArray();
        if (reseal && bytes.Length >= CheckpointFormat.PrefixLength)
        {
            uint h = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(10));
            if (h <= bytes.Length - CheckpointFormat.PrefixLength)
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(14), Crc32.Of(bytes.AsSpan(CheckpointFormat.PrefixLength, (int)h)));
        }
        return bytes;
    }

    private static void Oracle(byte[] input, Action<Stream> read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try { read(new MemoryStream(input)); }
        catch (CheckpointFormatException) { }
        catch (Exception e) { Assert.Fail($"{e.GetType().Name} escaped for input {Convert.ToHexString(input)}: {e.Message}"); }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated <= CheckpointLimits.ReadAllocationBound(input.Length),
            $"allocated {allocated} bytes for a {input.Length}-byte input");
    }

    [Fact]
    public void CheckpointReaderOnlyThrowsItsFormatException()
    {
        var corpus = Corpus();
        var r = new Random(12345);
        for (int i = 0; i < Iterations; i++)
            Oracle(Mutate(corpus[r.Next(corpus.Count)], r, reseal: i % 2 == 0), s => Checkpoint.Read(s));
    }

    [Fact]
    public void SafeTensorsReaderOnlyThrowsItsFormatException()
    {
        using var ms = new MemoryStream();
        SafeTensors.Write(ms, [new("w", Tensor.Ones(2, 3)), new("i", Tensor.Arange(3, DType.Int32))],
            new Dictionary<string, string> { ["k"] = "v" });
        List<byte[]> seeds = [ms.ToArray(), .. HostileFiles.SafeTensorsFiles(16).Select(f => f.File)];
        var r = new Random(54321);
        for (int i = 0; i < Iterations; i++) Oracle(Mutate(seeds[r.Next(seeds.Count)], r, reseal: false), s => SafeTensors.Read(s));
    }
}
