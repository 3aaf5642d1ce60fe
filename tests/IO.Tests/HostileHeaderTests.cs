using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using CsCheck;
using DeepSharp.IO;
using MessagePack;

namespace DeepSharp.IO.Tests;

/// <summary>
/// Class-level checks of both readers on generated headers: a well-formed file (tensors, a tree referring to each once,
/// metadata, payloads with their CRCs) in which a few values are replaced by hostile ones — other types, floats, negative
/// and huge numbers, lying counts, invalid UTF-8, lone surrogates, over-long strings, extra or missing fields. The header
/// CRC is computed over the result, so the parser itself is reached. Oracle: the file loads, or the reader throws
/// <see cref="CheckpointFormatException"/>; and reading allocates within <see cref="CheckpointLimits.ReadAllocationBound"/>.
/// </summary>
public class HostileHeaderTests
{
    /// <summary>Reads <paramref name="file"/> twice (the first read of each path pays for static state) and checks what the
    /// second allocates; returns whether it loaded. Any exception other than the format exception fails the test.</summary>
    private static bool Oracle(byte[] file, Action<Stream> read)
    {
        bool loaded = true;
        try { read(new MemoryStream(file)); }
        catch (CheckpointFormatException) { loaded = false; }
        long allocated = AllocationTests.Allocated(() =>
        {
            try { read(new MemoryStream(file)); }
            catch (CheckpointFormatException) { }
        });
        Assert.True(allocated <= CheckpointLimits.ReadAllocationBound(file.Length), $"allocated {allocated} bytes for {file.Length}");
        return loaded;
    }

    /// <summary>A plan: tensors (dtype, shape), whether each sits in a dictionary, metadata, and which write slots get a
    /// hostile value instead of theirs; plus bytes added to or cut from the end.</summary>
    private sealed record Plan((int DType, int[] Shape, bool InDict)[] Tensors, (string, string)[] Meta, (int Slot, int Value)[] Hostile,
        int Delta);

    private static readonly Gen<Plan> Plans = Gen.Select(
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 3].SelectMany(r => Gen.Int[0, 3].Array[r]), Gen.Bool).Array[0, 4],
        Gen.Select(Gen.String[0, 3], Gen.String[0, 3]).Array[0, 2],
        Gen.Frequency((1, Gen.Const(Array.Empty<(int, int)>())), (3, Gen.Select(Gen.Int[0, 48], Gen.Int[0, 1000]).Array[1, 3])),
        Gen.Frequency((6, Gen.Const(0)), (1, Gen.Int[-6, 6])),
        (t, m, h, d) => new Plan(t, m, h, d));

    /// <summary>Writes hostile value <paramref name="which"/> (of 25): every MessagePack type, edge numbers, bad strings,
    /// lying counts.</summary>
    private static void WriteHostile(ref MessagePackWriter w, int which)
    {
        switch (which % 25)
        {
            case 0: w.WriteNil(); break;
            case 1: w.Write(true); break;
            case 2: w.Write(-1); break;
            case 3: w.Write(int.MaxValue); break;
            case 4: w.Write(uint.MaxValue); break;
            case 5: w.Write(long.MaxValue); break;
            case 6: w.Write(long.MinValue); break;
            case 7: w.Write(ulong.MaxValue); break;
            case 8: w.Write(1.5f); break;
            case 9: w.Write(2.0); break;
            case 10: w.Write(""); break;
            case 11: w.Write("float32"); break;
            case 12: w.WriteStringHeader(2); w.WriteRaw([0xC3, 0x28]); break;       // invalid UTF-8
            case 13: w.WriteStringHeader(3); w.WriteRaw([0xED, 0xA0, 0x80]); break; // an encoded lone surrogate
            case 14: w.Write(new string('k', CheckpointLimits.MaxKeyBytes + 1)); break;
            case 15: w.Write(new byte[] { 1, 2, 3 }); break;                          // bin
            case 16: w.WriteExtensionFormat(new ExtensionResult(5, new byte[] { 1 })); break;
            case 17: w.WriteArrayHeader(1_000_000); break;                           // a count the bytes cannot hold
            case 18: w.WriteMapHeader(1_000_000); break;
            case 19: w.WriteArrayHeader(uint.MaxValue); break;
            case 20: w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(0); break; // an empty list node
            case 21: w.WriteArrayHeader(33); for (int i = 0; i < 33; i++) w.Write(1); break;
            case 22: w.WriteArrayHeader(3); w.Write(int.MaxValue); w.Write(int.MaxValue); w.Write(int.MaxValue); break;
            case 23: w.WriteMapHeader(uint.MaxValue); break;
            default: w.Write(0); break;
        }
    }

    private static readonly string[] DTypes = ["float32", "float64", "int32", "int64"];

    private delegate void Write(ref MessagePackWriter w);

    private static byte[] BuildCheckpoint(Plan p)
    {
        int slot = 0;
        var hostile = p.Hostile.DistinctBy(h => h.Slot).ToDictionary(h => h.Slot, h => h.Value);
        var header = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(header);
        void Put(ref MessagePackWriter w, Write write)
        {
            if (hostile.TryGetValue(slot++, out int which)) WriteHostile(ref w, which);
            else write(ref w);
        }
        var payloads = p.Tensors.Select(t => new byte[t.Shape.Aggregate(1, (a, b) => a * b) * (t.DType % 2 == 0 ? 4 : 8)]).ToArray();
        Put(ref w, (ref MessagePackWriter x) => x.WriteMapHeader(3));
        Put(ref w, (ref MessagePackWriter x) => x.Write("meta"));
        Put(ref w, (ref MessagePackWriter x) => x.WriteMapHeader(p.Meta.DistinctBy(m => m.Item1).Count()));
        foreach (var (k, v) in p.Meta.DistinctBy(m => m.Item1))
        {
            Put(ref w, (ref MessagePackWriter x) => x.Write(k));
            Put(ref w, (ref MessagePackWriter x) => x.Write(v));
        }
        Put(ref w, (ref MessagePackWriter x) => x.Write("tensors"));
        Put(ref w, (ref MessagePackWriter x) => x.WriteArrayHeader(p.Tensors.Length));
        for (int i = 0; i < p.Tensors.Length; i++)
        {
            var (dtype, shape, _) = p.Tensors[i];
            var crc = Crc32.Of(payloads[i]);
            Put(ref w, (ref MessagePackWriter x) => x.WriteArrayHeader(3));
            Put(ref w, (ref MessagePackWriter x) => x.Write(DTypes[dtype]));
            Put(ref w, (ref MessagePackWriter x) => x.WriteArrayHeader(shape.Length));
            foreach (var d in shape) Put(ref w, (ref MessagePackWriter x) => x.Write(d));
            Put(ref w, (ref MessagePackWriter x) => x.Write(crc));
        }
        Put(ref w, (ref MessagePackWriter x) => x.Write("root"));
        Put(ref w, (ref MessagePackWriter x) => { x.WriteArrayHeader(2); x.Write(1); });
        Put(ref w, (ref MessagePackWriter x) => x.WriteArrayHeader(p.Tensors.Length));
        for (int i = 0; i < p.Tensors.Length; i++)
        {
            int index = i;
            if (p.Tensors[i].InDict)
            {
                Put(ref w, (ref MessagePackWriter x) => { x.WriteArrayHeader(2); x.Write(2); x.WriteArrayHeader(1); });
                Put(ref w, (ref MessagePackWriter x) => x.WriteArrayHeader(2));
                Put(ref w, (ref MessagePackWriter x) => x.Write("k"));
            }
            Put(ref w, (ref MessagePackWriter x) => { x.WriteArrayHeader(2); x.Write(0); });
            Put(ref w, (ref MessagePackWriter x) => x.Write(index));
        }
        w.Flush();
        var file = new List<byte>(CheckpointFormat.Magic);
        Span<byte> field = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(field, CheckpointFormat.Version); file.AddRange(field[..2].ToArray());
        BinaryPrimitives.WriteUInt32LittleEndian(field, (uint)header.WrittenCount); file.AddRange(field.ToArray());
        BinaryPrimitives.WriteUInt32LittleEndian(field, Crc32.Of(header.WrittenSpan)); file.AddRange(field.ToArray());
        file.AddRange(header.WrittenSpan.ToArray());
        foreach (var payload in payloads) file.AddRange(payload);
        return Adjust([.. file], p.Delta);
    }

    private static byte[] Adjust(byte[] file, int delta) =>
        delta >= 0 ? [.. file, .. new byte[delta]] : file[..Math.Max(0, file.Length + delta)];

    [Fact]
    public void HostileCheckpointHeadersLoadOrThrowTheFormatExceptionWithinTheBound()
    {
        int loaded = 0;
        Property.ForAll(Plans, p =>
        {
            var file = BuildCheckpoint(p);
            if (Oracle(file, s => Checkpoint.Read(s))) loaded++;
        }, iterations: 400, seed: 11);
        Assert.InRange(loaded, 40, 360); // both outcomes are exercised
    }

    private static readonly string[] HostileJson =
    [
        "null", "true", "-1", "1.0", "1e3", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
        "99999999999999999999", "-9223372036854775808", "\"F32\"", "\"BF16\"", "\"Q7\"", "\"\\ud800\"", "[]", "{}", "[0]", "[1,2]",
        "[-1]", "[1.5]", "[[1]]", "{\"a\":1}", "[" + string.Join(",", Enumerable.Repeat("1", 33)) + "]",
        "[2147483647,2147483647,2147483647]", "[4294967296]", "[0,9223372036854775807]",
    ];

    private static readonly string[] StDTypes = ["F32", "F64", "I32", "I64", "F16", "BF16"];

    private static byte[] BuildSafeTensors(Plan p)
    {
        int slot = 0;
        var hostile = p.Hostile.DistinctBy(h => h.Slot).ToDictionary(h => h.Slot, h => h.Value);
        string Put(string text) => hostile.TryGetValue(slot++, out int which) ? HostileJson[which % HostileJson.Length] : text;
        var parts = new List<string>();
        if (p.Meta.Length > 0)
        {
            var entries = p.Meta.Select(m => $"{Put(Quote(m.Item1))}:{Put(Quote(m.Item2))}");
            parts.Add($"\"__metadata__\":{Put("{" + string.Join(",", entries) + "}")}");
        }
        long offset = 0;
        for (int i = 0; i < p.Tensors.Length; i++)
        {
            var (dtype, shape, extra) = p.Tensors[i];
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * (dtype % 2 == 0 ? 4 : 8);
            var fields = new List<string>
            {
                $"\"dtype\":{Put(Quote(StDTypes[dtype]))}",
                $"\"shape\":{Put("[" + string.Join(",", shape.Select(d => Put(d.ToString()))) + "]")}",
                $"\"data_offsets\":{Put($"[{Put(offset.ToString())},{Put((offset + bytes).ToString())}]")}",
            };
            if (extra) fields.Add($"\"extra\":{Put("[1]")}"); // unknown fields are ignored
            parts.Add($"{Put(Quote($"t{i}"))}:{Put("{" + string.Join(",", fields) + "}")}");
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes("{" + string.Join(",", parts) + "}");
        var file = new byte[8 + json.Length + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        return Adjust(file, p.Delta);
    }

    private static string Quote(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    [Fact]
    public void HostileSafeTensorsHeadersLoadOrThrowTheFormatExceptionWithinTheBound()
    {
        int loaded = 0;
        Property.ForAll(Plans, p =>
        {
            var file = BuildSafeTensors(p);
            if (Oracle(file, s => SafeTensors.Read(s))) loaded++;
        }, iterations: 400, seed: 12);
        Assert.InRange(loaded, 40, 360);
    }
}
