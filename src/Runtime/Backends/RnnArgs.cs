namespace DeepSharp.Backends;

/// <summary>
/// Arguments of the fused recurrent cells: <see cref="Batch"/> rows of <see cref="Hidden"/> units, one thread per (row, unit).
/// Every input is dense from its offset: the gates (LSTM [B, 4H]; GRU input projection [B, 3H]) from <see cref="GOffset"/>,
/// the GRU hidden projection [B, 3H] from <see cref="HOffset"/>, the previous state (c or h, [B, H]) from
/// <see cref="SOffset"/> and the upstream gradient from <see cref="DOffset"/>; outputs are dense from 0.
/// </summary>
internal struct RnnArgs
{
    /// <summary>Rows and hidden units.</summary>
    public int Batch, Hidden;
    /// <summary>Offsets of the gates, the GRU hidden projection, the previous state and the upstream gradient.</summary>
    public int GOffset, HOffset, SOffset, DOffset;

    /// <summary>Threads of a launch: one per (row, unit).</summary>
    public readonly int Count => Batch * Hidden;
}

/// <summary>
/// Offsets of one step of the accelerators' fused LSTM and GRU sequences (<see cref="Ilgpu.IlgpuBackend.LstmSequence"/>,
/// <see cref="Ilgpu.IlgpuBackend.GruSequence"/>), in elements: this step's input gates [B, kH] in xg
/// (<see cref="XOffset"/>), its pre-activations (LSTM) or hidden projections (GRU) [B, kH] kept for the backward
/// (<see cref="PreOffset"/>), the c it reads and writes (LSTM: [B, H] rows of c; the GRU's h it reads is a row of y at
/// <see cref="CPrevOffset"/>), its h (a row of y), its output's gradient (a row of gy) and its gates' gradient (a row of
/// dxg).
/// </summary>
internal struct RnnStepArgs
{
    public int Batch, Hidden;
    public int XOffset, PreOffset, CPrevOffset, COffset, YOffset, GyOffset, DxOffset, BOffset;
    /// <summary>1 when the GRU's hidden bias is added (at <see cref="BOffset"/>).</summary>
    public int HasBias;
    /// <summary>1 when the backward adds the gradient carried from the next step (dhNext).</summary>
    public int HasNext;

    /// <summary>Threads of a launch: one per (row, unit).</summary>
    public readonly int Count => Batch * Hidden;
}
