using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>Random nested trees of random tensors round-trip bit-exactly (a property test over 200 seeded trees).</summary>
public class PropertyTests
{
    private static CheckpointValue RandomTree(Random r, int depth)
    {
        int kind = depth >= 4 ? 0 : r.Next(3);
        if (kind == 1) return new ListValue(Enumerable.Range(0, r.Next(4)).Select(_ => RandomTree(r, depth + 1)).ToList());
        if (kind == 2)
        {
            var d = new OrderedDictionary<string, CheckpointValue>();
            int n = r.Next(4);
            for (int i = 0; i < n; i++) d.Add($"k{i}_{r.Next(1000)}", RandomTree(r, depth + 1));
            return new DictValue(d);
        }
        var shape = Enumerable.Range(0, r.Next(4)).Select(_ => r.Next(4)).ToArray();
        int count = shape.Aggregate(1, (a, b) => a * b);
        var bytes = new byte[count * 8];
        r.NextBytes(bytes); // arbitrary bit patterns, NaN payloads included
        return r.Next(4) switch
        {
            0 => Tensor.FromArray(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes)[..count].ToArray(), shape),
            1 => Tensor.FromArray(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray(), shape),
            2 => Tensor.FromArray(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes)[..count].ToArray(), shape),
            _ => Tensor.FromArray(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray(), shape),
        };
    }

    internal static void SameTree(CheckpointValue a, CheckpointValue b)
    {
        switch (a)
        {
            case TensorValue ta:
                var tb = Assert.IsType<TensorValue>(b).Tensor;
                Assert.Equal(ta.Tensor.DType, tb.DType);
                Assert.Equal(ta.Tensor.Shape, tb.Shape);
                Assert.Equal(Raw(ta.Tensor), Raw(tb));
                break;
            case ListValue la:
                var lb = Assert.IsType<ListValue>(b);
                Assert.Equal(la.Items.Count, lb.Items.Count);
                for (int i = 0; i < la.Items.Count; i++) SameTree(la.Items[i], lb.Items[i]);
                break;
            case DictValue da:
                var db = Assert.IsType<DictValue>(b).AsDict(); // a loaded dictionary read in place, looked up by key
                Assert.Equal(da.AsDict().Keys, db.Keys);
                foreach (var (k, v) in da.AsDict()) SameTree(v, db[k]);
                break;
        }
    }

    internal static long[] Raw(Tensor t) => t.DType switch
    {
        DType.Float32 => t.ToArray<float>().Select(v => (long)BitConverter.SingleToInt32Bits(v)).ToArray(),
        DType.Float64 => t.ToArray<double>().Select(BitConverter.DoubleToInt64Bits).ToArray(),
        DType.Int32 => t.ToArray<int>().Select(v => (long)v).ToArray(),
        _ => t.ToArray<long>(),
    };

    [Fact]
    public void RandomTreesRoundTripBitExactly()
    {
        var r = new Random(2026);
        for (int i = 0; i < 200; i++)
        {
            var tree = RandomTree(r, 0);
            using var ms = new MemoryStream();
            Checkpoint.Write(ms, tree);
            ms.Position = 0;
            SameTree(tree, Checkpoint.Read(ms).Value);
        }
    }

    [Fact]
    public void DeepNestingIsRefused()
    {
        CheckpointValue deep = Tensor.Ones(1);
        for (int i = 0; i < 70; i++) deep = new ListValue([deep]);
        Assert.Throws<ArgumentException>(() => Checkpoint.Write(new MemoryStream(), deep));
    }
}
