using System.Buffers;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace DeepSharp.Data;

public sealed partial class DataLoader
{
    /// <summary>One epoch: the worker (a task writing host batches into a bounded channel) and the consumer's side.</summary>
    private sealed class Enumerator : IEnumerator<Batch>
    {
        private readonly DataLoader _loader;
        private readonly int _epoch, _batches;
        private readonly int[] _order;
        private readonly CancellationToken _token;
        private readonly CancellationTokenSource? _stop;
        private readonly Channel<HostBatch>? _channel;
        private readonly Task? _worker;
        private Exception? _failure;
        private Batch? _current;
        private int _next;
        private bool _done, _disposed;

        public Enumerator(DataLoader loader, int epoch, CancellationToken token)
        {
            (_loader, _epoch, _token) = (loader, epoch, token);
            _order = loader.Order(epoch);
            _batches = loader.Count;
            if (loader.Prefetch == 0) return;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(token);
            _channel = Channel.CreateBounded<HostBatch>(new BoundedChannelOptions(loader.Prefetch)
            {
                SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
            });
            _worker = Task.Run(() => Produce(_stop.Token));
        }

        public Batch Current => _current ?? throw new InvalidOperationException(
            "DataLoader: Current is read before MoveNext returned true, or after the end.");

        object System.Collections.IEnumerator.Current => Current;

        private async Task Produce(CancellationToken stop)
        {
            var writer = _channel!.Writer;
            try
            {
                for (int b = 0; b < _batches; b++)
                {
                    stop.ThrowIfCancellationRequested();
                    var batch = Build(b, stop);
                    try { await writer.WriteAsync(batch, stop).ConfigureAwait(false); }
                    catch { batch.Return(); throw; }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { } // the consumer stopped
            catch (Exception e) { _failure = e; } // handed to the consumer when it reaches this batch
            finally { writer.TryComplete(); }
        }

        /// <summary>Gathers batch <paramref name="b"/>'s samples (transformed) into host buffers, checking
        /// <paramref name="stop"/> before each sample.</summary>
        private HostBatch Build(int b, CancellationToken stop)
        {
            var source = _loader._source;
            var transform = _loader.Transform;
            int start = b * _loader.BatchSize, n = Math.Min(_loader.BatchSize, _order.Length - start);
            int inBytes = checked(Shapes.Numel(_loader._inShape, "shape") * source.FeatureDType.SizeOf());
            int outBytes = checked(Shapes.Numel(_loader._outShape, "shape") * source.FeatureDType.SizeOf());
            int labelBytes = checked(Shapes.Numel(source.LabelShape, "shape") * source.LabelDType.SizeOf());
            var batch = new HostBatch(n, checked(n * outBytes), checked(n * labelBytes));
            byte[]? raw = transform is null ? null : ArrayPool<byte>.Shared.Rent(inBytes);
            int index = -1;
            try
            {
                for (int i = 0; i < n; i++)
                {
                    stop.ThrowIfCancellationRequested(); // between samples: a slow data set stops within one sample
                    index = _order[start + i];
                    var features = batch.Features.AsSpan(i * outBytes, outBytes);
                    var label = batch.Labels.AsSpan(i * labelBytes, labelBytes);
                    if (transform is null) { source.Read(index, features, label); continue; }
                    source.Read(index, raw.AsSpan(0, inBytes), label);
                    var random = TransformRandom.For(_loader.Seed, _epoch, index);
                    transform.Apply(MemoryMarshal.Cast<byte, float>(raw.AsSpan(0, inBytes)), (int[])_loader._inShape.Clone(),
                        MemoryMarshal.Cast<byte, float>(features), ref random);
                }
                return batch;
            }
            catch (Exception e)
            {
                batch.Return();
                if (e is OperationCanceledException) throw;
                throw new InvalidOperationException($"DataLoader: preparing batch {b} of epoch {_epoch} failed at sample {index}: " +
                    $"{e.GetType().Name}: {e.Message}", e);
            }
            finally
            {
                if (raw is not null) ArrayPool<byte>.Shared.Return(raw);
            }
        }

        public bool MoveNext()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _current = null;
            if (_done) return false;
            _token.ThrowIfCancellationRequested();
            HostBatch? host;
            if (_channel is null)
            {
                if (_next >= _batches) { _done = true; return false; }
                try { host = Build(_next++, _token); }
                catch { _done = true; throw; }
            }
            else
            {
                var reader = _channel.Reader;
                while (!reader.TryRead(out host))
                {
                    // Blocks this thread until the worker has the batch (or stops); the user's token interrupts the wait.
                    if (!reader.WaitToReadAsync(_token).AsTask().GetAwaiter().GetResult())
                    {
                        _done = true;
                        _worker!.Wait(CancellationToken.None); // Produce catches everything: this only orders the reads below
                        if (_failure is { } f) throw f;
                        return false;
                    }
                }
            }
            _current = Upload(host);
            return true;
        }

        /// <summary>The batch's tensors on the loader's device (one copy each); the host buffers go back to the pool.</summary>
        private Batch Upload(HostBatch host)
        {
            var source = _loader._source;
            Tensor? x = null;
            try
            {
                x = Tensor(host.Features, source.FeatureDType, Shapes.Prepend(host.Count, _loader._outShape));
                var y = Tensor(host.Labels, source.LabelDType, Shapes.Prepend(host.Count, source.LabelShape));
                return new Batch(x, y);
            }
            catch
            {
                x?.Dispose();
                throw;
            }
            finally { host.Return(); }
        }

        private DeepSharp.Tensor Tensor(byte[] bytes, DType dtype, int[] shape)
        {
            int size = Shapes.Numel(shape, nameof(shape)) * dtype.SizeOf();
            var span = bytes.AsSpan(0, size);
            var device = _loader.Device;
            return dtype switch
            {
                DType.Float32 => DeepSharp.Tensor.FromSpan<float>(MemoryMarshal.Cast<byte, float>(span), shape, device),
                DType.Float64 => DeepSharp.Tensor.FromSpan<double>(MemoryMarshal.Cast<byte, double>(span), shape, device),
                DType.Int32 => DeepSharp.Tensor.FromSpan<int>(MemoryMarshal.Cast<byte, int>(span), shape, device),
                DType.Int64 => DeepSharp.Tensor.FromSpan<long>(MemoryMarshal.Cast<byte, long>(span), shape, device),
                DType.Float16 => DeepSharp.Tensor.FromSpan<Half>(MemoryMarshal.Cast<byte, Half>(span), shape, device),
                _ => DeepSharp.Tensor.FromSpan<BFloat16>(MemoryMarshal.Cast<byte, BFloat16>(span), shape, device),
            };
        }

        public void Reset() => throw new NotSupportedException("DataLoader: enumerate the loader again for the next epoch.");

        /// <summary>Stops the worker, waits for it, and returns the buffers of batches prepared but not taken.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _current = null;
            if (_channel is null) return;
            _stop!.Cancel();
            _worker!.Wait(CancellationToken.None);
            while (_channel.Reader.TryRead(out var left)) left.Return();
            _stop.Dispose();
        }
    }

    /// <summary>A batch on the host: features and labels packed row-major in pooled byte buffers.</summary>
    private sealed class HostBatch(int count, int featureBytes, int labelBytes)
    {
        public int Count { get; } = count;
        public byte[] Features { get; private set; } = ArrayPool<byte>.Shared.Rent(featureBytes);
        public byte[] Labels { get; private set; } = ArrayPool<byte>.Shared.Rent(labelBytes);

        /// <summary>Returns both buffers to the pool (once).</summary>
        public void Return()
        {
            if (Features.Length > 0) ArrayPool<byte>.Shared.Return(Features);
            if (Labels.Length > 0) ArrayPool<byte>.Shared.Return(Labels);
            Features = Labels = [];
        }
    }
}
