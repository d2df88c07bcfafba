"""PyTorch DDP reference for `npm run bench:parallel`: the same small ResNet and MLP, SGD, batch 128 per GPU (--batch),
random data staged from pinned host memory; prints one JSON line of global samples/s per device count."""
import argparse, json, os, time
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                  nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return torch.relu(self.body(x) + x)


def cnn():
    """The small ResNet of bench/parallel.ts: stem, residual block, pool, widen, residual block, GAP, linear."""
    def conv_bn(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*conv_bn(3, 64), Residual(64), nn.MaxPool2d(2), *conv_bn(64, 128), Residual(128),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def mlp():
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))


def worker(rank, world, model_name, rounds, batch, samples, port, q):
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(port)
    dist.init_process_group('nccl', rank=rank, world_size=world)
    torch.cuda.set_device(rank)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    model = (cnn() if model_name == 'cnn' else mlp()).cuda()
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[rank])
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
    shape = (batch, 3, 32, 32) if model_name == 'cnn' else (batch, 784)
    xs = [torch.randn(shape).pin_memory() for _ in range(4)]
    ys = [torch.randint(0, 10, (batch,)).pin_memory() for _ in range(4)]
    loss_fn = nn.CrossEntropyLoss()

    def step(i):
        x = xs[i % 4].cuda(non_blocking=True)
        y = ys[i % 4].cuda(non_blocking=True)
        opt.zero_grad(set_to_none=True)
        loss_fn(ddp(x), y).backward()
        opt.step()

    for i in range(rounds):
        step(i)
    torch.cuda.synchronize()
    dist.barrier()
    # `samples` timed epochs of `rounds` steps; the median epoch gives the throughput (as bench/parallel.ts).
    seconds = []
    for _ in range(samples):
        t = time.perf_counter()
        for i in range(rounds):
            step(i)
        torch.cuda.synchronize()
        dist.barrier()
        seconds.append(time.perf_counter() - t)
    if rank == 0:
        q.put(rounds * batch * world / sorted(seconds)[len(seconds) // 2])
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--devices', default='1,2')
    p.add_argument('--rounds', type=int, default=30)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--samples', type=int, default=5)
    a = p.parse_args()
    ctx = mp.get_context('spawn')
    out = {'torch': torch.__version__, 'samples_per_s': {}}
    port = 29500
    for model_name in ['cnn', 'mlp']:
        out['samples_per_s'][model_name] = {}
        for world in [int(d) for d in a.devices.split(',')]:
            q = ctx.SimpleQueue()
            port += 1
            mp.start_processes(worker, args=(world, model_name, a.rounds, a.batch, a.samples, port, q), nprocs=world, join=True, start_method='spawn')
            out['samples_per_s'][model_name][world] = q.get()
    print(json.dumps(out))


if __name__ == '__main__':
    main()
