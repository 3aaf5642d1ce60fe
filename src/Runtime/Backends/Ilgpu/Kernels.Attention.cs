using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

// The attention softmax (AttentionArgs) both ways: one group per row of S keys, its threads striding over the row and
// combining through shared memory (GroupFold), as the softmax rows do. Each thread reads back only what it wrote.
internal static partial class Kernels
{
    /// <summary>y = softmax(scale·x + mask) per row (causal columns −inf); a fully masked row is zeros. Without an additive
    /// mask, <paramref name="mask"/> is any view (not read).</summary>
    public static void AttentionSoftmax(ArrayView<float> x, ArrayView<float> mask, ArrayView<float> y, AttentionArgs a)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceGroup); // static: see StaticTiles
        int row = Grid.IdxX, t = Group.IdxX, size = Group.DimX, src = a.Offset + row * a.S, dst = row * a.S;
        int visible = a.Visible(row), m0 = a.MaskRow(row);
        bool additive = (a.Masks & AttentionMasks.Additive) != 0;
        float m = float.NegativeInfinity;
        for (int j = t; j < a.S; j += size)
        {
            float v = float.NegativeInfinity;
            if (j < visible) v = x[src + j] * a.Scale + (additive ? mask[m0 + j * a.MaskColStride] : 0f);
            y[dst + j] = v;
            m = default(MaxOp).Combine(m, v);
        }
        m = GroupFold<MaxOp>(shared, m);
        float sum = 0f;
        if (SoftmaxMath.Finite(m))
            for (int j = t; j < a.S; j += size)
            {
                float e = MathF.Exp(y[dst + j] - m);
                y[dst + j] = e;
                sum += e;
            }
        sum = GroupFold<SumOp>(shared, sum);
        float scale = m == float.NegativeInfinity ? 0f : SoftmaxMath.Finite(m) ? 1f / sum : float.NaN;
        for (int j = t; j < a.S; j += size) y[dst + j] = m == float.NegativeInfinity ? 0f : y[dst + j] * scale;
    }

    /// <summary>dx = scale·y·(g − Σ g·y) per row.</summary>
    public static void AttentionSoftmaxBackward(ArrayView<float> y, ArrayView<float> g, ArrayView<float> dx, AttentionArgs a)
    {
        var shared = SharedMemory.Allocate<float>(MaxReduceGroup);
        int row = Grid.IdxX, t = Group.IdxX, size = Group.DimX, gs = a.Offset + row * a.S, at = row * a.S;
        float acc = 0f;
        for (int j = t; j < a.S; j += size) acc += g[gs + j] * y[at + j];
        float s = GroupFold<SumOp>(shared, acc);
        for (int j = t; j < a.S; j += size) dx[at + j] = a.Scale * (y[at + j] * (g[gs + j] - s));
    }
}
