using System.Collections;

namespace DeepSharp.Layers;

/// <summary>Blocks applied in order; children are named "0", "1", … unless added with a name.</summary>
public class Sequential : Block, IEnumerable<Block>
{
    /// <summary>A sequence of <paramref name="blocks"/> (may be empty; add more with <see cref="Add(Block)"/>).</summary>
    public Sequential(params Block[] blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        foreach (var b in blocks) Add(b);
    }

    /// <summary>Appends a block (named by its position) and returns this sequence.</summary>
    /// <exception cref="ArgumentException">The block takes or returns something other than one tensor.</exception>
    public Sequential Add(Block block)
    {
        CheckChainable(block);
        AddChild(block);
        return this;
    }

    /// <summary>Appends a block under <paramref name="name"/> (PyTorch's <c>add_module</c>, e.g. <c>$"block {i}"</c>) and returns
    /// this sequence.</summary>
    /// <exception cref="ArgumentException">The name is empty, contains '.', or is taken.</exception>
    public Sequential Add(string name, Block block)
    {
        CheckChainable(block);
        Register(name, block);
        return this;
    }

    private static void CheckChainable(Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (!block.TakesOneTensor)
            throw new ArgumentException($"Sequential chains blocks of one tensor in and one out; {block.GetType().Name} is not one " +
                "(a Block<TInput, TOutput>): call it from a custom block's Forward.", nameof(block));
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
