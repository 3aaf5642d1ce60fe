using DeepSharp.Backends;

namespace DeepSharp;

/// <summary>
/// An n-dimensional array on a device: a flat block of elements (its storage) plus a <see cref="Layout"/> (shape, strides, offset).
/// Views (reshape, transpose, slice, expand) share storage; everything else returns a new tensor. Disposing a tensor
/// releases its reference to device memory at once; undisposed tensors are reclaimed by the GC.
/// </summary>
public sealed partial class Tensor : IDisposable, Optim.IParameter
{
    // A tensor is its own trainable value (optimizers take tensors and model parameters alike).
    bool Optim.IParameter.IsInitialized => true;
    Tensor Optim.IParameter.Data => this;
    string Optim.IParameter.Path => "";

    private Storage _storage;
    private bool _disposed;

    internal Tensor(Storage storage, Layout layout)
    {
        _storage = storage;
        Layout = layout;
        storage.AddRef();
        TensorScope.Register(this);
    }

    /// <summary>The storage whether or not this tensor was disposed (autograd compares it to spot new data).</summary>
    internal Storage RawStorage => _storage;

    /// <summary>The elements' storage (shared with views).</summary>
    internal Storage Storage => _disposed ? throw Disposed() : _storage;
    /// <summary>Shape, strides and offset into the tensor's storage (which views share).</summary>
    public Layout Layout { get; private set; }
    /// <summary>Dimension sizes, outermost first (a copy; the tensor is unaffected by changes).</summary>
    public int[] Shape => (int[])Layout.ShapeArray.Clone();
    /// <summary>Number of dimensions.</summary>
    public int Rank => Layout.Rank;
    /// <summary>Number of elements.</summary>
    public int Count => Layout.Count;
    /// <summary>Element type.</summary>
    public DType DType => _storage.DType;
    /// <summary>Where the elements live.</summary>
    public Device Device => _storage.Device;
    /// <summary>True when the elements are dense and row-major (views made by transpose or slicing usually are not).</summary>
    public bool IsContiguous => Layout.IsContiguous;

    /// <summary>Size of dimension <paramref name="axis"/> (negative counts from the end).</summary>
    /// <exception cref="ArgumentOutOfRangeException">axis is out of range (a 0-D tensor has no dims).</exception>
    public int Size(int axis) => Layout.ShapeArray[Layout.Dim(axis, Rank, nameof(Size))];

    /// <summary>Releases this tensor's hold on its storage; the memory returns to the device pool when no view uses it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _storage.Release();
    }

    private static ObjectDisposedException Disposed() =>
        new(nameof(Tensor), "This tensor was disposed; its memory may already hold another tensor's data.");

    internal IBackend Backend => Device.Backend;

    /// <summary>A new dense tensor whose storage is allocated but not initialized.</summary>
    internal static Tensor Allocate(int[] shape, DType dtype, Device device)
    {
        int n = Layout.Numel(shape);
        return new Tensor(device.Backend.Allocate(dtype, n), Layout.Contiguous(shape));
    }

    /// <summary>
    /// Makes this leaf hold <paramref name="source"/>'s elements (any device, any dtype: PyTorch's <c>t.data = source</c>),
    /// keeping the tensor object, so references to it (tied parameters, optimizers) see the change: how a model moves to a
    /// device, changes dtype or loads weights. A gradient follows to the new device and dtype (or is dropped when the shape
    /// changed).
    /// </summary>
    /// <exception cref="ArgumentNullException">source is null.</exception>
    /// <exception cref="InvalidOperationException">This tensor is not a leaf.</exception>
    public void SetData(Tensor source)
    {
        Check.NotNull(nameof(SetData), source, nameof(source));
        if (!IsLeaf)
            throw new InvalidOperationException($"SetData: only leaf tensors can take new data; this one was computed by {GradFn}.");
        TakeStorage(source);
        if (Grad is { } g && (g.Device != Device || g.DType != DType || !g.Layout.ShapeArray.SequenceEqual(Layout.ShapeArray)))
        {
            using var _ = TensorScope.Suspend();
            using var __ = Autograd.NoGrad();
            Grad = !g.Layout.ShapeArray.SequenceEqual(Layout.ShapeArray) ? null
                : g.DType == DType ? g.To(Device) : g.To(Device).To(DType);
        }
    }

    /// <summary>This tensor's storage and layout become source's (which keeps its own hold).</summary>
    private void TakeStorage(Tensor source)
    {
        var storage = source.Storage;
        storage.AddRef();
        var old = _storage;
        _storage = storage;
        Layout = source.Layout; // graphs that saved this tensor see another storage and layout, and refuse to use it
        if (!_disposed) old.Release();
    }

    /// <summary>Gives this tensor (one just made by an op, not yet shared) another layout over the same elements.</summary>
    internal void Relayout(Layout layout) => Layout = layout;

    /// <summary>A view of the same storage with another layout (not recorded by autograd).</summary>
    internal Tensor WithLayout(Layout layout) => new(Storage, layout);

    /// <summary>This tensor if dense (and <paramref name="copy"/> is false), else a dense copy; never recorded by autograd.</summary>
    internal Tensor Dense(bool copy = false) => !copy && IsContiguous ? this : CopyInto(Allocate(Shape, DType, Device));

    /// <summary>Releases what <see cref="Dense"/> returned for this tensor once a kernel has read it: a copy goes back to
    /// the pool at once (launches are ordered, so a later one cannot overwrite it early); this tensor itself is left alone.</summary>
    internal void ReleaseDense(Tensor dense)
    {
        if (!ReferenceEquals(dense, this)) dense.Dispose();
    }
}
