// LeNet with batch normalization (Dive into Deep Learning §8.5) on Fashion-MNIST: BatchNorm2d after each convolution and
// BatchNorm1d after each hidden dense layer, before the sigmoid. Options: --help.
using DeepSharp.Layers;

return Trainer.Run("BatchNorm", args, new VisionOptions(Epochs: 10, BatchSize: 128, LearningRate: 0.1f, Device: null, Seed: 0,
    Out: Path.Combine("runs", "batchnorm"), Resume: false, Data: null, Subset: 0, MinAccuracy: 0f, Threads: 0), () =>
    new Sequential(
        new Conv2d(6, 5), new BatchNorm2d(6), new Sigmoid(), new AvgPool2d(2, 2),
        new Conv2d(16, 5), new BatchNorm2d(16), new Sigmoid(), new AvgPool2d(2, 2),
        new Flatten(), new Dense(120), new BatchNorm1d(120), new Sigmoid(),
        new Dense(84), new BatchNorm1d(84), new Sigmoid(), new Dense(10)));
