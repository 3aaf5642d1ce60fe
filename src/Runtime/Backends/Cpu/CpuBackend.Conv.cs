using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepSharp.Backends.Cpu;

// The convolution on the CPU, image by image: each image's windows are unfolded into a buffer that stays in the cache and
// multiplied at once, forward and backward, instead of unfolding the whole batch into memory first (the columns of LeNet's
// first layer are 20 MB for a batch of 256; see benchmarks/NOTES.md).
internal sealed partial class CpuBackend
{
    /// <summary>Images per partial sum of the weight's gradient: the chunks, and so the order of the additions, depend only
    /// on the batch size (not on the thread count), so a step gives the same bits on any number of cores.</summary>
    private const int ConvChunks = 16;

    /// <summary>y [N, O, OH·OW] (dense from 0) = w [O, C·kk] (dense from 0) · the windows of image n of x (from a.Offset),
    /// plus bias[o] (dense from 0) when given.</summary>
    public unsafe void ConvForward(Storage x, Storage w, Storage? bias, Storage y, WindowArgs a, int o)
    {
        var xs = E(x); var ws = E(w); var ys = E(y);
        var bs = bias is null ? default : E(bias);
        int k = a.C * a.KK, l = a.OH * a.OW;
        CpuParallel.For(a.N, o * k * l, (lo, hi) =>
        {
            float[] cols = ArrayPool<float>.Shared.Rent(k * l);
            try
            {
                fixed (float* wp = ws, yp = ys, bp = bs, cp = cols)
                    for (int n = lo; n < hi; n++)
                    {
                        float* b = Unfold1(xs, cols, a, n, cp);
                        var g = new GemmArgs
                        {
                            Batch = 1, M = o, N = l, K = k, RowA = k, ColA = 1, RowB = l, ColB = 1, Bias = BiasMode.PerRow,
                        };
                        float* c = yp + (long)n * o * l;
                        Product(g, new Operands((nint)wp, (nint)b, (nint)c), split: false);
                        if (bias is not null) AddBias(g, bp, c);
                    }
            }
            finally { ArrayPool<float>.Shared.Return(cols); }
        });
    }

    /// <summary>
    /// The gradients of <see cref="ConvForward"/> for the output gradient g [N, O, OH·OW] (dense from 0): dx [N, C, H, W]
    /// (the transposed product folded back onto each image), dw [O, C·kk] = Σₙ gₙ · colsₙᵀ and db [O] = Σ of g over images and
    /// pixels; each is computed only when its storage is given. Partial sums per chunk of images are added in chunk order.
    /// </summary>
    public unsafe void ConvBackward(Storage x, Storage w, Storage g, Storage? dx, Storage? dw, Storage? db, WindowArgs a, int o)
    {
        var xs = E(x); var ws = E(w); var gs = E(g);
        var dxs = dx is null ? default : E(dx);
        int k = a.C * a.KK, l = a.OH * a.OW, chunks = Math.Min(a.N, ConvChunks);
        bool wantW = dw is not null, wantB = db is not null, wantX = dx is not null;
        // Partial sums from the shared pools (cleared), not new arrays: a training step would leave them to the GC.
        var dwParts = wantW ? ArrayPool<float>.Shared.Rent(chunks * o * k) : null;
        var dbParts = wantB ? ArrayPool<double>.Shared.Rent(chunks * o) : null;
        dwParts?.AsSpan(0, chunks * o * k).Clear();
        dbParts?.AsSpan(0, chunks * o).Clear();
        CpuParallel.Run(chunks, chunk =>
        {
            int lo = (int)((long)a.N * chunk / chunks), hi = (int)((long)a.N * (chunk + 1) / chunks);
            var pool = ArrayPool<float>.Shared;
            float[] cols = pool.Rent(k * l), tmp = pool.Rent(Math.Max(o * k, 1));
            try
            {
                fixed (float* wp = ws, gp = gs, cp = cols, tp = tmp, dwp = dwParts)
                    for (int n = lo; n < hi; n++)
                    {
                        float* gn = gp + (long)n * o * l;
                        if (wantW)
                        {
                            // dw += gₙ [O, L] · colsₙᵀ [L, K]: colsₙ read through transposed strides.
                            float* b = Unfold1(xs, cols, a, n, cp);
                            var gw = new GemmArgs { Batch = 1, M = o, N = k, K = l, RowA = l, ColA = 1, RowB = 1, ColB = l };
                            Product(gw, new Operands((nint)gn, (nint)b, (nint)tp), split: false);
                            AddInto(dwp + (long)chunk * o * k, tp, o * k);
                        }
                        if (wantB)
                            for (int r = 0; r < o; r++) dbParts![chunk * o + r] += Sum(gn + (long)r * l, l);
                        if (wantX)
                        {
                            // dcolsₙ [K, L] = wᵀ [K, O] · gₙ [O, L], folded onto image n (written whole: Fold clears it first).
                            var gx = new GemmArgs { Batch = 1, M = k, N = l, K = o, RowA = 1, ColA = k, RowB = l, ColB = 1 };
                            Product(gx, new Operands((nint)wp, (nint)gn, (nint)cp), split: false);
                            var image = new HostElements<float>(dxs.Array, dxs.Start + n * a.C * a.H * a.W);
                            var one = a with { N = 1, Offset = 0, Columns = ColumnLayout.PerImage };
                            FoldRows(new HostElements<float>(cols, 0), image, one, 0, a.C);
                        }
                    }
            }
            finally
            {
                pool.Return(cols);
                pool.Return(tmp);
            }
        });
        if (wantW)
        {
            var d = E(dw!).AsSpan(0, o * k);
            dwParts.AsSpan(0, o * k).CopyTo(d);
            for (int c = 1; c < chunks; c++)
                fixed (float* dp = d, sp = &dwParts![c * o * k]) AddInto(dp, sp, o * k);
        }
        if (wantB)
        {
            var d = E(db!).AsSpan(0, o);
            for (int r = 0; r < o; r++)
            {
                double s = 0;
                for (int c = 0; c < chunks; c++) s += dbParts![c * o + r];
                d[r] = (float)s;
            }
        }
        if (dwParts is not null) ArrayPool<float>.Shared.Return(dwParts);
        if (dbParts is not null) ArrayPool<double>.Shared.Return(dbParts);
    }

    /// <summary>Unfolds image <paramref name="n"/> of x into <paramref name="cols"/> ([C·kk, OH·OW]) and returns its pinned
    /// address <paramref name="pinned"/>.</summary>
    private static unsafe float* Unfold1(HostElements<float> xs, float[] cols, WindowArgs a, int n, float* pinned)
    {
        UnfoldRows(xs, new HostElements<float>(cols, 0),
            a with { N = 1, Offset = a.Offset + n * a.C * a.H * a.W, Columns = ColumnLayout.PerImage }, 0, a.C);
        return pinned;
    }

    /// <summary>Σ p[0..n) in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe double Sum(float* p, int n)
    {
        var acc = Vector128<float>.Zero;
        int j = 0;
        double s = 0;
        for (; j <= n - 4; j += 4) acc += Vector128.Load(p + j);
        for (int i = 0; i < 4; i++) s += acc[i];
        for (; j < n; j++) s += p[j];
        return s;
    }
}
