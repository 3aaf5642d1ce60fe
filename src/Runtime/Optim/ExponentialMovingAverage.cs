using System.Globalization;
using DeepSharp.Backends;
using DeepSharp.Ops;

namespace DeepSharp.Optim;

/// <summary>
/// An exponential moving average of parameters, the "EMA weights" many recipes evaluate with (PyTorch's
/// <c>AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))</c>): call <see cref="Update"/> after each optimizer
/// step; the first copies the parameters, later ones set avg = lerp(avg, p, 1 - decay), one fused kernel per parameter on
/// its device. <see cref="CopyTo"/> writes the averages into the parameters (save the model first to go back).
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    private readonly IParameter[] _sources;
    private readonly Tensor?[] _averages;
    private bool _disposed;

    /// <summary>An average of <paramref name="parameters"/> (a model's, deferred ones included, or tensors).</summary>
    /// <param name="parameters">What to average.</param>
    /// <param name="decay">The weight of the old average, in [0, 1] (0.999 is common).</param>
    /// <exception cref="ArgumentNullException">The sequence or an item is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">decay is outside [0, 1].</exception>
    public ExponentialMovingAverage(IEnumerable<IParameter> parameters, float decay = 0.999f)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _sources = parameters.Distinct(ReferenceEqualityComparer.Instance).Cast<IParameter?>().Select((p, i) => p
            ?? throw new ArgumentNullException(nameof(parameters), $"ExponentialMovingAverage: parameter {i} is null.")).ToArray();
        Decay = decay is >= 0 and <= 1 ? decay
            : throw new ArgumentOutOfRangeException(nameof(decay), $"ExponentialMovingAverage: decay must be in [0, 1], got {decay}.");
        _averages = new Tensor?[_sources.Length];
    }

    /// <summary>The weight of the old average.</summary>
    public float Decay { get; }

    /// <summary>How many updates were made (PyTorch's <c>n_averaged</c>).</summary>
    public int NumUpdates { get; private set; }

    /// <summary>The averages, one per parameter (null for one that had no tensor at any update yet).</summary>
    public IReadOnlyList<Tensor?> Averages => _averages;

    /// <summary>Folds the parameters' current values into the averages (a parameter's first update copies it).</summary>
    /// <exception cref="ArgumentException">A parameter is not a dense float32 or float64 tensor.</exception>
    /// <exception cref="InvalidOperationException">A parameter's shape changed since its first update.</exception>
    /// <exception cref="ObjectDisposedException">The average was disposed.</exception>
    public void Update()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var _ = Autograd.NoGrad();
        using var __ = TensorScope.Suspend(); // the averages outlive any step's scope
        var batches = new Dictionary<(IBackend, DType), List<UpdateItem>>(); // one dtype per backend call
        for (int i = 0; i < _sources.Length; i++)
        {
            if (!_sources[i].IsInitialized) continue;
            var p = _sources[i].Data;
            if (p.DType is not (DType.Float32 or DType.Float64) || !p.IsContiguous)
                throw new ArgumentException($"ExponentialMovingAverage: parameter {i} is not a dense float32 or float64 tensor.");
            if (_averages[i] is not { } avg) { _averages[i] = p.Copy(p.Device); continue; }
            if (!avg.Layout.ShapeArray.SequenceEqual(p.Layout.ShapeArray))
                throw new InvalidOperationException($"ExponentialMovingAverage: parameter {i} has shape {Layout.Format(p.Shape)} but " +
                    $"its average {Layout.Format(avg.Shape)}.");
            Follow(avg, p.Device, p.DType);
            // The average is the rule's "parameter" and the parameter its read-only "gradient" (the unused states alias it).
            (batches.TryGetValue((p.Backend, p.DType), out var list) ? list : batches[(p.Backend, p.DType)] = [])
                .Add(new UpdateItem(avg.Storage, 0, p.Storage, p.Layout.Offset, p.Storage, p.Storage, p.Storage, p.Count));
        }
        var op = new EmaStep { Weight = 1f - Decay };
        foreach (var ((backend, _), items) in batches)
        {
            backend.Update(items, op);
            foreach (var u in items) u.P.Bump();
        }
        NumUpdates++;
    }

    /// <summary>Writes the averages into the parameters (those that have one), in place.</summary>
    /// <exception cref="ObjectDisposedException">The average was disposed.</exception>
    public void CopyTo()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var _ = Autograd.NoGrad();
        for (int i = 0; i < _sources.Length; i++)
            if (_averages[i] is { } avg && _sources[i].IsInitialized) _sources[i].Data.CopyFrom(avg);
    }

    /// <summary>The average moved to the parameter's device and converted to its dtype (the model moved or changed dtype).</summary>
    private static void Follow(Tensor t, Device device, DType dtype)
    {
        if (t.DType != dtype)
            using (var converted = t.To(dtype)) t.SetData(converted);
        if (t.Device == device) return;
        using var moved = t.To(device);
        t.SetData(moved);
    }

    /// <summary>The state: <c>n_averaged</c> (int64) and <c>average.{i}</c> for each parameter that has one (the live
    /// tensors).</summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var _ = TensorScope.Suspend();
        var d = new OrderedDictionary<string, Tensor> { ["n_averaged"] = Tensor.Full([], NumUpdates, DType.Int64) };
        for (int i = 0; i < _averages.Length; i++) if (_averages[i] is { } a) d.Add($"average.{i}", a);
        return d;
    }

    /// <summary>Loads a <see cref="StateDict"/> (copies, on each parameter's device, or as saved for one without a tensor
    /// yet). All or nothing.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">A key is unknown or missing, or an average does not fit its parameter (the
    /// message lists every problem); nothing was loaded.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var problems = new List<string>();
        var loaded = new Dictionary<int, Tensor>();
        long n = 0;
        foreach (var (key, t) in state)
        {
            if (key == "n_averaged")
            {
                if (t is { DType: DType.Int64, Count: 1 } && t.Item<long>() is >= 0 and <= int.MaxValue) n = t.Item<long>();
                else problems.Add("'n_averaged' is not one int64 count");
            }
            else if (key.StartsWith("average.", StringComparison.Ordinal)
                && int.TryParse(key.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < _sources.Length)
            {
                var shape = _sources[i].IsInitialized ? _sources[i].Data.Shape : null;
                if (t is null || t.DType is not (DType.Float32 or DType.Float64) || shape is not null && !shape.SequenceEqual(t.Shape))
                    problems.Add($"'{key}' does not fit parameter {i} ({(shape is null ? "no tensor yet" : Layout.Format(shape))})");
                else loaded[i] = t;
            }
            else problems.Add($"unexpected key '{key}'");
        }
        if (!state.ContainsKey("n_averaged")) problems.Add("missing 'n_averaged'");
        if (problems.Count > 0)
            throw new ArgumentException("ExponentialMovingAverage.LoadStateDict: the state dict does not fit; nothing was loaded. " +
                string.Join("; ", problems) + ".", nameof(state));
        using var _ = TensorScope.Suspend();
        // Copies first, then frees the old averages: the state dict may hold them (ema.LoadStateDict(ema.StateDict())).
        var copies = new Tensor?[_averages.Length];
        foreach (var (i, t) in loaded) copies[i] = t.Copy(_sources[i].IsInitialized ? _sources[i].Data.Device : t.Device);
        for (int i = 0; i < _averages.Length; i++)
        {
            _averages[i]?.Dispose();
            _averages[i] = copies[i];
        }
        NumUpdates = (int)n;
    }

    /// <summary>Frees the averages.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = 0; i < _averages.Length; i++) { _averages[i]?.Dispose(); _averages[i] = null; }
    }
}
