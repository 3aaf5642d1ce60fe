// LeNet-5 (Dive into Deep Learning §7.6) on Fashion-MNIST: two convolutions with sigmoid and average pooling, then three
// dense layers, initialized Xavier-uniform as the book does. Options: --help.
using DeepSharp.Layers;

return Trainer.Run("LeNet", args, new VisionOptions(Epochs: 10, BatchSize: 128, LearningRate: 0.9f, Device: null, Seed: 0,
    Out: Path.Combine("runs", "lenet"), Resume: false, Data: null, Subset: 0, MinAccuracy: 0f, Threads: 0), () =>
{
    var net = new Sequential(
        new Conv2d(6, 5, padding: 2), new Sigmoid(), new AvgPool2d(2, 2),
        new Conv2d(16, 5), new Sigmoid(), new AvgPool2d(2, 2),
        new Flatten(), new Dense(120), new Sigmoid(), new Dense(84), new Sigmoid(), new Dense(10));
    net.Initialize(Init.XavierUniform(), where: (path, _) => path.EndsWith("weight", StringComparison.Ordinal));
    return net;
});
