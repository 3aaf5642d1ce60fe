namespace DeepSharp.Optim;

/// <summary>
/// Dynamic loss scaling for float16 training (PyTorch's <c>torch.amp.GradScaler</c>): the loss is multiplied by a large
/// scale before <c>Backward</c> so that small gradients do not flush to zero in float16; the gradients are divided by it
/// again before the optimizer steps. A step whose gradients hold an infinity or a NaN (the scale was too large) is skipped
/// and the scale backs off; after <see cref="GrowthInterval"/> clean steps in a row it grows.
/// </summary>
/// <example><code>
/// var scaler = new GradScaler();
/// foreach (var (x, y) in batches)
/// {
///     optimizer.ZeroGrad();
///     using var loss = Functional.CrossEntropy(net.Call(x), y);
///     scaler.Scale(loss).Backward();
///     scaler.Unscale(optimizer);                     // optional: to clip the true gradients
///     ClipGrad.Norm(net.Parameters(), maxNorm: 1f);
///     scaler.Step(optimizer);                        // skipped when a gradient is inf or NaN
///     scaler.Update();
/// }
/// </code></example>
/// <remarks>Each <see cref="Step"/> reads one value per device from the gradients' device (whether any is not finite), as
/// PyTorch's does. Its state (<see cref="StateDict"/>) is saved in a training checkpoint with the optimizer's.</remarks>
public sealed class GradScaler
{
    private enum Stage { Ready, Unscaled, Stepped }

    private sealed class Record { public Stage Stage; public bool FoundInf; public bool Checked; }

    private readonly Dictionary<Optimizer, Record> _records = new(ReferenceEqualityComparer.Instance);
    private float _scale;
    private int _growthTracker;

    /// <summary>A scaler starting at <paramref name="initScale"/> (PyTorch's defaults).</summary>
    /// <param name="initScale">The first scale (finite, &gt; 0).</param>
    /// <param name="growthFactor">What the scale is multiplied by after <paramref name="growthInterval"/> clean steps
    /// (finite, &gt; 1).</param>
    /// <param name="backoffFactor">What it is multiplied by after a skipped step (in (0, 1)).</param>
    /// <param name="growthInterval">Clean steps in a row before it grows (&gt; 0).</param>
    /// <param name="enabled">False makes every call a pass-through (scale 1, steps never skipped): one code path for runs with
    /// and without scaling.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside its range (the message names it).</exception>
    public GradScaler(float initScale = 65536f, float growthFactor = 2f, float backoffFactor = 0.5f, int growthInterval = 2000,
        bool enabled = true)
    {
        if (!(initScale > 0) || !float.IsFinite(initScale))
            throw new ArgumentOutOfRangeException(nameof(initScale), initScale,
                $"GradScaler: initScale must be finite and > 0, got {initScale}.");
        if (!(growthFactor > 1) || !float.IsFinite(growthFactor))
            throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor,
                $"GradScaler: growthFactor must be finite and > 1, got {growthFactor}.");
        if (!(backoffFactor is > 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor,
                $"GradScaler: backoffFactor must be in (0, 1), got {backoffFactor}.");
        if (growthInterval <= 0)
            throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval,
                $"GradScaler: growthInterval must be > 0, got {growthInterval}.");
        (_scale, GrowthFactor, BackoffFactor) = (initScale, growthFactor, backoffFactor);
        (GrowthInterval, IsEnabled) = (growthInterval, enabled);
    }

    /// <summary>Whether scaling is on (off: every call passes through).</summary>
    public bool IsEnabled { get; }

    /// <summary>The factor the scale grows by.</summary>
    public float GrowthFactor { get; }

    /// <summary>The factor the scale backs off by.</summary>
    public float BackoffFactor { get; }

    /// <summary>Clean steps in a row before the scale grows.</summary>
    public int GrowthInterval { get; }

    /// <summary>The current scale (1 when disabled).</summary>
    public float GetScale() => IsEnabled ? _scale : 1f;

    /// <summary>Clean steps since the scale last changed.</summary>
    public int GrowthTracker => _growthTracker;

    /// <summary>The loss times the current scale, to call <c>Backward</c> on (the loss itself when disabled); a 16-bit loss
    /// stays 16-bit, as in PyTorch.</summary>
    /// <exception cref="ArgumentNullException">loss is null.</exception>
    /// <exception cref="NotSupportedException">loss is not float32, float16 or bfloat16.</exception>
    public Tensor Scale(Tensor loss)
    {
        if (!Autocast.IsHalf(Check.NotNull("GradScaler.Scale", loss, nameof(loss)))) Check.Float32("GradScaler.Scale", loss, nameof(loss));
        return IsEnabled ? loss * _scale : loss;
    }

    /// <summary>
    /// Divides the optimizer's gradients by the scale in place and records whether any of them is infinite or NaN
    /// (PyTorch's <c>unscale_</c>): call it before clipping or reading the gradients; <see cref="Step"/> calls it when it was
    /// not called. At most once per optimizer between two <see cref="Update"/> calls.
    /// </summary>
    /// <exception cref="ArgumentNullException">optimizer is null.</exception>
    /// <exception cref="InvalidOperationException">It was already called for this optimizer, or the optimizer already
    /// stepped, since the last <see cref="Update"/>.</exception>
    public void Unscale(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!IsEnabled) return;
        var r = RecordOf(optimizer);
        if (r.Stage == Stage.Unscaled)
            throw new InvalidOperationException("GradScaler.Unscale: it was already called for this optimizer since the last Update.");
        if (r.Stage == Stage.Stepped)
            throw new InvalidOperationException(
                "GradScaler.Unscale: the optimizer already stepped since the last Update; call Update first.");
        (r.FoundInf, r.Checked) = UnscaleGradients(optimizer, 1f / _scale);
        r.Stage = Stage.Unscaled;
    }

    /// <summary>
    /// Unscales the gradients (unless <see cref="Unscale"/> did) and steps the optimizer when every gradient is finite;
    /// otherwise skips the step, leaving the parameters and the optimizer's state as they were. Disabled: steps.
    /// </summary>
    /// <returns>Whether the optimizer stepped.</returns>
    /// <exception cref="ArgumentNullException">optimizer is null.</exception>
    /// <exception cref="InvalidOperationException">The optimizer already stepped since the last <see cref="Update"/>, or none
    /// of its parameters has a gradient (nothing was checked: PyTorch's "No inf checks were recorded").</exception>
    public bool Step(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!IsEnabled) { optimizer.Step(); return true; }
        var r = RecordOf(optimizer);
        if (r.Stage == Stage.Stepped)
            throw new InvalidOperationException(
                "GradScaler.Step: this optimizer already stepped since the last Update; call Update first.");
        if (r.Stage == Stage.Ready) Unscale(optimizer);
        if (!r.Checked)
        {
            _records.Remove(optimizer); // nothing was unscaled: after a Backward the next Step starts afresh
            throw new InvalidOperationException("GradScaler.Step: none of the optimizer's parameters has a gradient, so no " +
                "inf check was recorded; call Backward on the scaled loss first.");
        }
        r.Stage = Stage.Stepped;
        if (r.FoundInf) return false;
        optimizer.Step();
        return true;
    }

    /// <summary>
    /// Updates the scale after the iteration's steps: times <see cref="BackoffFactor"/> if any optimizer found an infinite or
    /// NaN gradient (and the count of clean steps restarts), else times <see cref="GrowthFactor"/> once
    /// <see cref="GrowthInterval"/> clean steps in a row have passed (unless that would overflow). With
    /// <paramref name="newScale"/>, the scale becomes that instead.
    /// </summary>
    /// <exception cref="InvalidOperationException">No optimizer was unscaled or stepped since the last update.</exception>
    /// <exception cref="ArgumentOutOfRangeException">newScale is not finite and &gt; 0.</exception>
    public void Update(float? newScale = null)
    {
        if (!IsEnabled) return;
        if (newScale is { } s)
        {
            if (!(s > 0) || !float.IsFinite(s))
                throw new ArgumentOutOfRangeException(nameof(newScale), s, $"GradScaler.Update: newScale must be finite and > 0, got {s}.");
            _scale = s;
        }
        else
        {
            if (!_records.Values.Any(r => r.Checked))
                throw new InvalidOperationException("GradScaler.Update: no gradients were unscaled or stepped since the last Update.");
            if (_records.Values.Any(r => r.FoundInf)) { _scale *= BackoffFactor; _growthTracker = 0; }
            else if (++_growthTracker == GrowthInterval)
            {
                float grown = _scale * GrowthFactor;
                if (float.IsFinite(grown)) _scale = grown;
                _growthTracker = 0;
            }
        }
        _records.Clear();
    }

    private Record RecordOf(Optimizer optimizer)
    {
        if (!_records.TryGetValue(optimizer, out var r)) _records[optimizer] = r = new Record();
        return r;
    }

    /// <summary>Multiplies every gradient by <paramref name="inverse"/> in place; whether any was infinite or NaN before
    /// (one value read per device: the gradients' largest magnitude, NaN when any is NaN).</summary>
    private static (bool Found, bool Checked) UnscaleGradients(Optimizer optimizer, float inverse)
    {
        using var _ = Autograd.NoGrad();
        bool found = false;
        var grads = optimizer.Parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        foreach (var g in grads) // every one checked before any changes
            if (g.DType != DType.Float32)
                throw new InvalidOperationException($"GradScaler: a gradient is {g.DType.Name()}; the scaler unscales float32 " +
                    "gradients (keep the parameters in float32 and let autocast lower the products).");
        foreach (var onDevice in grads.GroupBy(g => g.Device))
        {
            var list = onDevice.ToList();
            using (var largest = ClipGrad.TotalNorm(list, float.PositiveInfinity))
                found |= !float.IsFinite(largest.Item<float>());
            foreach (var g in list) g.MulInPlace(inverse);
        }
        return (found, grads.Count > 0);
    }

    /// <summary>The scaler's state (PyTorch's keys): <c>scale</c>, <c>growth_factor</c>, <c>backoff_factor</c> (float32),
    /// <c>growth_interval</c> and <c>_growth_tracker</c> (int64), as CPU scalars; empty when disabled, as PyTorch's.</summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        using var _ = TensorScope.Suspend();
        if (!IsEnabled) return [];
        return new()
        {
            ["scale"] = Tensor.Full([], _scale),
            ["growth_factor"] = Tensor.Full([], GrowthFactor),
            ["backoff_factor"] = Tensor.Full([], BackoffFactor),
            ["growth_interval"] = Tensor.Full([], GrowthInterval, DType.Int64),
            ["_growth_tracker"] = Tensor.Full([], _growthTracker, DType.Int64),
        };
    }

    /// <summary>Loads a <see cref="StateDict"/>: the scale and the count of clean steps continue where they were saved
    /// (a disabled scaler ignores it).</summary>
    /// <exception cref="ArgumentNullException">state is null.</exception>
    /// <exception cref="ArgumentException">An entry is missing, has another dtype or shape, or is out of range, or the
    /// factors and interval differ from this scaler's, or the dictionary is empty (saved by a disabled scaler) — the message
    /// lists every problem; nothing was loaded.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!IsEnabled) return;
        if (state.Count == 0)
            throw new ArgumentException("GradScaler.LoadStateDict: the state dict is empty: it was saved by a disabled scaler; " +
                "nothing was loaded.", nameof(state));
        var problems = new List<string>();
        double? Read(string key, DType dtype)
        {
            if (!state.TryGetValue(key, out var t) || t is null) { problems.Add($"missing '{key}'"); return null; }
            if (t.DType != dtype || t.Count != 1)
            {
                problems.Add($"'{key}' is {t.DType.Name()} {Layout.Format(t.Shape)}, not {dtype.Name()} []");
                return null;
            }
            return dtype == DType.Int64 ? t.Item<long>() : t.Item<float>();
        }
        var scale = Read("scale", DType.Float32);
        var growth = Read("growth_factor", DType.Float32);
        var backoff = Read("backoff_factor", DType.Float32);
        var interval = Read("growth_interval", DType.Int64);
        var tracker = Read("_growth_tracker", DType.Int64);
        if (scale is { } s && (!(s > 0) || !double.IsFinite(s))) problems.Add($"'scale' is {s}");
        if (growth is { } g && g != GrowthFactor) problems.Add($"it was saved with growth_factor = {g} but this scaler has {GrowthFactor}");
        if (backoff is { } b && b != BackoffFactor)
            problems.Add($"it was saved with backoff_factor = {b} but this scaler has {BackoffFactor}");
        if (interval is { } i && i != GrowthInterval)
            problems.Add($"it was saved with growth_interval = {i} but this scaler has {GrowthInterval}");
        if (tracker is { } k && (k < 0 || k >= GrowthInterval)) problems.Add($"'_growth_tracker' is {k}, outside [0, {GrowthInterval})");
        var unexpected = state.Keys.Where(key =>
            key is not ("scale" or "growth_factor" or "backoff_factor" or "growth_interval" or "_growth_tracker"));
        problems.AddRange(unexpected.Select(key => $"unexpected key '{key}'"));
        if (problems.Count > 0)
            throw new ArgumentException($"GradScaler.LoadStateDict: the state dict does not fit this scaler; nothing was loaded. " +
                string.Join("; ", problems) + ".", nameof(state));
        (_scale, _growthTracker) = ((float)scale!.Value, (int)tracker!.Value);
    }
}
