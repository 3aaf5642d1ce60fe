using DeepSharp.IO;

namespace DeepSharp.IO.Tests;

/// <summary>A loaded dictionary reads in place (small ones by a linear search, larger ones through an index) and behaves
/// as the dictionary it was saved from; once <see cref="DictValue.Entries"/> is built, every view sees its changes.</summary>
public class DictValueTests
{
    private static DictValue Loaded(int n)
    {
        var d = new OrderedDictionary<string, CheckpointValue>();
        for (int i = 0; i < n; i++) d.Add($"k{i}", Tensor.Full([1], i));
        using var ms = new MemoryStream();
        Checkpoint.Write(ms, new DictValue(d));
        ms.Position = 0;
        return (DictValue)Checkpoint.Read(ms).Value;
    }

    private static float Value(CheckpointValue v) => v.AsTensor().Item();

    // Sizes on both sides of the linear-search limit, and the empty dictionary.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(DictValue.LinearLookup)]
    [InlineData(DictValue.LinearLookup + 1)]
    [InlineData(40)]
    public void ALoadedDictionaryFindsEveryKeyAndNothingElse(int n)
    {
        var view = Loaded(n).AsDict();
        Assert.Equal(n, view.Count);
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"k{i}"), view.Keys);
        Assert.Equal(Enumerable.Range(0, n).Select(i => (float)i), view.Values.Select(Value));
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"k{i}"), view.Select(kv => kv.Key));
        for (int i = 0; i < n; i++)
        {
            Assert.True(view.ContainsKey($"k{i}"));
            Assert.True(view.TryGetValue($"k{i}", out var v));
            Assert.Equal(i, Value(v));
            Assert.Equal(i, Value(view[$"k{i}"]));
        }
        foreach (var absent in new[] { "k", $"k{n}", "K0", "" })
        {
            Assert.False(view.ContainsKey(absent));
            Assert.False(view.TryGetValue(absent, out var none));
            Assert.Null(none);
            Assert.Throws<KeyNotFoundException>(() => view[absent]);
        }
        Assert.Throws<ArgumentNullException>(() => view.ContainsKey(null!));
        Assert.Throws<ArgumentNullException>(() => view.TryGetValue(null!, out _));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(DictValue.LinearLookup + 3)]
    public void EntriesHoldsTheLoadedItemsAndViewsFollowItsChanges(int n)
    {
        var loaded = Loaded(n);
        var view = loaded.AsDict(); // taken before Entries exists
        var entries = loaded.Entries;
        Assert.Same(entries, loaded.Entries);
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"k{i}"), entries.Keys);
        Assert.Equal(1f, Value(entries["k1"]));

        entries.Remove("k0");
        entries.Add("new", Tensor.Full([1], -1f));
        entries.Add("newer", Tensor.Full([1], -2f));
        foreach (var v in new[] { view, loaded.AsDict() })
        {
            Assert.Equal(n + 1, v.Count);
            Assert.Equal([.. Enumerable.Range(1, n - 1).Select(i => $"k{i}"), "new", "newer"], v.Keys);
            Assert.Equal([-1f, -2f], v.Values.Select(Value).TakeLast(2));
            Assert.Equal("newer", v.Last().Key);
            Assert.True(v.ContainsKey("new"));
            Assert.False(v.ContainsKey("k0"));
            Assert.True(v.TryGetValue("new", out var added));
            Assert.Equal(-1f, Value(added));
        }
    }

    [Fact]
    public void EqualityIsIdentityOfTheEntries()
    {
        var entries = new OrderedDictionary<string, CheckpointValue> { ["a"] = Tensor.Ones(1) };
        var a = new DictValue(entries);
        var sameEntries = new DictValue(entries);
        var copy = new DictValue(new OrderedDictionary<string, CheckpointValue>(entries));
        Assert.True(a.Equals(a));
        Assert.True(a.Equals(sameEntries));
        Assert.Equal(a.GetHashCode(), sameEntries.GetHashCode());
        Assert.False(a.Equals(copy));
        Assert.False(a.Equals((DictValue?)null));
        Assert.False(a.Equals(Loaded(1)));
        var loaded = Loaded(2);
        Assert.True(loaded.Equals(loaded));
        Assert.False(loaded.Equals(Loaded(2))); // another file's entries
    }

    [Fact]
    public void PrintingShowsTheCountWithoutBuildingTheDictionary()
    {
        var loaded = Loaded(DictValue.LinearLookup + 2);
        var printed = loaded.ToString();
        Assert.Contains((DictValue.LinearLookup + 2).ToString(System.Globalization.CultureInfo.InvariantCulture), printed);
        Assert.DoesNotContain("k0", printed); // the count, not the entries
        Assert.Equal(new DictValue(new() { ["x"] = Tensor.Ones(1) }).ToString(), Loaded(1).ToString());
    }

    [Fact]
    public void AccessorsOfTheWrongKindThrowInvalidOperation()
    {
        CheckpointValue tensor = Tensor.Ones(1), list = new ListValue([]), dict = Loaded(1);
        Assert.Same(((TensorValue)tensor).Tensor, tensor.AsTensor());
        Assert.Empty(list.AsList());
        Assert.Single(dict.AsDict());
        Assert.Throws<InvalidOperationException>(() => tensor.AsList());
        Assert.Throws<InvalidOperationException>(() => tensor.AsDict());
        Assert.Throws<InvalidOperationException>(() => list.AsTensor());
        Assert.Throws<InvalidOperationException>(() => list.AsDict());
        Assert.Throws<InvalidOperationException>(() => dict.AsTensor());
        Assert.Throws<InvalidOperationException>(() => dict.AsList());
        Assert.Throws<ArgumentNullException>(() => new DictValue(null!));
    }

    [Fact]
    public void AFormatErrorNamesItsOffsetOnlyWhenItHasOne()
    {
        Assert.Equal(-1, new CheckpointFormatException("m").Offset);
        Assert.Equal("m", new CheckpointFormatException("m").Message);
        Assert.Equal("m", new CheckpointFormatException("m", -1).Message);
        foreach (long offset in new long[] { 0, 17 })
        {
            var e = new CheckpointFormatException("m", offset);
            Assert.Equal(offset, e.Offset);
            Assert.StartsWith("m", e.Message);
            Assert.Contains(offset.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message[1..]);
        }
    }
}
