using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using MessagePack;

namespace DeepSharp.IO;

/// <summary>Writes a checkpoint tree to a stream: header first, then each tensor's bytes straight from its host copy.</summary>
internal static class CheckpointWriter
{
    public static void Write(Stream stream, CheckpointValue root, IReadOnlyDictionary<string, string>? meta)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Checkpoints are written little-endian; this machine is big-endian.");
        var tensors = new List<Tensor>();
        var header = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(header);
        var payloads = new List<Array>();
        w.WriteMapHeader(3);
        w.Write("meta");
        var m = meta ?? new Dictionary<string, string>();
        w.WriteMapHeader(m.Count);
        foreach (var (k, v) in m) { w.Write(k); w.Write(v); }
        // The tree first (it numbers the tensors), into a side buffer, so the table can precede it.
        var tree = new ArrayBufferWriter<byte>();
        var tw = new MessagePackWriter(tree);
        WriteNode(ref tw, root, tensors, 0);
        tw.Flush();
        w.Write("tensors");
        w.WriteArrayHeader(tensors.Count);
        foreach (var t in tensors)
        {
            var host = Host(t);
            payloads.Add(host);
            var bytes = Bytes(host);
            w.WriteArrayHeader(3);
            w.Write(CheckpointFormat.DTypeName(t.DType));
            w.WriteArrayHeader(t.Rank);
            foreach (var d in t.Layout.Shape) w.Write(d);
            w.Write(Crc32.Of(bytes));
        }
        w.Write("root");
        w.WriteRaw(tree.WrittenSpan);
        w.Flush();

        Span<byte> prefix = stackalloc byte[CheckpointFormat.PrefixLength];
        CheckpointFormat.Magic.CopyTo(prefix);
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[8..], CheckpointFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(prefix[10..], (uint)header.WrittenCount);
        BinaryPrimitives.WriteUInt32LittleEndian(prefix[14..], Crc32.Of(header.WrittenSpan));
        stream.Write(prefix);
        stream.Write(header.WrittenSpan);
        foreach (var p in payloads) stream.Write(Bytes(p));
    }

    private static void WriteNode(ref MessagePackWriter w, CheckpointValue node, List<Tensor> tensors, int depth)
    {
        if (depth > CheckpointFormat.MaxDepth) throw new ArgumentException($"Checkpoint: the tree is deeper than {CheckpointFormat.MaxDepth} levels.");
        w.WriteArrayHeader(2);
        switch (node)
        {
            case TensorValue t:
                w.Write(CheckpointFormat.KindTensor);
                w.Write(tensors.Count);
                tensors.Add(t.Tensor);
                break;
            case ListValue l:
                w.Write(CheckpointFormat.KindList);
                w.WriteArrayHeader(l.Items.Count);
                foreach (var item in l.Items) WriteNode(ref w, item, tensors, depth + 1);
                break;
            case DictValue d:
                w.Write(CheckpointFormat.KindDict);
                w.WriteArrayHeader(d.Entries.Count);
                foreach (var (key, value) in d.Entries)
                {
                    w.WriteArrayHeader(2);
                    w.Write(key);
                    WriteNode(ref w, value, tensors, depth + 1);
                }
                break;
            default:
                throw new ArgumentException($"Checkpoint: unsupported node {node.GetType().Name}.");
        }
    }

    /// <summary>The tensor's elements in a host array (device tensors are copied down once; no further copies).</summary>
    private static Array Host(Tensor t) => t.DType switch
    {
        DType.Float32 => t.ToArray<float>(),
        DType.Float64 => t.ToArray<double>(),
        DType.Int32 => t.ToArray<int>(),
        _ => t.ToArray<long>(),
    };

    /// <summary>A host array's elements as bytes (a view, not a copy).</summary>
    public static Span<byte> Bytes(Array a) => a switch
    {
        float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
        double[] d => MemoryMarshal.AsBytes(d.AsSpan()),
        int[] i => MemoryMarshal.AsBytes(i.AsSpan()),
        long[] l => MemoryMarshal.AsBytes(l.AsSpan()),
        _ => throw new ArgumentException($"Unsupported element array {a.GetType().Name}."),
    };
}
