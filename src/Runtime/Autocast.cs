namespace DeepSharp;

/// <summary>
/// Mixed precision (PyTorch's <c>torch.autocast</c>): inside <c>using (Autocast.Enable(DType.BFloat16)) { … }</c> on a
/// thread, matrix products, linear layers, convolutions and attention take their float32 inputs (weights included) rounded
/// to the low dtype and return it; softmax, log-softmax, losses, layer and group norm widen 16-bit inputs and return
/// float32; recurrent cells and sequences run in float32 (and return it, inside a scope or not); every other op runs in
/// its inputs' dtype, and a binary op on two float dtypes computes in the wider one (float32 for float16 with bfloat16; a
/// 0-dim operand does not widen). Parameters stay float32: the casts are recorded, so their gradients come back float32 through
/// them. Run the forward pass and the loss inside the scope and <c>Backward</c> after it, as in PyTorch; with float16, scale
/// the loss with <see cref="Optim.GradScaler"/>. <c>Backward</c> runs with autocast off wherever it is called.
/// </summary>
/// <example><code>
/// using (Autocast.Enable(DType.BFloat16))
/// {
///     var logits = net.Call(x);                         // bfloat16 out of the last Dense
///     loss = Functional.CrossEntropy(logits, y);        // float32
/// }
/// loss.Backward();                                      // float32 gradients for the float32 parameters
/// </code></example>
/// <remarks>
/// How the 16-bit ops compute today: an op on 16-bit tensors widens them exactly to float32, computes and accumulates in
/// float32 and rounds its result once — the values PyTorch's CPU kernels give, but not yet their speed or memory: the
/// widened copies are extra passes, and what autograd saves is float32. Tensor-core kernels are the next step (issue 20).
/// </remarks>
public static class Autocast
{
    [ThreadStatic] private static DType? _dtype;
    [ThreadStatic] private static Scope? _current;

    /// <summary>The low dtype while a scope is active on this thread (Float16 or BFloat16), else null.</summary>
    public static DType? LowDType => _dtype;

    /// <summary>Whether a scope is active on this thread.</summary>
    public static bool IsEnabled => _dtype is not null;

    /// <summary>Starts a scope on this thread (nested scopes are allowed; disposing restores the previous setting; scopes are
    /// disposed innermost first, on the thread that started them).</summary>
    /// <param name="dtype">The low dtype: <see cref="DType.BFloat16"/> (PyTorch's CPU default, float32's range) or
    /// <see cref="DType.Float16"/> (use a <see cref="Optim.GradScaler"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">dtype is not Float16 or BFloat16.</exception>
    public static IDisposable Enable(DType dtype = DType.BFloat16)
    {
        if (dtype is not (DType.Float16 or DType.BFloat16))
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype,
                $"Autocast.Enable: the low dtype must be Float16 or BFloat16, got {dtype}.");
        return new Scope(dtype);
    }

    /// <summary>A scope with autocast off (PyTorch's <c>autocast(enabled=False)</c> inside an autocast region): ops run in
    /// their inputs' dtype.</summary>
    public static IDisposable Disable() => new Scope(null);

    private sealed class Scope : IDisposable
    {
        private readonly DType? _previous = _dtype;
        private readonly Scope? _parent = _current;
        private readonly int _thread = Environment.CurrentManagedThreadId;
        private bool _disposed;

        public Scope(DType? dtype) => (_dtype, _current) = (dtype, this);

        public void Dispose()
        {
            if (_disposed) return;
            if (Environment.CurrentManagedThreadId != _thread)
                throw new InvalidOperationException("Autocast: a scope must be disposed on the thread that started it (an await " +
                    "inside a 'using (Autocast.Enable(…))' block can resume on another thread; keep the scope synchronous).");
            if (!ReferenceEquals(_current, this))
                throw new InvalidOperationException("Autocast: scopes were disposed out of order; dispose the innermost first.");
            _disposed = true;
            (_dtype, _current) = (_previous, _parent);
        }
    }

    /// <summary>Whether x is a 16-bit float.</summary>
    internal static bool IsHalf(Tensor x) => x.DType is DType.Float16 or DType.BFloat16;

    /// <summary>An op on PyTorch's lower-precision list: float32 inputs rounded to the scope's low dtype (the casts are
    /// recorded); outside a scope, or for other dtypes, the tensor itself.</summary>
    internal static Tensor Lower(Tensor x) => _dtype is { } low && Cast(x.DType, low) ? x.To(low) : x;

    /// <summary>Whether a lower-list op casts an input of <paramref name="dtype"/> to <paramref name="low"/>: float32 and
    /// the other 16-bit type do (PyTorch casts every floating-point input), float64 and integers do not.</summary>
    private static bool Cast(DType dtype, DType low) => dtype != low && dtype is DType.Float32 or DType.Float16 or DType.BFloat16;

    /// <summary>The result dtype of an elementwise op on a and b: as <see cref="Promote(DType, DType)"/>, except that a 0-dim
    /// float operand does not widen a float tensor (PyTorch's rule: <c>h16 * torch.tensor(2.)</c> stays float16).</summary>
    internal static DType PromoteOperands(Tensor a, Tensor b) =>
        a.DType != b.DType && a.DType.IsFloat() && b.DType.IsFloat() && (a.Rank == 0) != (b.Rank == 0)
            ? (a.Rank == 0 ? b.DType : a.DType) : Promote(a.DType, b.DType);

    /// <summary>The dtype an op computes its result in (PyTorch's promotion): the common dtype of float inputs — float64 when
    /// either is float64, else float32 when they differ; a non-float operand's own dtype (the op's dtype check then names
    /// it).</summary>
    internal static DType Promote(DType a, DType b) =>
        a == b ? a : a.IsFloat() && b.IsFloat() ? (a == DType.Float64 || b == DType.Float64 ? DType.Float64 : DType.Float32)
            : a.IsFloat() ? b : a;

    /// <summary>Whether a and b are floats of different dtypes (an op then casts them to <see cref="PromoteOperands"/>).</summary>
    internal static bool Mixed(Tensor a, Tensor b) => a.DType != b.DType && a.DType.IsFloat() && b.DType.IsFloat();

    /// <summary>Runs <paramref name="op"/> on a and b cast to their common dtype (<see cref="PromoteOperands"/>; the casts
    /// are recorded, so each input's gradient comes back in its own dtype); the cast copies go back to the pool at once
    /// unless autograd holds them.</summary>
    internal static Tensor Promoted(Tensor a, Tensor b, Func<Tensor, Tensor, Tensor> op) =>
        TensorScope.Composite((a, b, dt: PromoteOperands(a, b), op),
            static s => s.op(s.a.DType == s.dt ? s.a : s.a.To(s.dt), s.b.DType == s.dt ? s.b : s.b.To(s.dt)));

    /// <summary>
    /// Runs a float32 op on inputs that may be 16-bit: they are widened exactly, <paramref name="op"/> computes in float32,
    /// and the result rounds once to <paramref name="result"/>. Intermediates go back to the pool at once unless autograd
    /// holds them (<see cref="TensorScope"/>'s composite rule).
    /// </summary>
    /// <remarks>The op runs with autocast off: its float32 inputs are final.</remarks>
    internal static Tensor InFloat32(Tensor x, DType result, Func<Tensor, Tensor> op) =>
        Off((x, result, op), static a => TensorScope.Composite(a, static a => Narrow(a.op(Wide(a.x)), a.result)));

    /// <inheritdoc cref="InFloat32(Tensor, DType, Func{Tensor, Tensor})"/>
    internal static Tensor InFloat32(Tensor a, Tensor b, DType result, Func<Tensor, Tensor, Tensor> op) =>
        Off((a, b, result, op), static s => TensorScope.Composite(s, static s => Narrow(s.op(Wide(s.a), Wide(s.b)), s.result)));

    /// <inheritdoc cref="InFloat32(Tensor, DType, Func{Tensor, Tensor})"/>
    internal static Tensor InFloat32(Tensor?[] inputs, DType result, Func<Tensor?[], Tensor> op) =>
        Off((inputs, result, op), static s => TensorScope.Composite(s,
            static s => Narrow(s.op(s.inputs.Select(t => t is null ? null : Wide(t)).ToArray()), s.result)));

    /// <summary>Whether any of the tensors is 16-bit.</summary>
    internal static bool AnyHalf(params Tensor?[] xs) => xs.Any(x => x is not null && IsHalf(x));

    /// <summary>Whether a scope is active and any of the tensors is float32 or the other 16-bit type (a lower-list op then
    /// rounds it first).</summary>
    internal static bool LowersAny(params Tensor?[] xs) => _dtype is { } low && xs.Any(x => x is not null && Cast(x.DType, low));

    /// <summary>
    /// An op on PyTorch's lower-precision list under a scope: its float32 inputs rounded to the low dtype, then
    /// <paramref name="op"/> (which widens them again and rounds its result once); the rounded copies go back to the pool
    /// at once unless autograd holds them.
    /// </summary>
    internal static Tensor Lowered(Tensor?[] inputs, Func<Tensor?[], Tensor> op) =>
        TensorScope.Composite((inputs, op), static s => s.op(s.inputs.Select(t => t is null ? null : Lower(t)).ToArray()));

    /// <summary>Runs <paramref name="body"/> with autocast off on this thread.</summary>
    internal static T Off<TState, T>(TState state, Func<TState, T> body)
    {
        var saved = _dtype;
        _dtype = null;
        try { return body(state); }
        finally { _dtype = saved; }
    }

    /// <summary>The dtype a float32-list op (softmax, losses, norms) returns for x: float32 inside a scope, x's own outside.</summary>
    internal static DType Float32ListResult(Tensor x) => IsEnabled ? DType.Float32 : x.DType;

    /// <summary>The dtype a two-input float32-list op (the losses) returns: float32 inside a scope, its inputs' promoted dtype
    /// outside.</summary>
    internal static DType Float32ListResult(Tensor a, Tensor b) => IsEnabled ? DType.Float32 : PromoteOperands(a, b);

    /// <summary>x widened to float32 if 16-bit (the cast is recorded), else x.</summary>
    internal static Tensor Wide(Tensor x) => IsHalf(x) ? x.To(DType.Float32) : x;

    private static Tensor Narrow(Tensor y, DType result) =>
        y.DType == result || result is not (DType.Float16 or DType.BFloat16) ? y : y.To(result);
}
