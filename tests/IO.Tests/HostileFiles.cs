using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>Valid files whose shape makes a careless reader allocate far more than their size: many tiny nodes, deep
/// nesting under long keys, many metadata entries. Each is written by the library's own writers (so it must load).</summary>
public static class HostileFiles
{
    private static byte[] Ckpt(CheckpointValue v, IReadOnlyDictionary<string, string>? meta = null)
    {
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, v, meta);
        return ms.ToArray();
    }

    private static byte[] St(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? meta = null)
    {
        using var ms = new MemoryStream();
        SafeTensors.Write(ms, tensors, meta);
        return ms.ToArray();
    }

    private static ListValue ListOf(int n, Func<int, CheckpointValue> item) => new(Enumerable.Range(0, n).Select(item).ToList());

    private static DictValue DictOf(int n, Func<int, CheckpointValue> item)
    {
        var d = new OrderedDictionary<string, CheckpointValue>(n);
        for (int i = 0; i < n; i++) d.Add(i.ToString("x"), item(i));
        return new DictValue(d);
    }

    /// <summary>Dictionaries nested <paramref name="depth"/> deep under keys of <paramref name="keyLength"/> characters,
    /// the innermost holding <paramref name="leaves"/> empty lists (a reader that builds each node's path eagerly copies
    /// the whole long path once per leaf).</summary>
    private static CheckpointValue Deep(int depth, int keyLength, int leaves)
    {
        CheckpointValue node = DictOf(leaves, _ => new ListValue([]));
        for (int i = 0; i < depth; i++)
            node = new DictValue(new OrderedDictionary<string, CheckpointValue> { [new string((char)('a' + i % 26), keyLength)] = node });
        return node;
    }

    private static CheckpointValue Chain(int depth, Func<CheckpointValue, CheckpointValue> wrap)
    {
        CheckpointValue node = new ListValue([]);
        for (int i = 0; i < depth; i++) node = wrap(node);
        return node;
    }

    private static List<KeyValuePair<string, Tensor>> Named(int n, Tensor t) =>
        Enumerable.Range(0, n).Select(i => new KeyValuePair<string, Tensor>(i.ToString("x"), t)).ToList();

    private static Dictionary<string, string> Meta(int n) => Enumerable.Range(0, n).ToDictionary(i => i.ToString("x"), _ => "");

    /// <summary>Checkpoint files of about <paramref name="scale"/> nodes each (1 MB or so at 100 000), by name.</summary>
    public static IEnumerable<(string Name, byte[] File)> Checkpoints(int scale)
    {
        // One tensor object written many times: the file holds a table entry and a node for each use.
        Tensor empty = Tensor.Zeros(0), empty3 = Tensor.Zeros([0, 0, 0], DType.Int64), one = Tensor.Scalar(1f);
        return Costly(scale, empty, empty3, one);
    }

    private static IEnumerable<(string Name, byte[] File)> Costly(int scale, Tensor empty, Tensor empty3, Tensor one) =>
    [
        ("ckpt: list of empty tensors", Ckpt(ListOf(scale, _ => empty))),
        ("ckpt: list of empty rank-3 int64 tensors", Ckpt(ListOf(scale, _ => empty3))),
        ("ckpt: dict of empty tensors", Ckpt(DictOf(scale, _ => empty))),
        ("ckpt: list of empty lists", Ckpt(ListOf(scale * 4, _ => new ListValue([])))),
        ("ckpt: list of empty dicts", Ckpt(ListOf(scale * 4, _ => new DictValue([])))),
        ("ckpt: dict of empty dicts", Ckpt(DictOf(scale * 2, _ => new DictValue([])))),
        ("ckpt: list of lists of one empty list", Ckpt(ListOf(scale * 2, _ => new ListValue([new ListValue([])])))),
        ("ckpt: deep nesting, long keys", Ckpt(Deep(60, 1000, scale / 100))),
        ("ckpt: chains of one-entry dicts, empty keys", Ckpt(ListOf(scale / 16, _ => Chain(60, v => new DictValue(new() { [""] = v }))))),
        ("ckpt: chains of one-item lists", Ckpt(ListOf(scale / 16, _ => Chain(60, v => new ListValue([v]))))),
        ("ckpt: one-entry dicts of empty dicts", Ckpt(ListOf(scale, _ => new DictValue(new() { [""] = new DictValue([]) })))),
        ("ckpt: many metadata entries", Ckpt(new ListValue([]), Meta(scale * 2))),
        ("ckpt: one-element tensors", Ckpt(ListOf(scale, _ => one))),
    ];

    /// <summary>Safetensors files of about <paramref name="scale"/> entries each.</summary>
    public static IEnumerable<(string Name, byte[] File)> SafeTensorsFiles(int scale)
    {
        Tensor empty = Tensor.Zeros(0), one = Tensor.Scalar(1f);
        return
        [
            ("st: empty tensors", St(Named(scale / 4, empty))),
            ("st: many metadata entries", St([], Meta(scale))),
            ("st: one-element tensors", St(Named(scale / 4, one))),
        ];
    }
}
