namespace DeepSharp.Layers;

/// <summary>What a non-strict load left out.</summary>
/// <param name="Missing">Model entries the state dict did not have (left unchanged).</param>
/// <param name="Unexpected">State dict entries the model does not have (ignored).</param>
public sealed record LoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected)
{
    /// <summary>Model entries the state dict did not have.</summary>
    public IReadOnlyList<string> Missing { get; init => field = value ?? throw new ArgumentNullException(nameof(value)); }
        = Missing ?? throw new ArgumentNullException(nameof(Missing));
    /// <summary>State dict entries the model does not have.</summary>
    public IReadOnlyList<string> Unexpected { get; init => field = value ?? throw new ArgumentNullException(nameof(value)); }
        = Unexpected ?? throw new ArgumentNullException(nameof(Unexpected));
}

/// <summary>A state dict does not fit the model. Lists every problem at once; the model was not changed.</summary>
public sealed class StateDictMismatchException(string message, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
    IReadOnlyList<string> mismatched)
    : Exception(message)
{
    /// <summary>Model entries absent from the state dict.</summary>
    public IReadOnlyList<string> Missing { get; } = missing;
    /// <summary>State dict entries the model does not have.</summary>
    public IReadOnlyList<string> Unexpected { get; } = unexpected;
    /// <summary>Entries whose shape or dtype differs (with both).</summary>
    public IReadOnlyList<string> Mismatched { get; } = mismatched;
}

public abstract partial class Block
{
    /// <summary>
    /// Copies a state dict (path → tensor) into the model's parameters and buffers, in place (the objects stay the same, and
    /// the model never shares memory with the dictionary).
    /// Transactional: everything is checked first; on any problem one exception lists all missing and unexpected keys and
    /// all shape/dtype mismatches, and nothing is changed. Non-strict mode tolerates missing/unexpected keys (returned in
    /// the report) but never a mismatch. Deferred parameters take their shapes from the state dict. A float entry loads
    /// into a float parameter or buffer of another float dtype by conversion (float16 and bfloat16 widen exactly, float64
    /// rounds to nearest), as torch's <c>copy_</c> does; other dtypes must match.
    /// </summary>
    /// <param name="state">Entries by dotted path (as <see cref="StateDict"/> produces).</param>
    /// <param name="strict">Require exactly the model's keys.</param>
    /// <param name="stripPrefix">Removed from the front of every key that has it (e.g. "module." from data-parallel training).</param>
    /// <exception cref="StateDictMismatchException">The state dict does not fit; the model is unchanged.</exception>
    public LoadReport LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true, string? stripPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        CheckRegistration();
        var targets = new Dictionary<string, (Parameter? P, Tensor? B)>();
        foreach (var (path, p) in NamedParameters()) targets[path] = (p, null);
        foreach (var (path, b) in NamedBuffers()) targets.TryAdd(path, (null, b));
        var given = new Dictionary<string, Tensor>();
        foreach (var (k, v) in state)
        {
            if (v is null) throw new ArgumentException($"LoadStateDict: the entry '{k}' is null; nothing was loaded.", nameof(state));
            var key = stripPrefix != null && k.StartsWith(stripPrefix, StringComparison.Ordinal) ? k[stripPrefix.Length..] : k;
            if (!given.TryAdd(key, v))
                throw new ArgumentException($"LoadStateDict: '{k}' becomes '{key}' after removing '{stripPrefix}', a key the state dict " +
                    "already has; nothing was loaded.", nameof(state));
        }

        // A tied parameter or a shared block's buffer has more paths than StateDict lists (PyTorch's state_dict lists them
        // all): each extra path loads the same tensor, and a listed path is missing only when none of its paths is given.
        var listedAt = new Dictionary<object, string>(ReferenceEqualityComparer.Instance);
        foreach (var (path, t) in targets) listedAt.TryAdd((object?)t.P ?? t.B!, path);
        var canonical = new Dictionary<string, string>();
        foreach (var (path, b) in AllPaths(""))
        {
            foreach (var (name, p) in b._parameters) canonical.TryAdd(Join(path, name), listedAt[p]);
            foreach (var (name, t) in b._buffers) canonical.TryAdd(Join(path, name), listedAt[t]);
        }
        foreach (var (alias, path) in canonical) targets.TryAdd(alias, targets[path]);
        var present = given.Keys.Where(canonical.ContainsKey).Select(k => canonical[k]).ToHashSet();
        var missing = targets.Keys.Where(k => canonical[k] == k && !present.Contains(k)).ToList();
        var unexpected = given.Keys.Where(k => !targets.ContainsKey(k)).ToList();
        var mismatched = new List<string>();
        foreach (var (key, value) in given)
        {
            if (!targets.TryGetValue(key, out var target)) continue;
            var (wantType, wantShape) = target.P is { } p ? (p.DType, p.Shape) : (target.B!.DType, target.B.Shape);
            bool fits = value.Rank == wantShape.Length && wantShape.Select((d, i) => d == -1 || d == value.Layout.Shape[i]).All(ok => ok);
            bool typeFits = value.DType == wantType || (value.DType.IsFloat() && wantType.IsFloat()); // floats convert, as torch's copy_
            if (!typeFits || !fits)
                mismatched.Add(
                    $"{key}: model {wantType.Name()} {Layout.Format(wantShape)}, state dict {value.DType.Name()} " +
                    $"{Layout.Format(value.Layout.Shape)}");
        }
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictMismatchException(Describe(missing, unexpected, mismatched, targets.Keys), missing, unexpected, mismatched);

        // Values are copied into the model's own storage (as torch's load_state_dict does): the state dict and the model
        // stay independent, and two models loaded from one dictionary share nothing.
        using var _ = Autograd.NoGrad();
        using var __ = TensorScope.Suspend();
        foreach (var (key, value) in given)
        {
            if (!targets.TryGetValue(key, out var target)) continue;
            if (target.P is { } p)
            {
                using var converted = value.DType == p.DType ? null : value.To(p.DType); // converted once, to the model's dtype
                var v = converted ?? value;
                if (p.IsInitialized || v.Device == _device) p.Data = v; // the setter copies, across devices too
                else
                {
                    using var moved = v.Copy(_device);
                    p.Data = moved;
                }
            }
            else if (value.Device == target.B!.Device) target.B.CopyFrom(value);
            else
            {
                using var moved = value.Copy(target.B.Device);
                target.B.CopyFrom(moved);
            }
        }
        return new LoadReport(missing, unexpected);
    }

    private string Describe(List<string> missing, List<string> unexpected, List<string> mismatched, IEnumerable<string> expected)
    {
        var lines = new List<string> { $"The state dict does not fit {GetType().Name}; nothing was loaded." };
        if (missing.Count > 0) lines.Add($"Missing keys ({missing.Count}): {string.Join(", ", missing)}");
        if (unexpected.Count > 0) lines.Add($"Unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}");
        if (mismatched.Count > 0) lines.Add($"Shape/dtype mismatches ({mismatched.Count}): {string.Join("; ", mismatched)}");
        // When every unexpected key is an expected key behind one extra prefix, say how to remap.
        var expectedSet = expected.ToHashSet();
        var prefixes = unexpected.Select(k => k.IndexOf('.') is > 0 and var i ? k[..(i + 1)] : null).Distinct().ToList();
        if (unexpected.Count > 0 && prefixes.Count == 1 && prefixes[0] is { } prefix
            && unexpected.All(k => expectedSet.Contains(k[prefix.Length..])))
            lines.Add($"Every unexpected key starts with '{prefix}' and matches a model key without it: pass stripPrefix: \"{prefix}\".");
        return string.Join("\n", lines);
    }
}
