// ResNet-18 (Dive into Deep Learning §8.6) adapted to 28×28 images: a 3×3 stem without max-pooling, four stages of two
// residual blocks (64, 128, 256, 512 channels), global average pooling. Meant for a GPU (--device cuda:0); on the CPU, try
// --subset 2000. Options: --help.
using DeepSharp.Layers;

return Trainer.Run("ResNet", args, new VisionOptions(Epochs: 10, BatchSize: 128, LearningRate: 0.05f, Device: null, Seed: 0,
    Out: Path.Combine("runs", "resnet"), Resume: false, Data: null, Subset: 0, MinAccuracy: 0f, Threads: 0),
    _ => ResNet.ResNet18(classes: 10, smallImages: true));
