using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using MessagePack;

namespace DeepSharp.IO;

/// <summary>Writes a checkpoint tree to a stream: header first, then each tensor's bytes straight from its host copy.
/// Everything <see cref="CheckpointLimits"/> bounds is checked before the first byte reaches the stream, so a refused
/// tree leaves the stream (and, through the atomic save, the previous file) untouched.</summary>
internal static class CheckpointWriter
{
    /// <exception cref="ArgumentException">The tree or the metadata breaks a limit of <see cref="CheckpointLimits"/>.</exception>
    public static void Write(Stream stream, CheckpointValue root, IReadOnlyDictionary<string, string>? meta)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Checkpoints are written little-endian; this machine is big-endian.");
        ArgumentNullException.ThrowIfNull(root);
        CheckpointLimits.CheckMetadata(meta, "Checkpoint");
        var tensors = new List<Tensor>();
        // The tree first (it numbers the tensors and checks nesting, keys and ranks), into a side buffer, so the table can precede it.
        var tree = new ArrayBufferWriter<byte>();
        var tw = new MessagePackWriter(tree);
        WriteNode(ref tw, root, tensors, 0, new NodePath());
        tw.Flush();
        CheckHeaderSize(tree.WrittenCount, tensors.Count);

        var header = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(header);
        w.WriteMapHeader(3);
        w.Write("meta");
        var m = meta ?? new Dictionary<string, string>();
        w.WriteMapHeader(m.Count);
        foreach (var (k, v) in m) { w.Write(k); w.Write(v); }
        w.Write("tensors");
        w.WriteArrayHeader(tensors.Count);
        var payloads = new List<Array>(tensors.Count);
        foreach (var t in tensors)
        {
            var host = Host(t);
            payloads.Add(host);
            w.WriteArrayHeader(3);
            w.Write(CheckpointFormat.DTypeName(t.DType));
            w.WriteArrayHeader(t.Rank);
            foreach (var d in t.Layout.Shape) w.Write(d);
            w.Write(Crc32.Of(Bytes(host)));
        }
        w.Write("root");
        w.WriteRaw(tree.WrittenSpan);
        w.Flush();
        CheckHeaderSize(header.WrittenCount, tensors.Count);

        Span<byte> prefix = stackalloc byte[CheckpointFormat.PrefixLength];
        CheckpointFormat.Magic.CopyTo(prefix);
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[8..], CheckpointFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(prefix[10..], (uint)header.WrittenCount);
        BinaryPrimitives.WriteUInt32LittleEndian(prefix[14..], Crc32.Of(header.WrittenSpan));
        stream.Write(prefix);
        stream.Write(header.WrittenSpan);
        foreach (var p in payloads) stream.Write(Bytes(p));
    }

    private static void CheckHeaderSize(int bytes, int tensors)
    {
        if (bytes > CheckpointLimits.MaxHeaderBytes)
            throw new ArgumentException($"Checkpoint: the header (keys, metadata and the table of {tensors} tensors) would be at least " +
                $"{bytes} bytes, " +
                $"over the limit of {CheckpointLimits.MaxHeaderBytes}: split the tree into several files.");
    }

    private static void WriteNode(ref MessagePackWriter w, CheckpointValue? node, List<Tensor> tensors, int depth, NodePath path)
    {
        if (depth > CheckpointLimits.MaxDepth)
            throw new ArgumentException(
                $"Checkpoint: {path.Show(depth)} is nested deeper than the limit of {CheckpointLimits.MaxDepth} levels: flatten the tree.");
        w.WriteArrayHeader(2);
        switch (node)
        {
            case TensorValue { Tensor: { } t }:
                if (t.Rank > CheckpointLimits.MaxRank)
                    throw new ArgumentException($"Checkpoint: the tensor at {path.Show(depth)} has rank {t.Rank}, over the limit of " +
                        $"{CheckpointLimits.MaxRank}: reshape it.");
                w.Write(CheckpointFormat.KindTensor);
                w.Write(tensors.Count);
                tensors.Add(t);
                break;
            case ListValue { Items: { } items }:
                w.Write(CheckpointFormat.KindList);
                w.WriteArrayHeader(items.Count);
                for (int i = 0; i < items.Count; i++)
                {
                    path.Set(depth + 1, null, i);
                    WriteNode(ref w, items[i], tensors, depth + 1, path);
                }
                break;
            case DictValue { View: var entries }:
                w.Write(CheckpointFormat.KindDict);
                w.WriteArrayHeader(entries.Count);
                int index = 0;
                foreach (var (key, value) in entries)
                {
                    if (CheckpointLimits.KeyProblem(key) is { } problem)
                        throw new ArgumentException($"Checkpoint: the key {CheckpointLimits.Show(key)} in {path.Show(depth)} {problem}.");
                    path.Set(depth + 1, key, index++);
                    w.WriteArrayHeader(2);
                    w.Write(key);
                    WriteNode(ref w, value, tensors, depth + 1, path);
                }
                break;
            default:
                throw new ArgumentException($"Checkpoint: {path.Show(depth)} is " +
                    (node == null ? "null" : $"a {node.GetType().Name} holding null") +
                    "; every node must be a tensor, a list or a dictionary.");
        }
    }

    /// <summary>The tensor's elements in a host array (device tensors are copied down once; no further copies).</summary>
    public static Array Host(Tensor t) => t.DType switch
    {
        DType.Float32 => t.ToArray<float>(),
        DType.Float64 => t.ToArray<double>(),
        DType.Int32 => t.ToArray<int>(),
        DType.Int64 => t.ToArray<long>(),
        DType.Float16 => t.ToArray<Half>(),
        _ => t.ToArray<BFloat16>(),
    };

    /// <summary>A host array's elements as bytes (a view, not a copy).</summary>
    public static Span<byte> Bytes(Array a) => a switch
    {
        float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
        double[] d => MemoryMarshal.AsBytes(d.AsSpan()),
        int[] i => MemoryMarshal.AsBytes(i.AsSpan()),
        long[] l => MemoryMarshal.AsBytes(l.AsSpan()),
        Half[] h => MemoryMarshal.AsBytes(h.AsSpan()),
        BFloat16[] b => MemoryMarshal.AsBytes(b.AsSpan()),
        _ => throw new ArgumentException($"Unsupported element array {a.GetType().Name}."),
    };
}
