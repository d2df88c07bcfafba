"""PyTorch reference for `npm run bench:gpu`: the same workloads, timed the same way; prints one JSON object."""
import json, sys, time
import torch

dev = torch.device('cuda')
out = {'torch': torch.__version__, 'device': torch.cuda.get_device_name(0)}


def timed(fn, iters, warmup=1, samples=7):
    """Median seconds per call over `samples` rounds of `iters` calls, after `warmup` untimed rounds."""
    for _ in range(warmup * iters):
        fn()
    torch.cuda.synchronize()
    per = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        torch.cuda.synchronize()
        per.append((time.perf_counter() - t) / iters)
    per.sort()
    return per[len(per) // 2]


a, b = torch.randn(256, device=dev), torch.randn(256, device=dev)
out['dispatch_add_us'] = timed(lambda: a + b, 2000, warmup=25) * 1e6

n = 1 << 26
x, y = torch.randn(n, device=dev), torch.randn(n, device=dev)
out['add_gbs'] = 3 * 4 * n / timed(lambda: x + y, 20) / 1e9
out['mul_gbs'] = 3 * 4 * n / timed(lambda: x * y, 20) / 1e9
dst = torch.empty_like(x)
out['copy_gbs'] = 2 * 4 * n / timed(lambda: dst.copy_(x), 20) / 1e9
xh, yh = x.half(), y.half()
out['add_half_ms'] = timed(lambda: xh + yh, 20) * 1e3
out['add_float_ms'] = timed(lambda: x + y, 20) * 1e3

mm = {}
for name, dtype, tf32 in [('FLOAT', torch.float32, False), ('TF32', torch.float32, True), ('HALF', torch.float16, False), ('BFLOAT16', torch.bfloat16, False)]:
    torch.backends.cuda.matmul.allow_tf32 = tf32
    for s in [1024, 2048, 4096, 8192]:
        p, q = torch.randn(s, s, device=dev, dtype=dtype), torch.randn(s, s, device=dev, dtype=dtype)
        t = timed(lambda: p @ q, max(2, int(2e12 / (2 * s ** 3))), samples=5)
        mm[f'{name}_{s}'] = 2 * s ** 3 / t / 1e12
torch.backends.cuda.matmul.allow_tf32 = False
out['matmul_tflops'] = mm

conv = {}
for name, dtype, tf32 in [('FLOAT', torch.float32, False), ('TF32', torch.float32, True), ('HALF', torch.float16, False), ('BFLOAT16', torch.bfloat16, False)]:
    torch.backends.cudnn.allow_tf32 = tf32
    xc = torch.randn(256, 64, 32, 32, device=dev, dtype=dtype, requires_grad=True)
    wc = torch.randn(64, 64, 3, 3, device=dev, dtype=dtype, requires_grad=True)
    gc = torch.randn(256, 64, 32, 32, device=dev, dtype=dtype)
    def conv_step():
        xc.grad = None; wc.grad = None
        torch.nn.functional.conv2d(xc, wc, padding=1).backward(gc)
    conv[name] = timed(conv_step, 5, warmup=2) * 1e3
torch.backends.cudnn.allow_tf32 = True
out['conv_ms'] = conv

torch.manual_seed(0)
sizes = [784, 1024, 1024, 10]
params = []
for i in range(3):
    params += [(torch.rand(sizes[i], sizes[i + 1], device=dev) * 2 - 1).mul_((6 / sizes[i]) ** 0.5).requires_grad_(), torch.zeros(sizes[i + 1], device=dev, requires_grad=True)]
xb = torch.randn(128, 784, device=dev)
yb = torch.nn.functional.one_hot(torch.randint(0, 10, (128,), device=dev), 10).float()
def mlp_step():
    h = xb
    for i in range(3):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < 2:
            h = torch.relu(h)
    loss = -(yb * torch.log_softmax(h, -1)).sum(-1).mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= 0.01 * p.grad
            p.grad = None
    return loss
out['mlp_step_ms'] = timed(mlp_step, 20, warmup=25) * 1e3

# The same step recorded as a CUDA graph (warmed up on a side stream, as torch.cuda.graph's docs ask).
side = torch.cuda.Stream()
side.wait_stream(torch.cuda.current_stream())
with torch.cuda.stream(side):
    for _ in range(3):
        mlp_step()
torch.cuda.current_stream().wait_stream(side)
graph = torch.cuda.CUDAGraph()
with torch.cuda.graph(graph):
    mlp_step()
out['mlp_step_graph_ms'] = timed(graph.replay, 20, warmup=25) * 1e3
print(json.dumps(out))
