using System.Globalization;

namespace DeepSharp.Optim;

// The optimizer's state dict (as torch.optim's: state per parameter index, then the groups' hyper-parameters).
public abstract partial class Optimizer
{
    // State loaded for parameters that had no tensor yet: applied at their first step.
    private readonly Dictionary<int, ParamState> _pending = new();

    /// <summary>
    /// The optimizer's state as a flat dictionary of tensors, in the spirit of PyTorch's <c>state_dict()</c>: for each
    /// parameter (numbered in group order from 0) that has state, <c>state.{i}.step</c> (int64) and its buffers
    /// (<c>state.{i}.momentum_buffer</c>, <c>state.{i}.exp_avg</c>, …) and, for a 16-bit parameter, its float32 master
    /// weights (<c>state.{i}.master_param</c>); for each group, <c>param_groups.{j}.params</c> (the
    /// parameter numbers, int64) and every hyper-parameter and option as a float32 scalar (<c>param_groups.{j}.lr</c>, …);
    /// and <c>step_count</c>. Buffers are the live tensors (save them before the next step changes them); deferred
    /// parameters' loaded but not yet applied state is included.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The optimizer was disposed.</exception>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var _ = TensorScope.Suspend();
        var d = new OrderedDictionary<string, Tensor>();
        for (int i = 0; i < _sources.Length; i++)
        {
            if ((_state[i] ?? _pending.GetValueOrDefault(i)) is not { } st) continue;
            d.Add($"state.{i}.step", Tensor.Full([], st.Step, DType.Int64));
            for (int k = 0; k < 3; k++)
                if (st.Slots[k] is { } t) d.Add($"state.{i}.{SlotNames[k]}", t);
            if (st.Master is { } master) d.Add($"state.{i}.{MasterKey}", master);
        }
        for (int j = 0, first = 0; j < _groups.Length; first += _groups[j].Parameters.Count, j++)
        {
            var ids = Enumerable.Range(first, _groups[j].Parameters.Count).Select(i => (long)i).ToArray();
            d.Add($"param_groups.{j}.params", Tensor.FromArray(ids, [ids.Length]));
            foreach (var (name, value) in _groups[j].HyperParameters) d.Add($"param_groups.{j}.{name}", Tensor.Full([], value));
            if (_groups[j].InitialLearningRate is { } lr0) d.Add($"param_groups.{j}.initial_lr", Tensor.Full([], lr0));
            foreach (var (name, on) in Options) d.Add($"param_groups.{j}.{name}", Tensor.Full([], on ? 1 : 0));
        }
        d.Add("step_count", Tensor.Full([], StepCount, DType.Int64));
        return d;
    }

    /// <summary>
    /// Loads a <see cref="StateDict"/> of an optimizer of the same type, options and groups (parameters matched by number):
    /// step counts, buffers (copied to each parameter's device) and every group's hyper-parameters. Strict and
    /// transactional: one exception lists every problem and nothing changes. A deferred parameter (no tensor yet) keeps its
    /// state aside until its first step, which checks the shape; a model loaded from the same checkpoint first has its
    /// tensors already.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">The dictionary was saved by another optimizer type or with other options, has
    /// another number of groups or parameters, a buffer of another shape, a value out of range, or a missing or unknown
    /// key; nothing was loaded.</exception>
    /// <exception cref="ObjectDisposedException">The optimizer was disposed.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var r = new StateReader(state);
        var (values, lr0) = ReadGroups(r);
        var loaded = LoadParamStates(state, r.Used, r.Problems);
        long steps = (long?)r.Scalar("step_count", DType.Int64) ?? 0;
        var unexpected = state.Keys.Where(k => !r.Used.Contains(k)).ToList();
        if (unexpected.Count > 0)
            r.Problems.Add($"unexpected keys {string.Join(", ", unexpected.Take(10).Select(k => $"'{k}'"))}" +
                (unexpected.Count > 10 ? $" and {unexpected.Count - 10} more" : "") + $" (was it saved by another optimizer than {Name}?)");
        if (r.Problems.Count > 0)
        {
            foreach (var st in loaded.Values) st.Dispose();
            throw new ArgumentException($"{Name}.LoadStateDict: the state dict does not fit this optimizer; nothing was loaded. " +
                string.Join("; ", r.Problems) + ".", nameof(state));
        }
        for (int i = 0; i < _state.Length; i++) { _state[i]?.Dispose(); _state[i] = null; }
        DropPending();
        foreach (var (i, st) in loaded)
        {
            if (_sources[i].IsInitialized) _state[i] = st;
            else _pending[i] = st;
        }
        foreach (var (j, name, v) in values) _groups[j].Load(name, v);
        for (int j = 0; j < _groups.Length; j++) _groups[j].InitialLearningRate = lr0[j];
        StepCount = checked((int)steps);
    }

    /// <summary>Reads and checks every group's entries: parameter numbers, hyper-parameters (in range), options (equal to
    /// this optimizer's) and the initial rate a scheduler recorded.</summary>
    private (List<(int Group, string Name, float Value)> Values, float?[] InitialLrs) ReadGroups(StateReader r)
    {
        var values = new List<(int Group, string Name, float Value)>();
        var lr0 = new float?[_groups.Length];
        int groups = r.State.Keys.Where(k => k.StartsWith("param_groups.", StringComparison.Ordinal))
            .Select(k => k.Split('.')[1]).Distinct().Count();
        if (groups != _groups.Length)
        {
            r.Problems.Add($"it holds {groups} parameter groups but this {Name} has {_groups.Length}");
            return (values, lr0);
        }
        for (int j = 0, first = 0; j < _groups.Length; first += _groups[j].Parameters.Count, j++)
        {
            var pre = $"param_groups.{j}.";
            if (r.Get(pre + "params") is { } ids)
            {
                var expected = Enumerable.Range(first, _groups[j].Parameters.Count).Select(i => (long)i).ToArray();
                if (ids.DType != DType.Int64 || ids.Layout.Rank != 1 || !ids.ToArray<long>().SequenceEqual(expected))
                    r.Problems.Add($"group {j} lists parameters {Layout.Format(ids.Shape)} {Show(ids)} but this {Name}'s group " +
                        $"{j} has {expected.Length} (numbered {first}..{first + expected.Length - 1})");
            }
            foreach (var name in _groups[j].HyperParameters.Keys)
                if (r.Scalar(pre + name, DType.Float32) is { } v) values.Add((j, name, (float)v));
            foreach (var (name, on) in Options)
                if (r.Scalar(pre + name, DType.Float32) is { } v && v != (on ? 1 : 0))
                    r.Problems.Add($"it was saved with {name} = {v != 0} but this {Name} has {name} = {on}");
            if (r.State.ContainsKey(pre + "initial_lr")) lr0[j] = (float?)r.Scalar(pre + "initial_lr", DType.Float32);
        }
        foreach (var (j, name, v) in values)
        {
            try { CheckHyperParameter(name, v, $"group {j}'s", "state"); }
            catch (ArgumentOutOfRangeException e) { r.Problems.Add(e.Message.Split(" (Parameter")[0]); }
        }
        return (values, lr0);
    }

    /// <summary>Reads entries of a state dict, noting which were read and what is wrong.</summary>
    private sealed class StateReader(IReadOnlyDictionary<string, Tensor> state)
    {
        public IReadOnlyDictionary<string, Tensor> State => state;
        public HashSet<string> Used { get; } = [];
        public List<string> Problems { get; } = [];

        public Tensor? Get(string key)
        {
            if (state.TryGetValue(key, out var t) && t is not null) { Used.Add(key); return t; }
            Problems.Add($"missing '{key}'");
            return null;
        }

        public double? Scalar(string key, DType dtype)
        {
            if (Get(key) is not { } t) return null;
            if (t.DType == dtype && t.Count == 1) return dtype == DType.Int64 ? t.Item<long>() : t.Item<float>();
            Problems.Add($"'{key}' is {t.DType.Name()} {Layout.Format(t.Shape)}, not one {dtype.Name()}");
            return null;
        }
    }

    /// <summary>Reads every <c>state.{i}.*</c> entry into new state (copies on each parameter's device); adds what is
    /// wrong to <paramref name="problems"/>.</summary>
    private Dictionary<int, ParamState> LoadParamStates(IReadOnlyDictionary<string, Tensor> state, HashSet<string> used,
        List<string> problems)
    {
        using var _ = TensorScope.Suspend();
        var result = new Dictionary<int, ParamState>();
        foreach (var (key, t) in state)
        {
            var parts = key.Split('.');
            if (parts.Length != 3 || parts[0] != "state") continue;
            if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= _sources.Length)
            {
                problems.Add($"'{key}' is for parameter {parts[1]}, but this {Name} has {_sources.Length} (0..{_sources.Length - 1})");
                continue;
            }
            int k = parts[2] == MasterKey ? 3 : Array.IndexOf(SlotNames, parts[2]);
            if (parts[2] != "step" && k < 0) continue; // reported as unexpected
            used.Add(key);
            if (t is null) { problems.Add($"'{key}' is null"); continue; }
            var st = result.TryGetValue(i, out var s) ? s : result[i] = new ParamState();
            if (k < 0)
            {
                if (t.DType == DType.Int64 && t.Count == 1 && t.Item<long>() is >= 0 and <= int.MaxValue) st.Step = (int)t.Item<long>();
                else problems.Add($"'{key}' is not a step count (one int64 in 0..{int.MaxValue})");
                continue;
            }
            var src = _sources[i];
            var shape = src.IsInitialized ? src.Data.Shape : null;
            // Float32 or float64 state fits either (converted to the parameter's dtype at its next step, as torch.optim casts).
            if (t.DType is not (DType.Float32 or DType.Float64) || shape is not null && !shape.SequenceEqual(t.Shape))
            {
                var dtype = src.IsInitialized ? src.Data.DType : DType.Float32;
                problems.Add($"'{key}' is {t.DType.Name()} {Layout.Format(t.Shape)} but {Describe(src, i)} is {dtype.Name()} " +
                    (shape is null ? "(no tensor yet)" : Layout.Format(shape)));
                continue;
            }
            var copy = t.Copy(src.IsInitialized ? src.Data.Device : t.Device);
            if (k < 3) st.Slots[k] = copy;
            else
            {
                st.Master = copy.DType == DType.Float32 ? copy : copy.To(DType.Float32);
                if (!ReferenceEquals(st.Master, copy)) copy.Dispose();
            }
        }
        foreach (var (i, st) in result)
            if (!state.ContainsKey($"state.{i}.step")) problems.Add($"missing 'state.{i}.step'");
        return result;
    }

    private static string Show(Tensor ids) =>
        ids.DType == DType.Int64 && ids.Count <= 8 ? "[" + string.Join(", ", ids.ToArray<long>()) + "]" : ids.DType.Name();

    /// <summary>State loaded for a parameter that has just got its tensor, moved to its device.</summary>
    private ParamState? TakePending(int i, Tensor p)
    {
        if (!_pending.Remove(i, out var st)) return null;
        st.Follow(p.Device, p.DType);
        return st;
    }

    /// <summary>Refuses (before any update) loaded state that does not fit the tensor a deferred parameter got.</summary>
    private void CheckPending(int i, Tensor p)
    {
        if (!_pending.TryGetValue(i, out var st)) return;
        foreach (var t in st.Slots)
            if (t is not null && !t.Layout.ShapeArray.SequenceEqual(p.Layout.ShapeArray))
                throw new InvalidOperationException($"{Name}: the state loaded for {Describe(_sources[i], i)} has shape " +
                    $"{Layout.Format(t.Layout.ShapeArray)} but the parameter was created as {Layout.Format(p.Layout.ShapeArray)}; " +
                    "load a checkpoint of this model.");
    }

    private void DropPending()
    {
        foreach (var st in _pending.Values) st.Dispose();
        _pending.Clear();
    }
}
