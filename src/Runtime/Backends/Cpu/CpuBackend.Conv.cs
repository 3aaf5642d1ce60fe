using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DeepSharp.Backends.Cpu;

// The convolution on the CPU, a few images at a time: their windows are unfolded into one buffer that stays in the cache
// ([C·kk, m·OH·OW], the images side by side) and multiplied at once, forward and backward, instead of unfolding the whole
// batch into memory first (the columns of LeNet's first layer are 20 MB for a batch of 256) or multiplying image by image
// (a 10×10 output is too narrow a product to run the packed GEMM well; see benchmarks/NOTES.md).
internal sealed partial class CpuBackend
{
    /// <summary>Images per partial sum of the weight's gradient: the chunks, and so the order of the additions, depend only
    /// on the batch size (not on the thread count), so a step gives the same bits on any number of cores.</summary>
    private const int ConvChunks = 16;

    /// <summary>Images are grouped into one product until it is this many columns wide (a 10×10 output alone is too narrow
    /// a product to run the packed GEMM well; a 32×32 one gains nothing from company and pays for the extra copies)...</summary>
    private const int ConvProductColumns = 512;

    /// <summary>...and while their columns stay within this many floats (in the cache).</summary>
    private const int ConvColumnsBudget = 1 << 16;

    /// <summary>Images per product for columns of k × l per image (at least 1, at most <paramref name="n"/>).</summary>
    private static int ImagesPerProduct(int k, int l, int n) =>
        Math.Clamp(Math.Min((ConvProductColumns + l - 1) / Math.Max(l, 1), ConvColumnsBudget / Math.Max(k * l, 1)), 1, Math.Max(n, 1));

    /// <summary>y [N, O, OH·OW] (dense from 0) = w [O, C·kk] (dense from 0) · the windows of each image of x (from a.Offset),
    /// plus bias[o] (dense from 0) when given.</summary>
    public unsafe void ConvForward(Storage x, Storage w, Storage? bias, Storage y, WindowArgs a, int o)
    {
        var xs = E(x); var ws = E(w); var ys = E(y);
        var bs = bias is null ? default : E(bias);
        if (WinogradSuits(a, o))
        {
            WinogradForward(xs, ws, bs, bias is not null, ys, a, o);
            return;
        }
        if (DirectConvSuits(a))
        {
            DirectConvForward(xs, ws, bs, bias is not null, ys, a, o);
            return;
        }
        int k = a.C * a.KK, l = a.OH * a.OW, nb = ImagesPerProduct(k, l, a.N), groups = (a.N + nb - 1) / nb;
        // Groups of images start at multiples of nb whatever the thread count: each output's sum is formed the same way.
        CpuParallel.For(groups, (int)Math.Min(int.MaxValue, (long)o * k * l * nb), (lo, hi) =>
        {
            var pool = ArrayPool<float>.Shared;
            float[] cols = pool.Rent(k * l * nb), prod = pool.Rent(o * l * nb);
            try
            {
                fixed (float* wp = ws, yp = ys, bp = bs, cp = cols, pp = prod)
                    for (int s = lo; s < hi; s++)
                    {
                        int n0 = s * nb, m = Math.Min(nb, a.N - n0);
                        UnfoldImages(xs, cols, a, n0, m);
                        var g = new GemmArgs { Batch = 1, M = o, N = m * l, K = k, RowA = k, ColA = 1, RowB = m * l, ColB = 1 };
                        // One image: straight into y; several: [O, m·L] then each image's rows to its place.
                        float* c = m == 1 ? yp + (long)n0 * o * l : pp;
                        Product(g, new Operands((nint)wp, (nint)cp, (nint)c), split: false);
                        for (int i = 0; i < m; i++)
                            for (int r = 0; r < o; r++)
                            {
                                float* dst = yp + ((long)(n0 + i) * o + r) * l;
                                if (m > 1) Buffer.MemoryCopy(pp + ((long)r * m + i) * l, dst, 4L * l, 4L * l);
                                if (bias is not null) AddScalar(dst, bp[r], l);
                            }
                    }
            }
            finally
            {
                pool.Return(cols);
                pool.Return(prod);
            }
        });
    }

    /// <summary>
    /// The gradients of <see cref="ConvForward"/> for the output gradient g [N, O, OH·OW] (dense from 0): dx [N, C, H, W]
    /// (the transposed product folded back onto each image), dw [O, C·kk] = Σ gₙ · colsₙᵀ and db [O] = Σ of g over images and
    /// pixels; each is computed only when its storage is given. Partial sums per chunk of images are added in chunk order.
    /// </summary>
    public unsafe void ConvBackward(Storage x, Storage w, Storage g, Storage? dx, Storage? dw, Storage? db, WindowArgs a, int o)
    {
        var xs = E(x); var ws = E(w); var gs = E(g);
        var dxs = dx is null ? default : E(dx);
        if (WinogradSuits(a, o))
        {
            WinogradBackward(xs, ws, gs, dx is null ? null : dxs, dw is null ? null : E(dw), db is null ? null : E(db), a, o);
            return;
        }
        if (DirectConvSuits(a) && (dw is not null || db is not null))
        {
            DirectConvWeightGrad(xs, gs, dw is null ? null : E(dw), db is null ? null : E(db), a, o);
            if (dx is null) return;
            (dw, db) = (null, null); // the input's gradient below, by the columns
        }
        int k = a.C * a.KK, l = a.OH * a.OW, chunks = Math.Min(a.N, ConvChunks), nb = ImagesPerProduct(k, l, a.N);
        bool wantW = dw is not null, wantB = db is not null, wantX = dx is not null;
        if (chunks == 0) // an empty batch: no terms (and no input gradient to write)
        {
            if (wantW) E(dw!).AsSpan(0, o * k).Clear();
            if (wantB) E(db!).AsSpan(0, o).Clear();
            return;
        }
        // Partial sums from the shared pools (cleared), not new arrays: a training step would leave them to the GC.
        var dwParts = wantW ? ArrayPool<float>.Shared.Rent(chunks * o * k) : null;
        var dbParts = wantB ? ArrayPool<double>.Shared.Rent(chunks * o) : null;
        dwParts?.AsSpan(0, chunks * o * k).Clear();
        dbParts?.AsSpan(0, chunks * o).Clear();
        CpuParallel.Run(chunks, chunk =>
        {
            int lo = (int)((long)a.N * chunk / chunks), hi = (int)((long)a.N * (chunk + 1) / chunks);
            var pool = ArrayPool<float>.Shared;
            float[] cols = pool.Rent(k * l * nb), gsub = pool.Rent(o * l * nb), tmp = pool.Rent(Math.Max(o * k, 1));
            try
            {
                fixed (float* wp = ws, gp = gs, cp = cols, sp = gsub, tp = tmp, dwp = dwParts)
                    for (int n0 = lo; n0 < hi; n0 += nb)
                    {
                        int m = Math.Min(nb, hi - n0), ml = m * l;
                        // This group's output gradient as one matrix [O, m·L] (image n's rows are already one when m = 1).
                        float* gm = gp + (long)n0 * o * l;
                        if (m > 1)
                        {
                            for (int i = 0; i < m; i++)
                                for (int r = 0; r < o; r++)
                                    Buffer.MemoryCopy(gm + ((long)i * o + r) * l, sp + ((long)r * m + i) * l, 4L * l, 4L * l);
                            gm = sp;
                        }
                        if (wantB)
                            for (int i = 0; i < m; i++)
                                for (int r = 0; r < o; r++) dbParts![chunk * o + r] += Sum(gp + ((long)(n0 + i) * o + r) * l, l);
                        if (wantW)
                        {
                            // dw += g [O, m·L] · colsᵀ [m·L, K]: the columns read through transposed strides.
                            UnfoldImages(xs, cols, a, n0, m);
                            var gw = new GemmArgs { Batch = 1, M = o, N = k, K = ml, RowA = ml, ColA = 1, RowB = 1, ColB = ml };
                            Product(gw, new Operands((nint)gm, (nint)cp, (nint)tp), split: false);
                            AddInto(dwp + (long)chunk * o * k, tp, o * k);
                        }
                        if (wantX)
                        {
                            // dcols [K, m·L] = wᵀ [K, O] · g [O, m·L], folded onto the images (written whole: Fold clears them).
                            var gx = new GemmArgs { Batch = 1, M = k, N = ml, K = o, RowA = 1, ColA = k, RowB = ml, ColB = 1 };
                            Product(gx, new Operands((nint)wp, (nint)gm, (nint)cp), split: false);
                            var images = new HostElements<float>(dxs.Array, dxs.Start + n0 * a.C * a.H * a.W);
                            var sub = a with { N = m, Offset = 0, Columns = ColumnLayout.BatchInner };
                            FoldRows(new HostElements<float>(cols, 0), images, sub, 0, m * a.C);
                        }
                    }
            }
            finally
            {
                pool.Return(cols);
                pool.Return(gsub);
                pool.Return(tmp);
            }
        });
        if (wantW)
        {
            var d = E(dw!).AsSpan(0, o * k);
            dwParts.AsSpan(0, o * k).CopyTo(d);
            for (int c = 1; c < chunks; c++)
                fixed (float* dp = d, sp = dwParts) AddInto(dp, sp + (long)c * o * k, o * k); // empty when O or C is 0
        }
        if (wantB)
        {
            SumBiasParts(dbParts!, chunks, E(db!).AsSpan(0, o));
        }
        if (dwParts is not null) ArrayPool<float>.Shared.Return(dwParts);
        if (dbParts is not null) ArrayPool<double>.Shared.Return(dbParts);
    }

    /// <summary>Unfolds images [n0, n0 + m) of x into <paramref name="cols"/> as one matrix [C·kk, m·OH·OW].</summary>
    private static void UnfoldImages(HostElements<float> xs, float[] cols, WindowArgs a, int n0, int m) =>
        UnfoldRows(xs, new HostElements<float>(cols, 0),
            a with { N = m, Offset = a.Offset + n0 * a.C * a.H * a.W, Columns = ColumnLayout.BatchInner }, 0, m * a.C);

    /// <summary>p[0..n) += v.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AddScalar(float* p, float v, int n)
    {
        int j = 0;
        if (Wide)
            for (var vv = Vector256.Create(v); j <= n - 8; j += 8) Vector256.Store(Vector256.Load(p + j) + vv, p + j);
        for (var vh = Vector128.Create(v); j <= n - 4; j += 4) Vector128.Store(Vector128.Load(p + j) + vh, p + j);
        for (; j < n; j++) p[j] += v;
    }

    /// <summary>db[r] = Σ over the chunks, in chunk order, of parts[chunk · O + r] (O = db's length): the bias gradient's
    /// per-chunk sums of the CPU convolutions, added the same way whatever the thread count.</summary>
    private static void SumBiasParts(double[] parts, int chunks, Span<float> db)
    {
        for (int r = 0; r < db.Length; r++)
        {
            double s = 0;
            for (int c = 0; c < chunks; c++) s += parts[c * db.Length + r];
            db[r] = (float)s;
        }
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
