// Coverage-guided fuzz target for the checkpoint and safetensors readers (SharpFuzz + AFL++; see fuzz/run.sh).
// Oracle: reading any input either succeeds or throws CheckpointFormatException, and allocates at most the stated bound
// (CheckpointLimits.ReadAllocationBound: 24 × the input's size + 256 KiB); anything else escapes and AFL records the input
// as a crash.
using DeepSharp.IO;
using SharpFuzz;

// The first read of each format pays for static state; do it before measuring.
Check([], s => Checkpoint.Read(s));
Check([], s => SafeTensors.Read(s));

Fuzzer.OutOfProcess.Run(stream =>
{
    var ms = new MemoryStream();
    stream.CopyTo(ms);
    var bytes = ms.ToArray();
    Check(bytes, s => Checkpoint.Read(s));
    Check(bytes, s => SafeTensors.Read(s));
});

static void Check(byte[] bytes, Action<Stream> read)
{
    var input = new MemoryStream(bytes, writable: false);
    long before = GC.GetAllocatedBytesForCurrentThread();
    try { read(input); } catch (CheckpointFormatException) { }
    long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
    if (allocated > CheckpointLimits.ReadAllocationBound(bytes.Length))
        throw new InvalidOperationException($"Reading {bytes.Length} bytes allocated {allocated}, over the bound.");
}
