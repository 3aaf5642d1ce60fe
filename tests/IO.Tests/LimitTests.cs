using CsCheck;
using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>One set of limits: whatever a writer accepts reads back equal, and whatever breaks a limit is refused when
/// writing, with an <see cref="ArgumentException"/> naming it, before a byte is written.</summary>
public class LimitTests
{
    private const int MaxKey = CheckpointLimits.MaxKeyBytes;

    /// <summary>Well-formed UTF-16, checked independently of the library: every surrogate is half of a pair.</summary>
    private static bool WellFormed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            else if (char.IsSurrogate(s[i])) return false;
        }
        return true;
    }

    private static bool ValidKey(string k) => WellFormed(k) && System.Text.Encoding.UTF8.GetByteCount(k) <= MaxKey;

    // Keys of ASCII, two-byte UTF-8 and surrogate pairs; some also of lone surrogates (either half, in any order); some
    // around the length limit.
    private static readonly Gen<string> Key = Gen.Frequency(
        (8, Gen.OneOf("a", "b", ".", "é", " ", "\ud83d\ude00").Array[0, 5].Select(string.Concat)),
        (3, Gen.Char["ab\ud83d\ude00"].Array[1, 5].Select(a => new string(a))),
        (1, Gen.Int[MaxKey - 1, MaxKey + 1].Select(n => new string('k', n))),
        (1, Gen.Int[MaxKey / 2 - 1, MaxKey / 2 + 1].Select(n => new string('é', n))));

    private static readonly Gen<Tensor> Leaf = Gen.Frequency(
        (8, Gen.Int[0, 3].SelectMany(rank => Gen.Int[0, 3].Array[rank]).Select(shape => Tensor.Rand(shape))),
        (1, Gen.Int[31, 34].Select(rank => Tensor.Ones(Enumerable.Repeat(1, rank).ToArray()))));

    private static Gen<CheckpointValue> Tree(int depth) => depth == 0 ? Leaf.Select(t => (CheckpointValue)t) : Gen.Frequency(
        (2, Leaf.Select(t => (CheckpointValue)t)),
        (1, Tree(depth - 1).Array[0, 3].Select(items => (CheckpointValue)new ListValue(items))),
        (1, Gen.Select(Key, Tree(depth - 1)).Array[0, 3].Select(Dict)));

    private static CheckpointValue Dict((string Key, CheckpointValue Value)[] pairs)
    {
        var d = new OrderedDictionary<string, CheckpointValue>();
        foreach (var (k, v) in pairs) d.TryAdd(k, v);
        return new DictValue(d);
    }

    // A random tree, sometimes wrapped in a chain of containers reaching around the nesting limit.
    private static readonly Gen<CheckpointValue> Trees = Gen.Frequency(
        (6, Tree(3)),
        (1, Gen.Select(Gen.Int[CheckpointLimits.MaxDepth - 3, CheckpointLimits.MaxDepth + 1], Tree(1), Gen.Bool).Select((n, leaf, lists) =>
        {
            var node = leaf;
            for (int i = 0; i < n; i++) node = lists ? new ListValue([node]) : new DictValue(new() { ["k"] = node });
            return node;
        })));

    private static readonly Gen<Dictionary<string, string>> Meta =
        Gen.Select(Key, Gen.Frequency((4, Gen.String), (1, Gen.Char["v\ud800\udc00"].Array[0, 3].Select(a => new string(a))))).Array[0, 3]
            .Select(pairs => pairs.DistinctBy(p => p.Item1).ToDictionary(p => p.Item1, p => p.Item2));

    /// <summary>How deep the deepest node sits below <paramref name="v"/> (the root is at depth 0).</summary>
    private static int Depth(CheckpointValue v) => v switch
    {
        ListValue l => l.Items.Select(i => 1 + Depth(i)).DefaultIfEmpty(0).Max(),
        DictValue d => d.Entries.Values.Select(i => 1 + Depth(i)).DefaultIfEmpty(0).Max(),
        _ => 0,
    };

    private static bool Valid(CheckpointValue v) => v switch
    {
        TensorValue t => t.Tensor.Rank <= CheckpointLimits.MaxRank,
        ListValue l => l.Items.All(Valid),
        DictValue d => d.Entries.All(kv => ValidKey(kv.Key) && Valid(kv.Value)),
        _ => false,
    };

    private static bool ValidMeta(Dictionary<string, string> meta) => meta.All(kv => ValidKey(kv.Key) && WellFormed(kv.Value));

    [Fact]
    public void WhatTheCheckpointWriterAcceptsReadsBackEqualAndTheRestIsRefusedBeforeWriting()
    {
        Property.ForAll(Gen.Select(Trees, Meta), x =>
        {
            var (tree, meta) = x;
            using var ms = new MemoryStream();
            if (Depth(tree) <= CheckpointLimits.MaxDepth && Valid(tree) && ValidMeta(meta))
            {
                Checkpoint.Write(ms, tree, meta);
                ms.Position = 0;
                var (back, backMeta) = Checkpoint.Read(ms);
                PropertyTests.SameTree(tree, back);
                Assert.Equal(meta.OrderBy(kv => kv.Key, StringComparer.Ordinal), backMeta.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            }
            else
            {
                Assert.Throws<ArgumentException>(() => Checkpoint.Write(ms, tree, meta));
                Assert.Equal(0, ms.Length);
            }
        }, iterations: 300, seed: 2026);
    }

    [Fact]
    public void WhatTheSafeTensorsWriterAcceptsReadsBackEqualAndTheRestIsRefusedBeforeWriting()
    {
        var names = Gen.Frequency((20, Key), (1, Gen.Const("__metadata__")));
        Property.ForAll(Gen.Select(Gen.Select(names, Leaf).Array[0, 4], Meta), x =>
        {
            var (pairs, meta) = x;
            var tensors = pairs.Select(p => new KeyValuePair<string, Tensor>(p.Item1, p.Item2)).ToList();
            using var ms = new MemoryStream();
            bool valid = tensors.All(kv => ValidKey(kv.Key) && kv.Key != "__metadata__" && kv.Value.Rank <= CheckpointLimits.MaxRank)
                && tensors.Select(kv => kv.Key).Distinct().Count() == tensors.Count && ValidMeta(meta);
            if (valid)
            {
                SafeTensors.Write(ms, tensors, meta);
                ms.Position = 0;
                var (back, backMeta) = SafeTensors.Read(ms);
                Assert.Equal(tensors.Select(kv => kv.Key), back.Keys);
                foreach (var (k, t) in tensors) Assert.Equal(PropertyTests.Raw(t), PropertyTests.Raw(back[k]));
                Assert.Equal(meta.OrderBy(kv => kv.Key, StringComparer.Ordinal), backMeta.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            }
            else
            {
                Assert.Throws<ArgumentException>(() => SafeTensors.Write(ms, tensors, meta));
                Assert.Equal(0, ms.Length);
            }
        }, iterations: 300, seed: 2027);
    }

    [Fact]
    public void RefusalsNameTheKeyAndTheLimitAndLeaveThePreviousFileIntact()
    {
        using var dir = new TempDir();
        string ckpt = dir.File("m.ckpt"), st = dir.File("m.safetensors");
        Checkpoint.Save(ckpt, Tensor.Ones(2));
        SafeTensors.Save(st, [new("w", Tensor.Ones(2))]);
        byte[] ckptBefore = File.ReadAllBytes(ckpt), stBefore = File.ReadAllBytes(st);
        var rank33 = Tensor.Ones(Enumerable.Repeat(1, 33).ToArray());
        CheckpointValue deep = Tensor.Ones(1);
        for (int i = 0; i < 65; i++) deep = new ListValue([deep]);
        var one = Tensor.Ones(1);
        var big = new Dictionary<string, string> { ["big"] = new string('v', CheckpointLimits.MaxMetadataBytes) };
        var cases = new (Action Save, string[] Expected)[]
        {
            (() => Checkpoint.Save(ckpt, new DictValue(new() { ["x"] = new ListValue([rank33]) })), ["'x[0]'", "rank 33", "limit of 32"]),
            (() => Checkpoint.Save(ckpt, new DictValue(new() { ["a\ud800b"] = one })), ["'a\ud800b'", "lone UTF-16 surrogate", "index 1"]),
            (() => Checkpoint.Save(ckpt, new DictValue(new() { ["ok"] = new DictValue(new() { ["\udc00"] = one }) })),
                ["in 'ok'", "surrogate"]),
            (() => Checkpoint.Save(ckpt, one, new Dictionary<string, string> { ["k\udc00"] = "v" }), ["metadata key", "surrogate"]),
            (() => Checkpoint.Save(ckpt, one, new Dictionary<string, string> { ["k"] = "v\ud83d" }),
                ["metadata value of 'k'", "surrogate"]),
            (() => Checkpoint.Save(ckpt, new DictValue(new() { [new string('k', MaxKey + 1)] = one })),
                [$"{MaxKey + 1} UTF-8 bytes", $"limit of {MaxKey}"]),
            (() => Checkpoint.Save(ckpt, one, big),
                ["metadata is", $"limit of {CheckpointLimits.MaxMetadataBytes}"]),
            (() => Checkpoint.Save(ckpt, deep), ["deeper than the limit of 64"]),
            (() => Checkpoint.Save(ckpt, new ListValue([one, null!])), ["'root[1]' is null"]),
            (() => SafeTensors.Save(st, [new("__metadata__", one)]), ["'__metadata__' is reserved"]),
            (() => SafeTensors.Save(st, [new("w", one), new("w", one)]), ["'w' is used twice"]),
            (() => SafeTensors.Save(st, [new("w\ud800", one)]), ["lone UTF-16 surrogate"]),
            (() => SafeTensors.Save(st, [new("w", rank33)]), ["rank 33", "limit of 32"]),
            (() => SafeTensors.Save(st, [new("w", one)], new Dictionary<string, string> { ["\ud800"] = "" }),
                ["metadata key", "surrogate"]),
        };
        foreach (var (save, expected) in cases)
        {
            var e = Assert.Throws<ArgumentException>(save);
            foreach (var part in expected) Assert.Contains(part, e.Message);
            Assert.Equal(ckptBefore, File.ReadAllBytes(ckpt));
            Assert.Equal(stBefore, File.ReadAllBytes(st));
            Assert.Equal(["m.ckpt", "m.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order()); // no temporary files
        }
    }

    [Fact]
    public void ValuesAtEachLimitRoundTrip()
    {
        var rank32 = Tensor.Ones(Enumerable.Repeat(1, 32).ToArray());
        CheckpointValue deep = rank32;
        for (int i = 0; i < CheckpointLimits.MaxDepth; i++) deep = new DictValue(new() { [new string('k', MaxKey)] = deep });
        var meta = new Dictionary<string, string> { ["big"] = new string('v', CheckpointLimits.MaxMetadataBytes - 3) };
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, deep, meta);
        ms.Position = 0;
        var (back, backMeta) = Checkpoint.Read(ms);
        PropertyTests.SameTree(deep, back);
        Assert.Equal(meta["big"], backMeta["big"]);
        using var st = new MemoryStream();
        SafeTensors.Write(st, [new(new string('é', MaxKey / 2), rank32)], meta);
        st.Position = 0;
        Assert.Equal(32, SafeTensors.Read(st).Tensors[new string('é', MaxKey / 2)].Rank);
    }

    [Fact]
    public void HeadersOverTheirLimitsAreRefusedWhenWriting()
    {
        // 1025 keys of 64 KiB (4-byte characters: half the memory of ASCII) make a header over 64 MiB.
        var one = Tensor.Ones(1);
        var emoji = string.Concat(Enumerable.Repeat("\ud83d\ude00", MaxKey / 4 - 1));
        var d = new OrderedDictionary<string, CheckpointValue>();
        for (int i = 0; i < CheckpointLimits.MaxHeaderBytes / MaxKey + 1; i++) d.Add($"{i:x4}" + emoji, one);
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Write(new MemoryStream(), new DictValue(d)));
        Assert.Contains($"over the limit of {CheckpointLimits.MaxHeaderBytes}", e.Message);
        // Safetensors escapes non-ASCII names (6 bytes per 'é'), so 510 names of 64 KiB pass 100,000,000 header bytes.
        var names = Enumerable.Range(0, 510)
            .Select(i => new KeyValuePair<string, Tensor>($"{i:x4}" + new string('é', MaxKey / 2 - 2), one)).ToList();
        e = Assert.Throws<ArgumentException>(() => SafeTensors.Write(new MemoryStream(), names));
        Assert.Contains($"over the limit of {CheckpointLimits.MaxSafeTensorsHeaderBytes}", e.Message);
    }

    [Fact]
    public void TheReaderRefusesWhatTheWriterRefuses()
    {
        void Refused(string expected, Action<MessagePack.MessagePackWriter> tensorsAndRoot, int payload = 0) =>
            Assert.Contains(expected, Assert.Throws<CheckpointFormatException>(
                () => Checkpoint.Read(new MemoryStream(CheckpointTests.Forge(tensorsAndRoot, payload)))).Message);
        Refused("rank 33 exceeds the limit of 32", w =>
        {
            w.Write("tensors"); w.WriteArrayHeader(1);
            w.WriteArrayHeader(3); w.Write("float32"); w.WriteArrayHeader(33); for (int i = 0; i < 33; i++) w.Write(1); w.Write(0u);
            w.Write("root"); w.WriteArrayHeader(2); w.Write(0); w.Write(0);
            w.Flush();
        }, 4);
        Refused("not well-formed UTF-8", w =>
        {
            w.Write("tensors"); w.WriteArrayHeader(0);
            w.Write("root"); w.WriteArrayHeader(2); w.Write(2); w.WriteArrayHeader(1);
            w.WriteArrayHeader(2); w.WriteStringHeader(3); w.WriteRaw([0xED, 0xA0, 0x80]); // an encoded lone surrogate
            w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(0);
            w.Flush();
        });
        Refused($"over the limit of {MaxKey}", w =>
        {
            w.Write("tensors"); w.WriteArrayHeader(0);
            w.Write("root"); w.WriteArrayHeader(2); w.Write(2); w.WriteArrayHeader(1);
            w.WriteArrayHeader(2); w.Write(new string('k', MaxKey + 1));
            w.WriteArrayHeader(2); w.Write(1); w.WriteArrayHeader(0);
            w.Flush();
        });
    }
}
