using System.Collections;

namespace DeepSharp.Data;

/// <summary>How <see cref="SequenceBatches"/> cuts a corpus into subsequences (Dive into Deep Learning §9.3).</summary>
public enum SequenceSampling
{
    /// <summary>Consecutive minibatches continue each other row by row: row r of batch k + 1 starts where row r of batch k
    /// ended (the book's <c>seq_data_iter_sequential</c>), so a recurrent state can be carried across batches.</summary>
    Sequential,
    /// <summary>Non-overlapping subsequences in a random order, unrelated from one batch to the next (the book's
    /// <c>seq_data_iter_random</c>).</summary>
    Random,
}

/// <summary>
/// Minibatches of subsequences of a corpus of token indices for a language model: <c>foreach (var (x, y) in batches)</c>
/// gives int64 X [batchSize, numSteps] and Y = the tokens one place later, on <see cref="Device"/>.
/// <para>Each epoch starts at a random offset, as in the book: in [0, numSteps] with <see cref="SequenceSampling.Sequential"/>
/// (then the corpus from there is split into batchSize equal rows and the batches walk along them numSteps at a time), in
/// [0, numSteps) with <see cref="SequenceSampling.Random"/> (then the non-overlapping subsequences from there are
/// shuffled). So the number of batches can differ by one between epochs (<see cref="CountOf"/>).</para>
/// <para>Determinism: the offset and the order of epoch e are drawn from (<see cref="Seed"/>, e) alone; each enumeration
/// uses <see cref="Epoch"/> and adds one; set it to resume a run exactly. The caller owns each <see cref="Batch"/>.</para>
/// </summary>
public sealed class SequenceBatches : IEnumerable<Batch>
{
    private const long OffsetStream = 0x4F464653, OrderStream = 0x4F524452;
    private readonly int[] _corpus;

    /// <summary>Batches of <paramref name="corpus"/> (copied).</summary>
    /// <param name="corpus">Token indices, e.g. from <see cref="Vocab.Encode"/>.</param>
    /// <param name="batchSize">Subsequences per batch.</param>
    /// <param name="numSteps">Tokens per subsequence.</param>
    /// <param name="sampling">Sequential partitioning or random sampling.</param>
    /// <param name="seed">The seed of the offsets and orders.</param>
    /// <param name="device">Where the batches go (null: <see cref="Device.Cpu"/>).</param>
    /// <exception cref="ArgumentNullException">corpus is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">batchSize or numSteps is not positive, sampling is not a
    /// <see cref="SequenceSampling"/>, or the corpus is too short for one batch at every offset (the message gives the
    /// length needed).</exception>
    public SequenceBatches(IReadOnlyList<int> corpus, int batchSize, int numSteps,
        SequenceSampling sampling = SequenceSampling.Sequential, ulong seed = 0, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "SequenceBatches: batchSize must be >= 1.");
        if (numSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(numSteps), numSteps, "SequenceBatches: numSteps must be >= 1.");
        if (!Enum.IsDefined(sampling))
            throw new ArgumentOutOfRangeException(nameof(sampling), sampling, "SequenceBatches: sampling must be Sequential or Random.");
        // The shortest corpus that gives one batch at the largest offset (numSteps, or numSteps - 1 when random).
        long needed = sampling == SequenceSampling.Sequential ? (batchSize + 1L) * numSteps + 1 : (batchSize + 1L) * numSteps;
        if (corpus.Count < needed)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"SequenceBatches: a corpus of {corpus.Count} " +
                $"tokens is too short for batchSize {batchSize} × numSteps {numSteps} ({sampling}): it needs at least {needed}.");
        _corpus = [.. corpus];
        (BatchSize, NumSteps, Sampling, Seed, Device) = (batchSize, numSteps, sampling, seed, device ?? Device.Cpu);
    }

    /// <summary>Subsequences per batch.</summary>
    public int BatchSize { get; }
    /// <summary>Tokens per subsequence.</summary>
    public int NumSteps { get; }
    /// <summary>Sequential partitioning or random sampling.</summary>
    public SequenceSampling Sampling { get; }
    /// <summary>The seed of the offsets and orders.</summary>
    public ulong Seed { get; }
    /// <summary>The device the batches are uploaded to.</summary>
    public Device Device { get; }
    /// <summary>The number of tokens in the corpus.</summary>
    public int CorpusLength => _corpus.Length;

    /// <summary>The epoch the next enumeration uses (0 at first; each enumeration uses it and adds one).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int Epoch
    {
        get;
        set => field = value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(Epoch), value, "SequenceBatches: the epoch must be >= 0.");
    }

    /// <summary>The start of every row of every batch of <paramref name="epoch"/> in the corpus: element [k][r] is where row r
    /// of batch k starts (X holds tokens [start, start + numSteps), Y those one later).</summary>
    /// <exception cref="ArgumentOutOfRangeException">epoch is negative.</exception>
    public int[][] Starts(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "SequenceBatches: the epoch must be >= 0.");
        var offsetRandom = new TransformRandom(Mix.Of(Seed, OffsetStream, epoch));
        int n = _corpus.Length, b = BatchSize, s = NumSteps;
        if (Sampling == SequenceSampling.Sequential)
        {
            int offset = offsetRandom.Next(s + 1);
            int rowLength = (n - offset - 1) / b; // the book's num_tokens / batch_size
            return Enumerable.Range(0, rowLength / s)
                .Select(k => Enumerable.Range(0, b).Select(r => offset + r * rowLength + k * s).ToArray()).ToArray();
        }
        int start = offsetRandom.Next(s);
        var initial = Enumerable.Range(0, (n - start - 1) / s).Select(i => start + i * s).ToArray();
        var order = new TransformRandom(Mix.Of(Seed, OrderStream, epoch));
        for (int i = initial.Length - 1; i > 0; i--)
        {
            int j = order.Next(i + 1);
            (initial[i], initial[j]) = (initial[j], initial[i]);
        }
        return Enumerable.Range(0, initial.Length / b).Select(k => initial[(k * b)..((k + 1) * b)]).ToArray();
    }

    /// <summary>The number of batches in <paramref name="epoch"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">epoch is negative.</exception>
    public int CountOf(int epoch) => Starts(epoch).Length;

    /// <summary>Enumerates the batches of epoch <see cref="Epoch"/> (then advances it).</summary>
    public IEnumerator<Batch> GetEnumerator()
    {
        int epoch = Epoch;
        Epoch = epoch + 1;
        return Enumerate(Starts(epoch));
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private IEnumerator<Batch> Enumerate(int[][] starts)
    {
        foreach (var rows in starts)
        {
            var x = new long[BatchSize * NumSteps];
            var y = new long[x.Length];
            for (int r = 0; r < BatchSize; r++)
                for (int t = 0; t < NumSteps; t++)
                {
                    x[r * NumSteps + t] = _corpus[rows[r] + t];
                    y[r * NumSteps + t] = _corpus[rows[r] + t + 1];
                }
            var xs = Tensor.FromArray(x, [BatchSize, NumSteps], Device);
            Tensor ys;
            try { ys = Tensor.FromArray(y, [BatchSize, NumSteps], Device); }
            catch { xs.Dispose(); throw; }
            yield return new Batch(xs, ys);
        }
    }
}
