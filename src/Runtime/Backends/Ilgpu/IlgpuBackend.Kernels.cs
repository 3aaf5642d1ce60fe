using System.Numerics;
using DeepSharp.Ops;
using ILGPU;
using ILGPU.Runtime;

namespace DeepSharp.Backends.Ilgpu;

/// <summary>
/// The backend's compiled kernels, one accessor per kernel: each compiles its kernel on first use (once per process and
/// accelerator, even when a launch and the background warm-up ask at the same time) and returns the launcher. Launch
/// sites and <see cref="WarmUp"/> go through the same accessors (the row, optimizer and tensor-core kernels' accessors sit
/// beside their launches).
/// </summary>
internal sealed partial class IlgpuBackend
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, Type, Type?), Lazy<Delegate>> _kernels = new();
    private long _compileTicks;

    /// <summary>The kernel for (name, t1, t2). Loaders are static lambdas (no allocation per launch); after the first call
    /// this is one dictionary lookup.</summary>
    private TDelegate Compiled<TDelegate>(string name, Type t1, Type? t2, Func<IlgpuBackend, TDelegate> load) where TDelegate : Delegate =>
        _kernels.TryGetValue((name, t1, t2), out var ready) && ready.IsValueCreated ? (TDelegate)ready.Value : Compile(name, t1, t2, load);

    // The slow path in its own method: its closures would otherwise be allocated on every call of the fast one.
    private TDelegate Compile<TDelegate>(string name, Type t1, Type? t2, Func<IlgpuBackend, TDelegate> load) where TDelegate : Delegate
    {
        var lazy = _kernels.GetOrAdd((name, t1, t2), _ => new Lazy<Delegate>(() =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            var loaded = load(this);
            Interlocked.Add(ref _compileTicks, System.Diagnostics.Stopwatch.GetTimestamp() - start);
            return loaded;
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        return (TDelegate)lazy.Value;
    }

    private int CompiledCount => _kernels.Values.Count(l => l.IsValueCreated);

    /// <summary>The compiled kernels as "name" or "name/Type/Type" (diagnostics and tests).</summary>
    internal IEnumerable<string> CompiledKernels =>
        _kernels.Where(k => k.Value.IsValueCreated).Select(k =>
            string.Join("/", new[] { k.Key.Item1, k.Key.Item2.Name, k.Key.Item3?.Name }.OfType<string>()));

    private Action<Index1D, ArrayView<T>, TOp> FillK<T, TOp>() where T : unmanaged where TOp : struct, IIndexOp<T> =>
        Compiled("fill", typeof(T), typeof(TOp),
            static b => b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, TOp>(Kernels.Fill<T, TOp>));

    private Action<Index1D, ArrayView<T>, ArrayView<T>, StridedMap> CopyK<T>() where T : unmanaged =>
        Compiled("copy", typeof(T), null,
            static b => b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, StridedMap>(Kernels.Copy<T>));

    private Action<Index1D, ArrayView<TIn>, ArrayView<TOut>, StridedMap> ConvertK<TIn, EIn, TOut, EOut>()
        where TIn : unmanaged where EIn : struct, IElement<TIn> where TOut : unmanaged where EOut : struct, IElement<TOut> =>
        Compiled("convert", typeof(EIn), typeof(EOut), static b => // by trait: float16 and bfloat16 share ushort
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TIn>, ArrayView<TOut>, StridedMap>(
                Kernels.Convert<TIn, EIn, TOut, EOut>));

    private Action<Index1D, ArrayView<T>, ArrayView<T>, StridedMap, TOp> UnaryK<T, TOp>()
        where T : unmanaged where TOp : struct, IUnaryOp<T> =>
        Compiled("unary", typeof(TOp), typeof(T), static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, StridedMap, TOp>(Kernels.Unary<T, TOp>));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, DenseArgs, TOp> UnaryDenseK<TOp>() where TOp : struct, IUnaryOp =>
        Compiled("unaryDense", typeof(TOp), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, DenseArgs, TOp>(
                Kernels.UnaryDense<TOp>));

    private Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, StridedMap, TOp> BinaryK<T, TOp>()
        where T : unmanaged where TOp : struct, IBinaryOp<T> =>
        Compiled("binary", typeof(TOp), typeof(T), static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, StridedMap, TOp>(
                Kernels.Binary<T, TOp>));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseArgs, TOp> BinaryDenseK<TOp>()
        where TOp : struct, IBinaryOp =>
        Compiled("binaryDense", typeof(TOp), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseArgs, TOp>(
                Kernels.BinaryDense<TOp>));

    private Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, StridedMap> WhereK<T>()
        where T : unmanaged, INumberBase<T> =>
        Compiled("where", typeof(T), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
                StridedMap>(Kernels.Where<T>));

    private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ReduceArgs> ReduceRowsK<T, TOp>()
        where T : unmanaged where TOp : struct, IReduceOp<T> =>
        Compiled("reduceRows", typeof(TOp), typeof(T), static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ReduceArgs>(Kernels.ReduceRows<T, TOp>));

    private Action<Index1D, ArrayView<T>, ArrayView<T>, ReduceArgs> ReduceColumnsK<T, TOp>()
        where T : unmanaged where TOp : struct, IReduceOp<T> =>
        Compiled("reduceCols", typeof(TOp), typeof(T), static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ReduceArgs>(Kernels.ReduceColumns<T, TOp>));

    private Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ReduceArgs, ArgMode> ArgReduceK<T>()
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Compiled("argReduce", typeof(T), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ReduceArgs, ArgMode>(
                Kernels.ArgReduce<T>));

    private Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ReduceArgs> ScatterAlongK<T>()
        where T : unmanaged, INumberBase<T> =>
        Compiled("scatterAlong", typeof(T), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ReduceArgs>(
                Kernels.ScatterAlong<T>));

    private Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs> GemmDirectK<T>()
        where T : unmanaged, INumberBase<T> =>
        Compiled("gemmDirect", typeof(T), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
                GemmArgs>(Kernels.GemmDirect<T>));

    // With launch bounds (2 groups per SM of 256 threads, or of 128 for GemmVector; CUDA only) ptxas keeps the GEMM at 128
    // (255) registers so two groups fit on an SM; without them it took a few more and the driver's occupancy estimate fell
    // to one group per SM.
    private bool Bounded => GemmLaunchBounds && Accelerator.AcceleratorType == AcceleratorType.Cuda;

    private KernelSpecialization GemmSpecialization(int threads) => Bounded
        ? new KernelSpecialization(maxNumThreadsPerGroup: threads, minNumGroupsPerMultiprocessor: 2) : KernelSpecialization.Empty;

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs> GemmK<TTiles>()
        where TTiles : struct, IGemmTiles =>
        Compiled(Bounded ? "gemm/bounded" : "gemm", typeof(TTiles), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(
                Kernels.Gemm<TTiles>, b.GemmSpecialization(256)));

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs> GemmVectorK<TA, TB>()
        where TA : struct, IGemmStage where TB : struct, IGemmStage =>
        Compiled(Bounded ? "gemmVector/bounded" : "gemmVector", typeof(TA), typeof(TB), static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(
                Kernels.GemmVector<TA, TB>, b.GemmSpecialization(Kernels.GemmVectorThreads)));

    /// <summary>Groups of the GEMM kernel that fit on one multiprocessor with a T×T group (the driver's estimate).</summary>
    public int GemmOccupancy(int t)
    {
        var kernel = Accelerator.LoadKernel(typeof(Kernels).GetMethod(nameof(Kernels.Gemm))!.MakeGenericMethod(typeof(DynamicTiles)),
            GemmSpecialization(256));
        return Accelerator.EstimateMaxActiveGroupsPerMultiprocessor(kernel, t * t, 4 * (t / 2) * (8 * t + 4) * sizeof(float));
    }

    /// <summary>Groups of <see cref="Kernels.GemmVector{TA, TB}"/> (row-major A and B) that fit on one multiprocessor (the
    /// driver's estimate; its shared memory is static).</summary>
    public int GemmVectorOccupancy()
    {
        var method = typeof(Kernels).GetMethod(nameof(Kernels.GemmVector))!.MakeGenericMethod(typeof(KRun), typeof(MnRun));
        int threads = Kernels.ThreadsPerGemmGroup(method);
        return Accelerator.EstimateMaxActiveGroupsPerMultiprocessor(Accelerator.LoadKernel(method, GemmSpecialization(threads)),
            threads, 0);
    }

    private Action<KernelConfig, ArrayView<float>, ArrayView<TIdx>, ArrayView<float>, ArrayView<float>, GatherArgs, float>
        CeReducedK<TIdx, EIdx>()
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx> =>
        Compiled("crossEntropyReduced", typeof(TIdx), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<TIdx>, ArrayView<float>, ArrayView<float>, GatherArgs, float>(
                Kernels.CrossEntropyReduced<TIdx, EIdx>));

    private Action<Index1D, ArrayView<float>, ArrayView<TIdx>, ArrayView<float>, ArrayView<float>, GatherArgs> CeK<TIdx, EIdx>()
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx> =>
        Compiled("crossEntropy", typeof(TIdx), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<TIdx>, ArrayView<float>, ArrayView<float>,
                GatherArgs>(Kernels.CrossEntropy<TIdx, EIdx>));

    private Action<Index1D, ArrayView<float>, ArrayView<TIdx>, ArrayView<float>, ArrayView<float>, CeBackArgs> CeBackK<TIdx, EIdx>()
        where TIdx : unmanaged where EIdx : struct, IElement<TIdx> =>
        Compiled("crossEntropyBackward", typeof(TIdx), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<TIdx>, ArrayView<float>, ArrayView<float>,
                CeBackArgs>(Kernels.CrossEntropyBackward<TIdx, EIdx>));

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, SoftmaxArgs> SoftmaxRowsK() =>
        Compiled("softmaxRows", typeof(float), null,
            static b => b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, SoftmaxArgs>(Kernels.SoftmaxRows));

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxArgs> SoftmaxBackRowsK() =>
        Compiled("softmaxBackRows", typeof(float), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxArgs>(Kernels.SoftmaxBackRows));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, SoftmaxArgs> SoftmaxColumnsK() =>
        Compiled("softmaxColumns", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, SoftmaxArgs>(Kernels.SoftmaxColumns));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxArgs> SoftmaxBackColumnsK() =>
        Compiled("softmaxBackColumns", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, SoftmaxArgs>(
                Kernels.SoftmaxBackColumns));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs> UnfoldK() =>
        Compiled("unfold", typeof(float), null,
            static b => b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs>(Kernels.Unfold));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, WindowArgs> MaxPoolBackK() =>
        Compiled("maxPoolBack", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                WindowArgs>(Kernels.MaxPoolBack));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs> MaxPoolK() =>
        Compiled("maxPool", typeof(float), null,
            static b => b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs>(
                Kernels.MaxPool));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs> AvgPoolK() =>
        Compiled("avgPool", typeof(float), null,
            static b => b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs>(
                Kernels.AvgPool));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs> AvgPoolBackK() =>
        Compiled("avgPoolBack", typeof(float), null,
            static b => b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs>(
                Kernels.AvgPoolBack));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs> FoldK() =>
        Compiled("fold", typeof(float), null,
            static b => b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, WindowArgs>(Kernels.Fold));

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs> NormStatsK() =>
        Compiled("normStats", typeof(float), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>(Kernels.NormStats));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        NormArgs> NormForwardK() =>
        Compiled("normForward", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, NormArgs>(Kernels.NormForward));

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, NormArgs> NormGradSumsK() =>
        Compiled("normGradSums", typeof(float), null, static b =>
            b.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, NormArgs>(Kernels.NormGradSums));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, NormArgs> NormBackwardK() =>
        Compiled("normBackward", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>(Kernels.NormBackward));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnArgs> LstmCellK() =>
        Compiled("lstmCell", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnArgs>(
                Kernels.LstmCell));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnArgs>
        LstmCellBackK() =>
        Compiled("lstmCellBackward", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, RnnArgs>(Kernels.LstmCellBackward));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnArgs> GruCellK() =>
        Compiled("gruCell", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                RnnArgs>(Kernels.GruCell));

    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, RnnArgs> GruCellBackK() =>
        Compiled("gruCellBackward", typeof(float), null, static b =>
            b.Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<float>, ArrayView<float>, ArrayView<float>, RnnArgs>(Kernels.GruCellBackward));

    /// <summary>
    /// Compiles, in parallel and off the caller's thread, the kernels a typical training loop needs (MLP and CNN layers,
    /// cross-entropy, SGD and Adam, accuracy), so the first step mostly finds them ready. Kernels already compiled are
    /// skipped; a launch that needs one still being compiled waits for it.
    /// </summary>
    public Task WarmUp()
    {
        if (Volatile.Read(ref _warmUp) is { } running) return running;
        Action[] work =
        [
            () => _ = StaticTilesOnly ? GemmK<StaticTiles>() : GemmK<DynamicTiles>(),
            () => UnaryDenseK<ReluOp>(), () => UnaryK<float, ReluOp>(), () => BinaryK<float, AddOp>(), () => BinaryDenseK<AddOp>(),
            () => BinaryK<float, ReluGradOp>(), () => BinaryDenseK<ReluGradOp>(), () => BinaryK<float, MulOp>(),
            () => ReduceColumnsK<float, SumOp>(), () => ReduceRowsK<float, SumOp>(), () => ReduceColumnsK<float, MaxOp>(),
            () => CopyK<float>(), () => CopyK<long>(), () => FillK<float, FillOp<float>>(), () => CeReducedK<long, I64>(),
            () => CeBackK<long, I64>(), () => CeK<long, I64>(), () => UpdateK<float, SgdStep>(), () => UpdateK<float, AdamStep>(),
            () => ArgReduceK<float>(), () => UnfoldK(), () => FoldK(), () => MaxPoolBackK(),
            () => BinaryK<float, EqOp>(), () => UnaryK<float, RightScalar<MulOp>>(),
        ];
        var task = new Task(() =>
            Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount / 2) }, w =>
        {
            Accelerator.Bind(); // CUDA needs the context current on the compiling thread (module load)
            w();
        }));
        if (Interlocked.CompareExchange(ref _warmUp, task, null) is null) task.Start();
        return _warmUp!;
    }

    private Task? _warmUp;
}
