// Test helper for CheckpointTests: saves checkpoints to args[0] in a loop until killed, so a test can kill a
// process in the middle of a save and check that the file on disk is still a complete, loadable checkpoint, and that the
// next save removes the temporary file the kill left behind.
using DeepSharp;
using DeepSharp.IO;

var big = Tensor.Rand([1 << 21], generator: new Generator(9)); // 8 MB per save: kills land mid-write
Console.WriteLine("saving");
for (int i = 0; ; i++)
    Checkpoint.Save(args[0], new DictValue(new OrderedDictionary<string, CheckpointValue> { ["step"] = Tensor.Full([1], i), ["w"] = big }));
