// Coverage-guided fuzz target for the checkpoint and safetensors readers (SharpFuzz + AFL++; see fuzz/run.sh).
// Oracle: reading any input either succeeds or throws CheckpointFormatException; anything else escapes and AFL records
// the input as a crash. The readers check every size against the input length before allocating, so memory stays bounded
// (AFL's -m limit enforces it).
using DeepSharp.IO;
using SharpFuzz;

Fuzzer.OutOfProcess.Run(stream =>
{
    var ms = new MemoryStream();
    stream.CopyTo(ms);
    var bytes = ms.ToArray();
    try { Checkpoint.Read(new MemoryStream(bytes)); } catch (CheckpointFormatException) { }
    try { SafeTensors.Read(new MemoryStream(bytes)); } catch (CheckpointFormatException) { }
});
