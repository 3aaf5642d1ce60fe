using DeepSharp.Backends;

namespace DeepSharp;

// Tensors and host memory: spans in and out, for readers and writers of file formats and for interop. The element type T
// is always the tensor's own (float for Float32, double, int, long); nothing converts on the way.
public sealed partial class Tensor
{
    /// <summary>
    /// A new dense tensor of <paramref name="shape"/> whose elements are not initialized (<c>torch.empty</c>): fill it before
    /// reading it, on the CPU without a copy through <see cref="AsSpan{T}"/>, on any device with
    /// <see cref="CopyFrom{T}(ReadOnlySpan{T})"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">shape is null.</exception>
    /// <exception cref="ArgumentException">A dimension is negative or the shape has too many elements.</exception>
    /// <exception cref="ArgumentOutOfRangeException">dtype is not a <see cref="DType"/>.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the tensor.</exception>
    public static Tensor Empty(int[] shape, DType dtype = DType.Float32, Device? device = null)
    {
        const string op = nameof(Empty);
        Layout.Numel(Check.NotNull(op, shape, nameof(shape)), op, nameof(shape));
        return Allocate(shape, Check.Defined(op, dtype), Dev(device));
    }

    /// <summary>
    /// A tensor holding a copy of <paramref name="data"/>, shaped <paramref name="shape"/> (1-D when omitted): one copy
    /// straight into the device's memory, from any host memory (an array, a pooled buffer, a memory-mapped file).
    /// </summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the data length, or a dim is negative.</exception>
    /// <exception cref="NotSupportedException">T is not float, double, int or long.</exception>
    /// <exception cref="DeviceOutOfMemoryException">The device cannot hold the tensor.</exception>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, int[]? shape = null, Device? device = null) where T : unmanaged =>
        FromHost(nameof(FromSpan), data, shape, device, "the span");

    /// <summary>
    /// This CPU tensor's elements, row-major, as a span over its own memory: no copy (PyTorch's <c>tensor.numpy()</c>).
    /// Writes through the span change the tensor and every view of its storage. Taking the span counts as an in-place write:
    /// a recorded graph that saved this tensor refuses to backward afterwards, and a tensor that requires grad gives one
    /// only inside <see cref="Autograd.NoGrad"/>. The span is valid while the tensor is alive: after Dispose its memory may
    /// hold another tensor's elements. For a copy, from any device and any layout, use <see cref="CopyTo{T}"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">T is not the tensor's element type; the tensor is not on <c>cpu</c> or is
    /// a strided view (not dense); or it requires grad while autograd records.</exception>
    /// <exception cref="NotSupportedException">T is not float, double, int or long.</exception>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        const string op = nameof(AsSpan);
        CheckElementType<T>(op);
        if (Device.Kind != DeviceKind.Cpu)
            throw new InvalidOperationException($"{op}: the tensor is on {Device}, whose memory the host cannot address. Copy it " +
                "out with CopyTo(span), or move it with .To(Device.Cpu) first.");
        if (!IsContiguous && Count > 0) // an empty tensor's strides say nothing
            throw new InvalidOperationException($"{op}: the tensor is a strided view ({Layout}); a span needs dense elements. Call " +
                "Contiguous() first, or copy it out with CopyTo(span).");
        CheckInPlace(op, null);
        var span = ((CpuStorage)Storage).Span<T>().Slice(Layout.Offset, Count);
        _storage.Bump();
        return span;
    }

    /// <summary>
    /// Copies the elements, row-major, into the first <see cref="Count"/> elements of <paramref name="destination"/>: from any
    /// device (one device-to-host copy) and any layout (a strided view is made dense on its device first).
    /// </summary>
    /// <exception cref="InvalidOperationException">T is not the tensor's element type.</exception>
    /// <exception cref="NotSupportedException">T is not float, double, int or long.</exception>
    /// <exception cref="ArgumentException">destination holds fewer than <see cref="Count"/> elements.</exception>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        const string op = nameof(CopyTo);
        CheckElementType<T>(op);
        if (destination.Length < Count)
            throw new ArgumentException($"{op}: the destination holds {destination.Length} elements but the tensor of shape " +
                $"{Layout.Format(Layout.ShapeArray)} has {Count}.", nameof(destination));
        var dense = IsContiguous && Layout.Offset == 0 ? this : Dense(copy: true);
        dense.Backend.Download(dense.Storage, destination[..Count]);
        if (!ReferenceEquals(dense, this)) dense.Dispose();
    }

    /// <summary>
    /// Copies <paramref name="source"/> (row-major) into this tensor, in place: on any device (one host-to-device copy) and
    /// through views (<c>w.Slice(0, 0, 2).CopyFrom(span)</c> writes into w), under the rules of <see cref="CopyFrom(Tensor)"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">T is not the tensor's element type; the tensor requires grad while
    /// autograd records, or is a broadcast view.</exception>
    /// <exception cref="NotSupportedException">T is not float, double, int or long.</exception>
    /// <exception cref="ArgumentException">source's length differs from <see cref="Count"/>.</exception>
    /// <exception cref="ObjectDisposedException">The tensor was disposed.</exception>
    public Tensor CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        const string op = nameof(CopyFrom);
        CheckElementType<T>(op);
        CheckInPlace(op, null);
        if (source.Length != Count)
            throw new ArgumentException($"{op}: the source holds {source.Length} elements but the tensor of shape " +
                $"{Layout.Format(Layout.ShapeArray)} has {Count}.", nameof(source));
        if (IsContiguous && Layout.Offset == 0) Backend.Upload(source, Storage);
        else
        {
            using var staged = Allocate(Shape, DType, Device); // dense, then one strided copy into the view
            staged.Backend.Upload(source, staged.Storage);
            staged.CopyInto(this);
        }
        _storage.Bump();
        return this;
    }

    /// <summary>Throws unless T stores this tensor's dtype.</summary>
    private void CheckElementType<T>(string op) where T : unmanaged
    {
        if (DTypes.Of<T>() != DType)
            throw new InvalidOperationException($"{op}<{typeof(T).Name}>: the tensor's dtype is {DType.Name()}, whose elements are " +
                $"{ClrName(DType)}; call .To(DType.{DTypes.Of<T>()}) first or use {op}<{ClrName(DType)}>.");
    }
}
