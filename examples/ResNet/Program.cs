// ResNet-18 (Dive into Deep Learning §8.6) adapted to 28×28 images: a 3×3 stem without max-pooling, four stages of two
// residual blocks (64, 128, 256, 512 channels; --width 16 gives 16, 32, 64, 128), global average pooling. Meant for a GPU
// (--device cuda:0); on the CPU, try --width 16 --subset 6000. Options: --help.
using DeepSharp.Layers;

return Trainer.Run("ResNet", args, new VisionOptions(Epochs: 10, BatchSize: 128, LearningRate: 0.05f, Device: null, Seed: 0,
    Out: Path.Combine("runs", "resnet"), Resume: false, Data: null, Subset: 0, MinAccuracy: 0f, Threads: 0, Activation: null,
    Pool: null, Width: 64),
    o => ResNet.Create([2, 2, 2, 2], [o.Width, 2 * o.Width, 4 * o.Width, 8 * o.Width], classes: 10, smallImages: true));
