using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace DeepSharp.IO;

/// <summary>
/// Parses a safetensors file with a forward-only JSON reader (no document tree: the header costs no more than what is
/// kept from it), accepting what the reference implementation accepts: non-negative integers for dims and offsets,
/// string metadata, unknown fields ignored. Every other shape of header, and a stream that ends before its length, is a
/// <see cref="CheckpointFormatException"/>.
/// </summary>
internal static partial class SafeTensorsReader
{
    private enum Kind : byte { F32, F64, I32, I64, F16, BF16 }

    private struct Entry
    {
        public string Name;
        public int[] Shape;
        public long Begin, End;
        public Kind DType;
    }

    private static readonly JsonReaderOptions Options = new() { MaxDepth = 64 };

    public static (OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Meta) Read(Stream s, Device device)
    {
        long length = s.Length;
        Span<byte> size = stackalloc byte[8];
        int got = 0;
        for (int n; got < 8 && (n = s.Read(size[got..])) > 0;) got += n;
        if (got < 8)
            throw new CheckpointFormatException(
                $"Not a safetensors file: {got} bytes is shorter than the 8-byte header size", got);
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(size);
        if (headerSize < 2 || headerSize > CheckpointLimits.MaxSafeTensorsHeaderBytes || headerSize > (ulong)Math.Max(0, length - 8))
            throw new CheckpointFormatException($"Not a valid safetensors file: the header size {headerSize} does not fit a " +
                $"{length}-byte file (at most {CheckpointLimits.MaxSafeTensorsHeaderBytes})", 0);
        var header = new byte[headerSize];
        ReadFully(s, header, 8, length);
        long dataStart = 8 + (long)headerSize, dataLength = length - dataStart;
        List<Entry> entries;
        Dictionary<string, string> meta;
        try { (entries, meta) = ParseHeader(header); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // The JSON reader's ways of saying the text is not JSON (JsonException) or a string is not well-formed
            // UTF-8 or UTF-16 (InvalidOperationException from GetString).
            throw new CheckpointFormatException($"Invalid safetensors header: {e.Message}", 8, e);
        }
        CheckTiling(entries, dataStart, dataLength);
        var result = new OrderedDictionary<string, Tensor>(entries.Count);
        foreach (var e in entries)
        {
            s.Position = dataStart + e.Begin;
            var t = ReadTensor(s, e, dataStart + e.Begin, length);
            result.Add(e.Name, device == Device.Cpu ? t : MoveTo(t, device));
        }
        return (result, meta);
    }

    private static Tensor MoveTo(Tensor host, Device device)
    {
        var t = host.To(device);
        host.Dispose();
        return t;
    }

    /// <summary>The entries must tile the data region exactly, in offset order, with sizes matching dtype × shape.</summary>
    private static void CheckTiling(List<Entry> entries, long dataStart, long dataLength)
    {
        var begins = new long[entries.Count];
        var order = new int[entries.Count];
        for (int i = 0; i < begins.Length; i++) { begins[i] = entries[i].Begin; order[i] = i; }
        Array.Sort(begins, order);
        long at = 0;
        foreach (int i in order)
        {
            var e = entries[i];
            long bytes = (long)Layout.Numel(e.Shape) * Width(e.DType);
            if (e.Begin != at || e.End - e.Begin != bytes || e.End > dataLength)
                throw new CheckpointFormatException($"Invalid safetensors entry {CheckpointLimits.Show(e.Name)}: data_offsets " +
                    $"[{e.Begin}, {e.End}] do not match {e.DType} {Layout.Format(e.Shape)} ({bytes} bytes) at data offset {at} in " +
                    $"{dataLength} data bytes", dataStart + Math.Min(e.Begin, dataLength));
            at = e.End;
        }
        if (at != dataLength)
            throw new CheckpointFormatException($"Invalid safetensors file: {dataLength - at} bytes after the last tensor", dataStart + at);
    }

    private static int Width(Kind k) => k switch { Kind.F32 or Kind.I32 => 4, Kind.F64 or Kind.I64 => 8, _ => 2 };

    private static Tensor ReadTensor(Stream s, Entry e, long at, long length)
    {
        var dtype = e.DType switch
        {
            Kind.F32 => DType.Float32,
            Kind.F64 => DType.Float64,
            Kind.I32 => DType.Int32,
            Kind.I64 => DType.Int64,
            Kind.F16 => DType.Float16,
            _ => DType.BFloat16,
        };
        var t = HostTensors.Allocate(dtype, e.Shape);
        try { ReadFully(s, HostTensors.Bytes(t), at, length); }
        catch { t.Dispose(); throw; }
        return t;
    }

    /// <summary>Fills <paramref name="buffer"/>; a stream that ends early is a file that shrank after its length was taken.</summary>
    private static void ReadFully(Stream s, Span<byte> buffer, long at, long length)
    {
        for (int total = 0, n; total < buffer.Length; total += n)
            if ((n = s.Read(buffer[total..])) == 0)
                throw new CheckpointFormatException($"Truncated while reading: the file ends at byte {at + total} although it was " +
                    $"{length} bytes long when opened; it was changed while being read (save with SafeTensors.Save, which replaces " +
                    "files atomically)", at + total);
    }

    private static CheckpointFormatException Bad(string what) => new($"Invalid safetensors header: {what}", 8);

    private static string Name(string? s) => CheckpointLimits.Show(s);

    /// <summary>A short description of the token a value was expected at, for messages.</summary>
    private static string Token(ref Utf8JsonReader r) => r.TokenType switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => r.TokenType.ToString(),
    };
}
