using System.Collections;

namespace DeepSharp.Layers;

/// <summary>Blocks applied in order; children are named "0", "1", …</summary>
public class Sequential : Block, IEnumerable<Block>
{
    /// <summary>A sequence of <paramref name="blocks"/> (may be empty; add more with <see cref="Add"/>).</summary>
    public Sequential(params Block[] blocks)
    {
        foreach (var b in blocks) Add(b);
    }

    /// <summary>Appends a block and returns this sequence.</summary>
    public Sequential Add(Block block)
    {
        AddChild(block);
        return this;
    }

    /// <summary>Number of blocks.</summary>
    public int Count => Children().Count();

    /// <inheritdoc/>
    protected override Tensor Forward(Tensor x)
    {
        foreach (var b in Children()) x = b.Call(x);
        return x;
    }

    /// <inheritdoc/>
    public IEnumerator<Block> GetEnumerator() => Children().GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
