namespace DeepSharp;

/// <summary>
/// How one tensor was computed: the op's name, its inputs, and its gradient rule (a closure over whatever the rule needs).
/// The rule maps the gradient of the output to one gradient per input (null where the input needs none).
/// </summary>
internal sealed class Node(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> rule, Tensor[] saved)
{
    public string Op { get; } = op;
    public Tensor[] Inputs { get; } = inputs;
    private Func<Tensor, Tensor?[]>? _rule = rule;
    private Tensor[]? _saved = saved;
    // What the rule reads, as it was when the op ran: each saved tensor's storage, layout and version. An in-place write
    // since then (a new version) or new data given with SetData (another storage or layout) invalidates the rule.
    private (Backends.Storage Storage, Layout Layout, int Version)[] _state =
        saved.Select(t => (t.RawStorage, t.Layout, t.Version)).ToArray();

    public Tensor?[] Apply(Tensor grad)
    {
        var rule = _rule ?? throw new InvalidOperationException(
            $"Backward: trying to go through the graph a second time: the intermediate results of {Op} were freed after the " +
            "first Backward(). Call Backward(retainGraph: true) the first time if you need to backward twice.");
        for (int i = 0; i < _saved!.Length; i++)
        {
            var (storage, layout, version) = _state[i];
            var t = _saved[i];
            if (!ReferenceEquals(t.RawStorage, storage) || !ReferenceEquals(t.Layout, layout))
                throw new InvalidOperationException(
                    $"Backward: a tensor {Op} saved for its gradient (shape {Layout.Format(layout.Shape)}) was given new data with " +
                    $"SetData after {Op} used it, so its gradient would be wrong. Call SetData after Backward, or on a Clone().");
            if (t.Version != version)
                throw new InvalidOperationException(
                    $"Backward: an input of {Op} with shape {Layout.Format(t.Layout.ShapeArray)} was modified in place after {Op} " +
                    $"used it (version {version} then, {t.Version} now), so its gradient would be wrong. " +
                    "Clone it before changing it in place.");
        }
        return rule(grad);
    }

    /// <summary>Whether <paramref name="t"/> is one of this node's inputs or saved tensors.</summary>
    public bool Holds(Tensor t)
    {
        foreach (var x in Inputs) if (ReferenceEquals(x, t)) return true;
        if (_saved != null) foreach (var x in _saved) if (ReferenceEquals(x, t)) return true;
        return false;
    }

    /// <summary>Drops the rule and the tensors it kept alive (after a Backward without retainGraph).</summary>
    public void Release() { _rule = null; _saved = []; _state = []; }
}
