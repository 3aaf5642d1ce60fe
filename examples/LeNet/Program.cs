// LeNet-5 (Dive into Deep Learning §7.6) on Fashion-MNIST: two convolutions with sigmoid and average pooling, then three
// dense layers, initialized Xavier-uniform as the book does. The book's exercises: --activation relu, --pool max,
// --width 2 (twice the channels). Options: --help.
using DeepSharp.Layers;

return Trainer.Run("LeNet", args, new VisionOptions(Epochs: 10, BatchSize: 128, LearningRate: 0.9f, Device: null, Seed: 0,
    Out: Path.Combine("runs", "lenet"), Resume: false, Data: null, Subset: 0, MinAccuracy: 0f, Threads: 0), o =>
{
    var net = new Sequential(
        new Conv2d(6 * o.Width, 5, padding: 2), o.MakeActivation(), o.MakePool(),
        new Conv2d(16 * o.Width, 5), o.MakeActivation(), o.MakePool(),
        new Flatten(), new Dense(120), o.MakeActivation(), new Dense(84), o.MakeActivation(), new Dense(10));
    net.Initialize(Init.XavierUniform(), where: (path, _) => path.EndsWith("weight", StringComparison.Ordinal));
    return net;
});
