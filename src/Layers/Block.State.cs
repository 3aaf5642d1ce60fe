namespace DeepSharp.Layers;

public abstract partial class Block
{
    /// <summary>Every block in the tree with its dotted path ("" for this one), each shared block once, parents first.</summary>
    public IEnumerable<(string Path, Block Block)> NamedBlocks()
    {
        var seen = new HashSet<Block>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(string, Block)>();
        stack.Push(("", this));
        while (stack.Count > 0)
        {
            var (path, b) = stack.Pop();
            if (!seen.Add(b)) continue;
            yield return (path, b);
            for (int i = b._children.Count - 1; i >= 0; i--) stack.Push((Join(path, b._children[i].Name), b._children[i].Block));
        }
    }

    /// <summary>Every parameter with its dotted path ("0.weight"); a tied parameter is listed once, under its first path.</summary>
    public IEnumerable<(string Path, Parameter Parameter)> NamedParameters()
    {
        CheckRegistration();
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var (path, b) in NamedBlocks())
            foreach (var (name, p) in b._parameters)
                if (seen.Add(p))
                {
                    var full = Join(path, name);
                    if (p.Path.Length < full.Length) p.Path = full; // messages name the path from the outermost block
                    yield return (full, p);
                }
    }

    /// <summary>Every extra path of a tied parameter, with the path it is listed under in <see cref="NamedParameters"/>.</summary>
    public IEnumerable<(string Alias, string Canonical)> ParameterAliases()
    {
        var first = new Dictionary<Parameter, string>(ReferenceEqualityComparer.Instance);
        foreach (var (path, b) in AllPaths(""))
            foreach (var (name, p) in b._parameters)
            {
                var full = Join(path, name);
                if (!first.TryAdd(p, full) && first[p] != full) yield return (full, first[p]);
            }
    }

    /// <summary>Every (path, block) pair, a shared block once per place it appears.</summary>
    private IEnumerable<(string Path, Block Block)> AllPaths(string prefix)
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var x in child.AllPaths(Join(prefix, name))) yield return x;
    }

    /// <summary>Every distinct parameter.</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer with its dotted path.</summary>
    public IEnumerable<(string Path, Tensor Buffer)> NamedBuffers() =>
        NamedBlocks().SelectMany(x => x.Block._buffers.Select(b => (Join(x.Path, b.Name), b.Tensor)));

    /// <summary>
    /// Name → tensor for every parameter (once, as in <see cref="NamedParameters"/>) and buffer, in order:
    /// <c>net[2].StateDict()</c> gives {"weight", "bias"}; <c>net.StateDict()</c> gives {"0.weight", …}.
    /// </summary>
    /// <exception cref="UninitializedParameterException">A parameter has no data yet.</exception>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var d = new OrderedDictionary<string, Tensor>();
        foreach (var (path, p) in NamedParameters()) d.Add(path, p.Data);
        foreach (var (path, b) in NamedBuffers()) d.Add(path, b);
        return d;
    }

    /// <summary>The parameter at a dotted path ("2.bias").</summary>
    /// <exception cref="KeyNotFoundException">No parameter there; the message lists the valid paths.</exception>
    public Parameter GetParameter(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        int dot = path.LastIndexOf('.');
        var block = this;
        if (dot >= 0)
            foreach (var name in path[..dot].Split('.'))
                block = block._children.FirstOrDefault(c => c.Name == name).Block ?? throw NoParameter(path);
        var leaf = dot >= 0 ? path[(dot + 1)..] : path;
        var found = block._parameters.FirstOrDefault(p => p.Name == leaf).Parameter ?? throw NoParameter(path);
        if (found.Path.Length < path.Length) found.Path = path; // messages name the path from the outermost block asked
        return found;
    }

    private KeyNotFoundException NoParameter(string path) =>
        new($"{GetType().Name} has no parameter '{path}'. Parameters: {string.Join(", ", NamedParameters().Select(p => p.Path))}.");

    /// <summary>
    /// Paths of trainable parameters that have no gradient — after a backward, these did not take part in the loss (a
    /// layer that used detached data in its Forward, or a branch never taken). Empty when every parameter was reached.
    /// </summary>
    public IReadOnlyList<string> ParametersWithoutGrad() =>
        NamedParameters().Where(p => p.Parameter.RequiresGrad && p.Parameter.Grad is null).Select(p => p.Path).ToList();

    /// <summary>
    /// Calls <paramref name="fn"/> on every block of the tree exactly as PyTorch's <c>apply</c> does: each distinct child's
    /// subtree in registration order, then the block itself. A block placed twice in one parent is visited once there; a
    /// block shared by two parents is visited under each (PyTorch's <c>children()</c> removes duplicates only within a
    /// parent).
    /// </summary>
    public Block Apply(Action<Block> fn)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var seen = new HashSet<Block>(ReferenceEqualityComparer.Instance);
        foreach (var (_, child) in _children)
            if (seen.Add(child)) child.Apply(fn);
        fn(this);
        return this;
    }

    /// <summary>Every block of the tree in <see cref="Apply"/>'s order, each shared block once (where it first appears).</summary>
    private List<Block> PostOrder()
    {
        var order = new List<Block>();
        var seen = new HashSet<Block>(ReferenceEqualityComparer.Instance) { this };
        var stack = new Stack<(Block Block, int Next)>();
        stack.Push((this, 0));
        while (stack.Count > 0)
        {
            var (b, next) = stack.Pop();
            if (next < b._children.Count)
            {
                stack.Push((b, next + 1));
                var child = b._children[next].Block;
                if (seen.Add(child)) stack.Push((child, 0));
                continue;
            }
            order.Add(b);
        }
        return order;
    }

    /// <summary>Sets training mode on the whole tree (dropout is active only in training mode).</summary>
    public Block Train(bool training = true)
    {
        foreach (var (_, b) in NamedBlocks()) b.IsTraining = training;
        return this;
    }

    /// <summary>Sets evaluation mode on the whole tree.</summary>
    public Block Eval() => Train(false);

    /// <summary>True in training mode (the default).</summary>
    public bool IsTraining { get; private set; } = true;

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}
