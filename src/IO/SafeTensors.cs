using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace DeepSharp.IO;

/// <summary>
/// Reads and writes the safetensors format (huggingface.co/docs/safetensors): an 8-byte little-endian header size, a
/// JSON header <c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}</c>, then the bytes.
/// So weights trained in PyTorch load here and ours load there. F32/F64/I32/I64 map to our dtypes; F16 and BF16 are
/// widened to float32 on load. Every claim in the header is checked against the file before anything is allocated.
/// </summary>
public static class SafeTensors
{
    private const int MaxHeaderBytes = 100 << 20;

    /// <summary>Writes tensors (in the given order) atomically, with optional string metadata.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? meta = null)
    {
        var list = tensors.ToList();
        Checkpoint.WriteAtomic(path, s => Write(s, list, meta), s => s);
    }

    /// <summary>Writes to a stream (not atomic).</summary>
    public static void Write(Stream stream, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? meta = null)
    {
        var names = new HashSet<string>();
        var hosts = new List<Array>();
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (meta is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in meta) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in tensors)
            {
                if (name == "__metadata__" || !names.Add(name)) throw new ArgumentException($"SafeTensors: the name '{name}' is reserved or used twice.");
                var host = t.DType switch { DType.Float32 => (Array)t.ToArray<float>(), DType.Float64 => t.ToArray<double>(), DType.Int32 => t.ToArray<int>(), _ => t.ToArray<long>() };
                hosts.Add(host);
                long bytes = CheckpointWriter.Bytes(host).Length;
                w.WriteStartObject(name);
                w.WriteString("dtype", t.DType switch { DType.Float32 => "F32", DType.Float64 => "F64", DType.Int32 => "I32", _ => "I64" });
                w.WriteStartArray("shape"); foreach (var d in t.Layout.Shape) w.WriteNumberValue(d); w.WriteEndArray();
                w.WriteStartArray("data_offsets"); w.WriteNumberValue(offset); w.WriteNumberValue(offset + bytes); w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8 bytes, as the reference writer does.
        int pad = (int)((8 - json.Length % 8) % 8);
        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)(json.Length + pad));
        stream.Write(size);
        stream.Write(json.GetBuffer().AsSpan(0, (int)json.Length));
        for (int i = 0; i < pad; i++) stream.WriteByte((byte)' ');
        foreach (var h in hosts) stream.Write(CheckpointWriter.Bytes(h));
    }

    /// <summary>Loads every tensor (in file order) onto <paramref name="device"/>.</summary>
    /// <exception cref="CheckpointFormatException">The file is not valid safetensors.</exception>
    public static OrderedDictionary<string, Tensor> Load(string path, Device? device = null) => LoadWithMeta(path, device).Tensors;

    /// <summary>Loads the tensors and the <c>__metadata__</c> strings.</summary>
    public static (OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Meta) LoadWithMeta(string path, Device? device = null)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(s, device);
    }

    /// <summary>Reads from a seekable stream.</summary>
    public static (OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Meta) Read(Stream s, Device? device = null)
    {
        long length = s.Length;
        Span<byte> size = stackalloc byte[8];
        if (length < 8 || s.Read(size) < 8) throw new CheckpointFormatException($"Not a safetensors file: {length} bytes is shorter than the 8-byte header size", Math.Min(length, 8));
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(size);
        if (n < 2 || n > MaxHeaderBytes || n > (ulong)(length - 8))
            throw new CheckpointFormatException($"Not a valid safetensors file: the header size {n} does not fit a {length}-byte file", 0);
        var header = new byte[n];
        s.ReadExactly(header);
        long dataStart = 8 + (long)n, dataLength = length - dataStart;
        var entries = new List<(string Name, string DType, int[] Shape, long Begin, long End)>();
        var meta = new Dictionary<string, string>();
        try
        {
            using var doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException("Invalid safetensors header: not a JSON object", 8);
            var seen = new HashSet<string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw new CheckpointFormatException($"Invalid safetensors header: the key '{prop.Name}' appears twice", 8);
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var dtype = prop.Value.GetProperty("dtype").GetString() ?? "";
                var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
                var offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (offsets.Length != 2 || shape.Any(d => d < 0) || shape.Length > 32)
                    throw new CheckpointFormatException($"Invalid safetensors entry '{prop.Name}': bad shape or data_offsets", 8);
                entries.Add((prop.Name, dtype, shape, offsets[0], offsets[1]));
            }
        }
        catch (Exception e) when (e is not (CheckpointFormatException or OutOfMemoryException))
        {
            throw new CheckpointFormatException($"Invalid safetensors header: {e.Message}", 8, e);
        }
        // The entries must tile the data region exactly, in offset order, with sizes matching dtype × shape.
        long at = 0;
        foreach (var e in entries.OrderBy(e => e.Begin))
        {
            int width = e.DType switch { "F32" or "I32" => 4, "F64" or "I64" => 8, "F16" or "BF16" => 2,
                _ => throw new CheckpointFormatException($"safetensors tensor '{e.Name}' has dtype {e.DType}; supported: F32, F64, I32, I64, F16, BF16", 8) };
            long elements = e.Shape.Aggregate(1L, (p, d) => checked(p * d));
            if (elements > int.MaxValue || e.Begin != at || e.End - e.Begin != checked(elements * width) || e.End > dataLength)
                throw new CheckpointFormatException($"Invalid safetensors entry '{e.Name}': data_offsets [{e.Begin}, {e.End}] do not match {e.DType} {Layout.Format(e.Shape)} " +
                    $"at data offset {at} in {dataLength} data bytes", dataStart + Math.Min(e.Begin, dataLength));
            at = e.End;
        }
        if (at != dataLength) throw new CheckpointFormatException($"Invalid safetensors file: {dataLength - at} bytes after the last tensor", dataStart + at);
        var result = new OrderedDictionary<string, Tensor>();
        foreach (var e in entries)
        {
            s.Position = dataStart + e.Begin;
            result.Add(e.Name, ReadTensor(s, e.DType, e.Shape, (int)(e.End - e.Begin)).To(device ?? Device.Cpu));
        }
        return (result, meta);
    }

    private static Tensor ReadTensor(Stream s, string dtype, int[] shape, int bytes)
    {
        switch (dtype)
        {
            case "F32": { var a = GC.AllocateUninitializedArray<float>(bytes / 4); s.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan())); return Tensor.Adopt(a, shape); }
            case "F64": { var a = GC.AllocateUninitializedArray<double>(bytes / 8); s.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan())); return Tensor.Adopt(a, shape); }
            case "I32": { var a = GC.AllocateUninitializedArray<int>(bytes / 4); s.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan())); return Tensor.Adopt(a, shape); }
            case "I64": { var a = GC.AllocateUninitializedArray<long>(bytes / 8); s.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan())); return Tensor.Adopt(a, shape); }
            default:
            {
                var raw = new ushort[bytes / 2];
                s.ReadExactly(MemoryMarshal.AsBytes(raw.AsSpan()));
                // bfloat16 is the top half of a float32; half converts exactly.
                var f = dtype == "BF16" ? raw.Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray()
                                        : raw.Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray();
                return Tensor.Adopt(f, shape);
            }
        }
    }
}
