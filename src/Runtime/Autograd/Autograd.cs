namespace DeepSharp;

/// <summary>
/// Reverse-mode automatic differentiation. Operations on tensors that require gradients record a node (inputs and rule);
/// <see cref="Tensor.Backward(Tensor?, bool)"/> walks the recorded graph once, in reverse topological order.
/// </summary>
public static class Autograd
{
    [ThreadStatic] private static int _noGradDepth;

    /// <summary>True unless inside a <see cref="NoGrad"/> scope on this thread.</summary>
    public static bool IsEnabled => _noGradDepth == 0;

    /// <summary>
    /// Turns recording off on this thread until disposed (<c>using (Autograd.NoGrad()) { … }</c>): for initialization,
    /// optimizer steps and evaluation. In-place updates of leaves are allowed inside it.
    /// </summary>
    public static IDisposable NoGrad() => new NoGradScope();

    private sealed class NoGradScope : IDisposable
    {
        private bool _done;
        public NoGradScope() => _noGradDepth++;
        public void Dispose() { if (!_done) { _done = true; _noGradDepth--; } }
    }

    /// <summary>Whether an op on these inputs must be recorded. Hot ops ask first, so that when nothing needs a gradient
    /// (inference, data preparation) they build no rule closure and no arrays
    /// (see benchmarks/NOTES.md, "Moved from code comments").</summary>
    internal static bool Needed(Tensor a) => IsEnabled && a.RequiresGrad;

    /// <inheritdoc cref="Needed(Tensor)"/>
    internal static bool Needed(Tensor a, Tensor b) => IsEnabled && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>Records <paramref name="y"/> = op(inputs) when any input requires a gradient; returns y.</summary>
    internal static Tensor Record(Tensor y, string op, Tensor[] inputs, Func<Tensor, Tensor?[]> rule, params Tensor[] saved)
    {
        if (!IsEnabled) return y;
        foreach (var t in inputs)
            if (t.RequiresGrad) { y.SetNode(new Node(op, inputs, rule, saved)); break; }
        return y;
    }

    internal static void Backward(Tensor root, Tensor grad, bool retainGraph) =>
        Autocast.Off((root, grad, retainGraph), static a => { BackwardCore(a.root, a.grad, a.retainGraph); return 0; });

    /// <summary>The backward pass (with autocast off: a rule's products run in the dtypes of what it is given, as PyTorch's
    /// engine does; each input's gradient is cast to its dtype).</summary>
    private static void BackwardCore(Tensor root, Tensor grad, bool retainGraph)
    {
        var order = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = grad };
        using (NoGrad())
        {
            foreach (var t in order)
            {
                if (!grads.Remove(t, out var g)) continue;
                var node = t.Node!;
                var inputGrads = node.Apply(g);
                for (int i = 0; i < node.Inputs.Length; i++)
                {
                    var x = node.Inputs[i]; var gx = inputGrads[i];
                    if (gx is null || !x.RequiresGrad) continue;
                    if (!gx.Layout.ShapeArray.SequenceEqual(x.Layout.ShapeArray))
                        throw new InvalidOperationException(
                            $"Backward: the rule of {node.Op} returned a gradient of shape {Layout.Format(gx.Layout.ShapeArray)} " +
                            $"for an input of shape {Layout.Format(x.Layout.ShapeArray)} (a bug in the rule).");
                    if (gx.DType != x.DType && gx.DType.IsFloat() && x.DType.IsFloat()) // a promoted op's gradient
                    {
                        var uncast = gx;
                        gx = gx.To(x.DType);
                        if (Fresh(uncast, g, node, inputGrads, i)) uncast.Dispose(); // made for this input alone
                    }
                    if (x.Node is null) x.AccumulateGrad(gx, Fresh(gx, g, node, inputGrads, i));
                    else grads[x] = grads.TryGetValue(x, out var acc) ? acc + gx : gx;
                }
                if (!retainGraph) node.Release();
            }
        }
    }

    /// <summary>
    /// True when the rule made <paramref name="gx"/> just now for input i alone: a dense tensor that is the only user of its
    /// storage, not the incoming gradient, not a tensor the node holds, and not returned for another input. A leaf can
    /// then take its storage as its gradient instead of copying it (one launch less per parameter and step).
    /// </summary>
    private static bool Fresh(Tensor gx, Tensor g, Node node, Tensor?[] inputGrads, int i)
    {
        if (ReferenceEquals(gx, g) || !gx.IsContiguous || gx.Layout.Offset != 0 || gx.Storage.RefCount != 1 ||
            gx.Storage.Count != gx.Count || node.Holds(gx)) return false;
        for (int j = 0; j < inputGrads.Length; j++)
            if (j != i && ReferenceEquals(inputGrads[j], gx)) return false;
        return true;
    }

    /// <summary>Non-leaf tensors reachable from root, each after every tensor that uses it (iterative DFS: deep graphs are fine).</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var post = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<(Tensor T, int Next)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.Node!.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var x = inputs[next];
                if (x.Node != null && seen.Add(x)) stack.Push((x, 0));
                continue;
            }
            post.Add(t);
        }
        post.Reverse();
        return post;
    }
}
