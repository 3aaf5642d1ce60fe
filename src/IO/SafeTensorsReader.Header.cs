using System.Text;
using System.Text.Json;

namespace DeepSharp.IO;

internal static partial class SafeTensorsReader
{
    private static (List<Entry>, Dictionary<string, string>) ParseHeader(byte[] header)
    {
        var r = new Utf8JsonReader(header, Options);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject) throw Bad("not a JSON object");
        var entries = new List<Entry>();
        var meta = new Dictionary<string, string>();
        var names = new HashSet<string>();
        while (Next(ref r) != JsonTokenType.EndObject)
        {
            var name = Key(ref r, "a tensor name");
            if (!names.Add(name)) throw Bad($"the key {Name(name)} appears twice");
            Next(ref r);
            if (name == "__metadata__") ReadMeta(ref r, meta);
            else entries.Add(ReadEntry(ref r, name));
        }
        if (r.Read()) throw Bad("more JSON after the header's object");
        return (entries, meta);
    }

    private static JsonTokenType Next(ref Utf8JsonReader r) =>
        r.Read() ? r.TokenType : throw Bad("the JSON ends early");

    /// <summary>A property name as a key: well-formed (GetString refuses invalid UTF-8 and lone surrogates) and within the limit.</summary>
    private static string Key(ref Utf8JsonReader r, string what)
    {
        var key = r.GetString()!;
        if (Encoding.UTF8.GetByteCount(key) > CheckpointLimits.MaxKeyBytes)
            throw Bad($"{what} {Name(key)} is over the limit of {CheckpointLimits.MaxKeyBytes} UTF-8 bytes");
        return key;
    }

    private static void ReadMeta(ref Utf8JsonReader r, Dictionary<string, string> meta)
    {
        if (r.TokenType == JsonTokenType.Null) return; // the reference reader takes null as no metadata
        if (r.TokenType != JsonTokenType.StartObject) throw Bad($"__metadata__ is {Token(ref r)}, not an object of strings");
        long total = 0;
        while (Next(ref r) != JsonTokenType.EndObject)
        {
            var key = Key(ref r, "the metadata key");
            if (Next(ref r) != JsonTokenType.String) throw Bad($"the metadata value of {Name(key)} is {Token(ref r)}, not a string");
            var value = r.GetString()!;
            total += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);
            if (total > CheckpointLimits.MaxMetadataBytes)
                throw Bad($"the metadata exceeds the limit of {CheckpointLimits.MaxMetadataBytes} UTF-8 bytes");
            if (!meta.TryAdd(key, value)) throw Bad($"the metadata key {Name(key)} appears twice");
        }
    }

    private static Entry ReadEntry(ref Utf8JsonReader r, string name)
    {
        if (r.TokenType != JsonTokenType.StartObject) throw Bad($"the entry {Name(name)} is {Token(ref r)}, not an object");
        Kind? dtype = null;
        int[]? shape = null;
        (long Begin, long End)? offsets = null;
        while (Next(ref r) != JsonTokenType.EndObject)
        {
            if (r.ValueTextEquals("dtype"u8))
            {
                Once(dtype.HasValue, "dtype");
                Next(ref r);
                dtype = ReadDType(ref r, name);
            }
            else if (r.ValueTextEquals("shape"u8))
            {
                Once(shape != null, "shape");
                Next(ref r);
                shape = ReadShape(ref r, name);
            }
            else if (r.ValueTextEquals("data_offsets"u8))
            {
                Once(offsets.HasValue, "data_offsets");
                Next(ref r);
                offsets = ReadOffsets(ref r, name);
            }
            else
            {
                Next(ref r);
                r.Skip(); // unknown fields are ignored, as the reference reader does
            }
        }
        if (dtype == null || shape == null || offsets == null)
            throw Bad($"the entry {Name(name)} lacks {(dtype == null ? "dtype" : shape == null ? "shape" : "data_offsets")}");
        return new Entry { Name = name, DType = dtype.Value, Shape = shape, Begin = offsets.Value.Begin, End = offsets.Value.End };

        void Once(bool seen, string field)
        {
            if (seen) throw Bad($"the entry {Name(name)} has the field {field} twice");
        }
    }

    private static Kind ReadDType(ref Utf8JsonReader r, string name)
    {
        if (r.TokenType != JsonTokenType.String) throw Bad($"the dtype of {Name(name)} is {Token(ref r)}, not a string");
        if (r.ValueTextEquals("F32"u8)) return Kind.F32;
        if (r.ValueTextEquals("F64"u8)) return Kind.F64;
        if (r.ValueTextEquals("I32"u8)) return Kind.I32;
        if (r.ValueTextEquals("I64"u8)) return Kind.I64;
        if (r.ValueTextEquals("F16"u8)) return Kind.F16;
        if (r.ValueTextEquals("BF16"u8)) return Kind.BF16;
        throw new CheckpointFormatException(
            $"safetensors tensor {Name(name)} has dtype {Name(r.GetString())}; supported: F32, F64, I32, I64, F16, BF16", 8);
    }

    private static int[] ReadShape(ref Utf8JsonReader r, string name)
    {
        if (r.TokenType != JsonTokenType.StartArray) throw Bad($"the shape of {Name(name)} is {Token(ref r)}, not an array");
        Span<int> dims = stackalloc int[CheckpointLimits.MaxRank];
        int rank = 0;
        while (Next(ref r) != JsonTokenType.EndArray)
        {
            if (rank == CheckpointLimits.MaxRank) throw Bad($"the shape of {Name(name)} has more than {CheckpointLimits.MaxRank} dims");
            long d = Integer(ref r) ?? throw NotInteger(ref r, $"dim {rank} of {Name(name)}");
            if (d > int.MaxValue) throw Bad($"dim {rank} of {Name(name)} is {d}, more than a tensor can hold");
            dims[rank++] = (int)d;
        }
        if (CheckpointLimits.Elements(dims[..rank]) < 0)
            throw Bad($"the shape {Layout.Format(dims[..rank])} of {Name(name)} {CheckpointLimits.ShapeLimit}");
        return rank == 0 ? [] : dims[..rank].ToArray();
    }

    private static (long, long) ReadOffsets(ref Utf8JsonReader r, string name)
    {
        if (r.TokenType != JsonTokenType.StartArray) throw Bad($"the data_offsets of {Name(name)} are {Token(ref r)}, not an array");
        Next(ref r);
        long begin = Integer(ref r) ?? throw NotInteger(ref r, $"the first data offset of {Name(name)}");
        Next(ref r);
        long end = Integer(ref r) ?? throw NotInteger(ref r, $"the second data offset of {Name(name)}");
        if (Next(ref r) != JsonTokenType.EndArray) throw Bad($"the data_offsets of {Name(name)} have more than two numbers");
        return (begin, end);
    }

    /// <summary>A non-negative JSON integer that fits 64 bits (as the reference reader's usize), or null: floats and
    /// exponents are refused.</summary>
    private static long? Integer(ref Utf8JsonReader r) =>
        r.TokenType == JsonTokenType.Number && r.TryGetInt64(out long v) && v >= 0 ? v : null;

    private static CheckpointFormatException NotInteger(ref Utf8JsonReader r, string what) =>
        Bad(r.TokenType != JsonTokenType.Number ? $"{what} is {Token(ref r)}, not a number"
            : $"{what} is {Encoding.ASCII.GetString(r.ValueSpan[..Math.Min(r.ValueSpan.Length, 40)])}, not a non-negative integer");
}
