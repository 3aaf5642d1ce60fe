// LeNet with batch normalization (Dive into Deep Learning §8.5) on Fashion-MNIST: BatchNorm2d after each convolution and
// BatchNorm1d after each hidden dense layer, before the activation. --activation relu --pool max --width 2 is the
// modernized variant that reaches 91 % (benchmarks/NOTES.md). Options: --help.
using DeepSharp.Layers;

return Trainer.Run("BatchNorm", args, new VisionOptions(Epochs: 10, BatchSize: 128, LearningRate: 0.1f, Device: null, Seed: 0,
    Out: Path.Combine("runs", "batchnorm"), Resume: false, Data: null, Subset: 0, MinAccuracy: 0f, Threads: 0), o =>
{
    int c1 = 6 * o.Width, c2 = 16 * o.Width;
    return new Sequential(
        new Conv2d(c1, 5), new BatchNorm2d(c1), o.MakeActivation(), o.MakePool(),
        new Conv2d(c2, 5), new BatchNorm2d(c2), o.MakeActivation(), o.MakePool(),
        new Flatten(), new Dense(120), new BatchNorm1d(120), o.MakeActivation(),
        new Dense(84), new BatchNorm1d(84), o.MakeActivation(), new Dense(10));
});
