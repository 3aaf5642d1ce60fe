namespace DeepSharp;

public static partial class Functional
{
    /// <summary>
    /// Rows of <paramref name="weight"/> picked by <paramref name="indices"/> (PyTorch's <c>F.embedding</c>): indices
    /// int32/int64 of any shape [...], weight [num, dim] → [..., dim], in one launch. Backward adds the gradient's rows into
    /// the rows they were read from in one scatter-add launch (repeated indices add up); the row
    /// <paramref name="paddingIdx"/>, if given, gets no gradient.
    /// </summary>
    /// <param name="indices">Row numbers in [0, num).</param>
    /// <param name="weight">The table, [num, dim] float32.</param>
    /// <param name="paddingIdx">A row that receives no gradient (negative counts from the end), or null.</param>
    /// <exception cref="ArgumentNullException">indices or weight is null.</exception>
    /// <exception cref="ArgumentException">weight is not 2-D, or indices are not int32/int64.</exception>
    /// <exception cref="NotSupportedException">weight is not float32 or float64.</exception>
    /// <exception cref="DeviceMismatchException">indices and weight are on different devices.</exception>
    /// <exception cref="ArgumentOutOfRangeException">paddingIdx is outside [-num, num); or an index is outside [0, num) on
    /// the CPU (where the indices are read without a device round-trip), or outside [-num, num) on accelerators (found
    /// before anything is written; there an index in [-num, 0) counts from the end, as <see cref="Tensor.GatherRows"/>
    /// does, where PyTorch's CUDA kernel would stop with a device-side assert).</exception>
    /// <remarks>The indices are saved for backward: changing them in place before then makes Backward throw.</remarks>
    public static Tensor Embedding(Tensor indices, Tensor weight, int? paddingIdx = null)
    {
        const string op = nameof(Embedding);
        Check.NotNull(op, indices, nameof(indices)); Check.NotNull(op, weight, nameof(weight));
        if (Autocast.IsHalf(weight)) // a 16-bit table: rows picked from a float32 copy, the result (and gradient) 16-bit
            return Autocast.InFloat32(weight, weight.DType, w => Embedding(indices, w, paddingIdx));
        Check.Computes(op, weight, nameof(weight));
        if (weight.Rank != 2)
            throw new ArgumentException($"{op}: weight must be [num, dim], got {Layout.Format(weight.Layout.ShapeArray)}.", nameof(weight));
        if (indices.DType is not (DType.Int32 or DType.Int64))
            throw new ArgumentException($"{op}: indices must be int32 or int64, got {indices.DType.Name()}.", nameof(indices));
        Check.SameDevice(op, weight, nameof(weight), indices, nameof(indices));
        int num = weight.Layout.ShapeArray[0];
        int? pad = paddingIdx switch
        {
            null => null,
            int p when p >= -num && p < num => p < 0 ? p + num : p,
            int p => throw new ArgumentOutOfRangeException(nameof(paddingIdx), p,
                $"{op}: paddingIdx {p} is outside [{-num}, {num}) for a weight of {num} rows."),
        };
        if (indices.Device == Device.Cpu)
        {
            var values = indices.To(DType.Int64).ToArray<long>();
            int bad = Array.FindIndex(values, v => v < 0 || v >= num);
            if (bad >= 0)
                throw new ArgumentOutOfRangeException(nameof(indices), values[bad],
                    $"{op}: index {values[bad]} (element {bad}) is outside [0, {num}) for a weight of {num} rows.");
        }
        var idx = indices.Dense();
        Tensor y;
        using (Autograd.NoGrad()) y = weight.GatherRows(idx);
        return Autograd.Needed(weight) ? Autograd.Record(y, op, [weight], g => [Grads.Embedding(weight, idx, g, pad)], idx) : y;
    }
}
