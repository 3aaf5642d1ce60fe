namespace DeepSharp.Optim;

/// <summary>One parameter's optimizer state: its step count, up to three tensors of its shape, and a 16-bit parameter's float32
/// master weights.</summary>
internal sealed class ParamState : IDisposable
{
    /// <summary>Steps this parameter has taken (Adam's bias correction and Adagrad's decay count its own).</summary>
    public int Step;
    /// <summary>The state tensors (null until the rule needs one).</summary>
    public readonly Tensor?[] Slots = new Tensor?[3];
    /// <summary>A 16-bit parameter's float32 master weights (null for other parameters).</summary>
    public Tensor? Master;

    /// <summary>Moves the state to <paramref name="device"/> and converts it to <paramref name="dtype"/>, keeping the tensor
    /// objects.</summary>
    public void Follow(Device device, DType dtype)
    {
        for (int k = 0; k <= Slots.Length; k++) // the slots, then the master weights, which stay float32
        {
            var t = k < Slots.Length ? Slots[k] : Master;
            if (t is null) continue;
            if (k == Slots.Length) dtype = DType.Float32;
            using var _ = TensorScope.Suspend();
            if (t.DType != dtype)
                using (var converted = t.To(dtype)) t.SetData(converted);
            if (t.Device == device) continue;
            using var moved = t.To(device); // released here: t keeps the only hold on its new memory
            t.SetData(moved);
        }
    }

    /// <summary>Frees the state tensors.</summary>
    public void Dispose()
    {
        for (int k = 0; k < Slots.Length; k++) { Slots[k]?.Dispose(); Slots[k] = null; }
        Master?.Dispose();
        Master = null;
    }
}
