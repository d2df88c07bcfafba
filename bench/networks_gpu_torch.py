"""PyTorch eager reference for `npm run bench:gpu:networks` (bench/networks-gpu.ts).

Reads one JSON object on stdin: {"plan": {...}, "models": [...]}, where each model is the portable form of a
dl4ts network (bench/networks-gpu-spec.ts: dl4ts's resolved layers, in topological order). Builds the same
architecture with torch.nn, trains it with SGD on one random minibatch created on the GPU, timed as the dl4ts
side is (warm-up, a calibration run that picks the steps per sample, then timed samples that each end with
torch.cuda.synchronize()), and prints one JSON line with samples/s per model and dtype. Progress goes to stderr.
--device cpu (development only) runs the same on the CPU, to check the models build and train without a GPU.
--check (bench/networks-gpu-check.ts) instead loads dl4ts's trained parameters into each rebuilt model and reports how far
its outputs are from dl4ts's: the evidence that both sides build the same function.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn

DTYPES = {'FLOAT': torch.float32, 'HALF': torch.float16, 'BFLOAT16': torch.bfloat16}
ACTIVATIONS = {'relu': nn.ReLU, 'tanh': nn.Tanh, 'sigmoid': nn.Sigmoid}


def fail(where, message):
    raise ValueError(f'{where}: {message}')


def activation(where, name):
    """The module of a dl4ts activation, or None for identity."""
    if name == 'identity':
        return None
    if name not in ACTIVATIONS:
        fail(where, f"activation '{name}' is not mapped to torch by this benchmark ({', '.join(['identity', *ACTIVATIONS])})")
    return ACTIVATIONS[name]()


def symmetric_padding(where, window):
    top, bottom, left, right = window['padding']
    if top != bottom or left != right:
        fail(where, f'asymmetric padding {window["padding"]} has no torch.nn equivalent here')
    return (top, left)


def dropout(where, layer):
    """torch's drop probability from dl4ts's retain probability (1 = no dropout)."""
    p = layer['dropOut']
    if p == 1:
        return []
    if not isinstance(p, (int, float)):
        fail(where, f'only a numeric dropOut (retain probability) maps to nn.Dropout, got {json.dumps(p)}')
    return [nn.Dropout(1 - p)]


def with_activation(where, layer, core):
    act = activation(where, layer['activation'])
    return nn.Sequential(*core, act) if act is not None else nn.Sequential(*core)


class GlobalPool(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        dims = tuple(range(2, x.dim()))
        return x.mean(dims) if self.kind == 'avg' else x.amax(dims) if self.kind == 'max' else x.sum(dims)


class LstmStack(nn.Module):
    """Consecutive dl4ts LSTM layers of one hidden size as one cuDNN nn.LSTM; batch-first [N, T, C]."""

    def __init__(self, layers, last_step):
        super().__init__()
        first = layers[0]
        self.lstm = nn.LSTM(first['nIn'], first['nOut'], num_layers=len(layers), batch_first=True, bias=first['hasBias'])
        self.last_step = last_step

    def forward(self, x):
        out = self.lstm(x)[0]
        return out[:, -1] if self.last_step else out


def lstm_of(layer):
    """The LSTM inside a layer (itself, or the one a LastTimeStep wraps), else None."""
    if layer['type'] == 'lstm':
        return layer
    if layer['type'] == 'lastTimeStep' and layer['wrapped']['type'] == 'lstm':
        return layer['wrapped']
    return None


def check_lstm(where, layer):
    if layer['activation'] != 'tanh' or layer['recurrent']['gateActivation'] != 'sigmoid':
        fail(where, 'nn.LSTM needs tanh activations and sigmoid gates')
    if layer['dropOut'] != 1:
        fail(where, 'dropout on LSTM inputs is not mapped')


def layer_module(where, layer, is_output):
    kind = layer['type']
    if kind in ('dense', 'output'):
        core = dropout(where, layer)
        if 'inputImage' in layer:  # dl4ts's cnnToFeedForward preprocessor: flatten C, H, W in that order
            core = [nn.Flatten(), *core]
        core.append(nn.Linear(layer['nIn'], layer['nOut'], bias=layer['hasBias']))
        if kind == 'output':
            if not is_output:
                fail(where, 'an output layer must be the network output')
            if layer['activation'] != 'softmax' or layer['lossFunction'] != 'MCXENT':
                fail(where, f"only softmax + MCXENT maps to nn.CrossEntropyLoss, got {layer['activation']} + {layer['lossFunction']}")
            return nn.Sequential(*core)  # logits: the softmax is fused into the loss, as dl4ts fuses softmax + MCXENT
        return with_activation(where, layer, core)
    if kind == 'convolution2d':
        w = layer['window']
        conv = nn.Conv2d(layer['nIn'], layer['nOut'], tuple(w['kernel']), stride=tuple(w['stride']), padding=symmetric_padding(where, w),
                         dilation=tuple(w['dilation']), bias=layer['hasBias'])
        return with_activation(where, layer, [*dropout(where, layer), conv])
    if kind == 'subsampling':
        w, pooling = layer['window'], layer['pooling']['type']
        padding = symmetric_padding(where, w)
        if pooling == 'max':
            return nn.MaxPool2d(tuple(w['kernel']), stride=tuple(w['stride']), padding=padding, dilation=tuple(w['dilation']))
        if pooling == 'avg' and padding == (0, 0) and tuple(w['dilation']) == (1, 1):
            return nn.AvgPool2d(tuple(w['kernel']), stride=tuple(w['stride']))
        fail(where, f'only max pooling and unpadded, undilated avg pooling are mapped, got {pooling}')
    if kind == 'batchNormalization':
        bn = layer['batchNorm']
        # dl4ts's decay weighs the running statistics; torch's momentum weighs the batch statistics.
        norm = (nn.BatchNorm2d if 'inputImage' in layer else nn.BatchNorm1d)(layer['nOut'], eps=bn['eps'], momentum=1 - bn['decay'])
        return with_activation(where, layer, [norm])
    if kind == 'activation':
        act = activation(where, layer['activation'])
        return act if act is not None else nn.Identity()
    if kind == 'globalPooling':
        pooling = layer['pooling']['type']
        if pooling not in ('avg', 'max', 'sum'):
            fail(where, f"global pooling '{pooling}' is not mapped")
        return GlobalPool(pooling)
    fail(where, f"layer type '{kind}' is not mapped to torch by this benchmark")


class PortableNet(nn.Module):
    """A dl4ts network rebuilt from its resolved vertices; forward returns the output layer's logits."""

    def __init__(self, spec):
        super().__init__()
        vertices = spec['vertices']
        consumers = {v['name']: [] for v in vertices}
        for v in vertices:
            for i in v['inputs']:
                if i in consumers:
                    consumers[i].append(v)
        self.input_name, self.output = spec['inputName'], spec['output']
        self.mods = nn.ModuleDict()
        self.plan = []  # (name, input names, vertex op or None for a module)
        self.param_keys = {}  # module name -> the dl4ts parameter-key prefixes of its layers ('0' of '0_W'), in order
        stacks = {}  # an LSTM vertex merged into its consumer: name -> (the stack's input, its LSTM layers, their keys)
        for v in vertices:
            name, inputs, where = v['name'], v['inputs'], f"{spec['name']} vertex '{v['name']}'"
            if 'vertex' in v:
                op = v['vertex']
                if op['type'] != 'elementwise' or op['op'] not in ('add', 'product', 'average'):
                    fail(where, f'vertex {json.dumps(op)} is not mapped to torch by this benchmark')
                self.plan.append((name, inputs, op['op']))
                continue
            layer = v['layer']
            lstm = lstm_of(layer)
            if lstm is not None:
                check_lstm(where, lstm)
                src, layers, keys = stacks.pop(inputs[0]) if len(inputs) == 1 and inputs[0] in stacks else (inputs[0], [], [])
                layers, keys = [*layers, lstm], [*keys, v['paramKey']]
                nxt = consumers[name]
                # A plain LSTM feeding only another LSTM of its hidden size: one multi-layer nn.LSTM, as a torch user writes it.
                if layer['type'] == 'lstm' and name != self.output and len(nxt) == 1 and 'layer' in nxt[0] and len(nxt[0]['inputs']) == 1:
                    following = lstm_of(nxt[0]['layer'])
                    if following is not None and following['nOut'] == lstm['nOut']:
                        stacks[name] = (src, layers, keys)
                        continue
                self.mods[name] = LstmStack(layers, last_step=layer['type'] == 'lastTimeStep')
                self.param_keys[name] = keys
                self.plan.append((name, [src], None))
                continue
            if len(inputs) != 1:
                fail(where, 'layers with several inputs (implicit merge) are not mapped')
            self.mods[name] = layer_module(where, layer, name == self.output)
            self.param_keys[name] = [v['paramKey']]
            self.plan.append((name, inputs, None))
        # Each activation is dropped after its last consumer, as locals of a hand-written forward would be.
        last_use = {i: k for k, (_, inputs, _) in enumerate(self.plan) for i in inputs}
        self.release = [[i for i in set(inputs) if last_use[i] == k] for k, (_, inputs, _) in enumerate(self.plan)]

    def forward(self, x):
        values = {self.input_name: x}
        for (name, inputs, op), release in zip(self.plan, self.release):
            args = [values[i] for i in inputs]
            for i in release:
                del values[i]
            if op is None:
                values[name] = self.mods[name](args[0])
            elif op == 'add':
                values[name] = sum(args[1:], args[0])
            elif op == 'product':
                out = args[0]
                for a in args[1:]:
                    out = out * a
                values[name] = out
            else:
                values[name] = sum(args[1:], args[0]) / len(args)
        return values[self.output]


def input_shape(spec):
    """One minibatch of the network input in torch's layout (recurrent: batch-first [N, T, C])."""
    t, n = spec['input'], spec['batch']
    if t['kind'] == 'feedForward':
        return (n, t['size'])
    if t['kind'] == 'convolutional':
        return (n, t['channels'], t['height'], t['width'])
    if t['kind'] == 'recurrent' and 'timeSeriesLength' in t:
        return (n, t['timeSeriesLength'], t['size'])
    fail(spec['name'], f'input {json.dumps(t)} is not mapped')


def init_like_dl4ts(model, spec):
    """He-normal weights and zero biases for dense and conv layers where dl4ts uses weightInit RELU (LSTMs keep torch's init)."""
    inits = {v['name']: v['layer']['weightInit'] for v in spec['vertices'] if 'layer' in v}
    for name, mod in model.mods.items():
        if inits.get(name) != 'RELU':
            continue
        for m in mod.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)


def comparable_params(model):
    """Parameter count as dl4ts counts it: BN running statistics included, nn.LSTM's second (redundant) bias excluded."""
    params = sum(p.numel() for p in model.parameters())
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith('running_mean') or n.endswith('running_var'))
    extra_bias = sum(p.numel() for n, p in model.named_parameters() if '.bias_hh_l' in n)
    return params, params + running - extra_bias


def steps_per_sample(per_step, plan):
    return max(1, min(plan['maxStepsPerSample'], math.ceil(plan['targetSampleSeconds'] / per_step)))


def run(spec, plan, dev, sync):
    dtype = DTYPES[spec['dtype']]
    torch.manual_seed(0)
    model = PortableNet(spec)
    init_like_dl4ts(model, spec)
    model = model.to(device=dev, dtype=dtype).train()  # plain 16-bit training: 16-bit parameters, no master copy, no autocast
    params, dl4ts_params = comparable_params(model)
    x = torch.randn(input_shape(spec), device=dev, dtype=dtype)
    y = torch.randint(0, 10, (spec['batch'],), device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=spec['updater']['learningRate'])
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    first_loss = step().item()
    for _ in range(plan['warmupSteps']):
        step()
    sync()
    t = time.perf_counter()
    for _ in range(plan['calibrationSteps']):
        step()
    sync()
    k = steps_per_sample((time.perf_counter() - t) / plan['calibrationSteps'], plan)
    per = []
    loss = None
    for _ in range(plan['samples']):
        t = time.perf_counter()
        for _ in range(k):
            loss = step()
        sync()
        per.append((time.perf_counter() - t) / k)
    per.sort()
    mid = len(per) // 2
    median = per[mid] if len(per) % 2 else (per[mid - 1] + per[mid]) / 2
    return {'samples_per_s': spec['batch'] / median, 'ms_per_step': median * 1e3, 'best_ms_per_step': per[0] * 1e3,
            'steps_per_sample': k, 'samples': len(per), 'first_loss': first_loss, 'last_loss': loss.item(),
            'params': params, 'dl4ts_comparable_params': dl4ts_params}


SAFETENSORS_DTYPES = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}


def read_safetensors(path):
    """A safetensors file as {name: tensor}: 8-byte little-endian header length, JSON header, raw little-endian data."""
    with open(path, 'rb') as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        begin, end = e['data_offsets']
        out[name] = torch.frombuffer(data[begin:end], dtype=SAFETENSORS_DTYPES[e['dtype']]).reshape(e['shape']).clone()
    return out


def dl4ts_lstm_blocks(m, hidden):
    """dl4ts's LSTM blocks [block input, forget, output, input gate] along the last axis, in torch's order [input gate, forget, block input, output]."""
    blocks = [m[..., k * hidden:(k + 1) * hidden] for k in range(4)]
    return torch.cat([blocks[3], blocks[1], blocks[0], blocks[2]], -1)


def load_dl4ts_parameters(net, tensors):
    """Copies dl4ts's parameters (paramTable() names) into the rebuilt model; every tensor must find its place."""
    used = set()

    def take(key):
        if key not in tensors:
            fail('load_dl4ts_parameters', f"no dl4ts parameter '{key}'")
        used.add(key)
        return tensors[key]

    with torch.no_grad():
        for name, mod in net.mods.items():
            keys = net.param_keys[name]
            if isinstance(mod, LstmStack):
                hidden = mod.lstm.hidden_size
                for i, k in enumerate(keys):
                    getattr(mod.lstm, f'weight_ih_l{i}').copy_(dl4ts_lstm_blocks(take(f'{k}_W'), hidden).T)
                    getattr(mod.lstm, f'weight_hh_l{i}').copy_(dl4ts_lstm_blocks(take(f'{k}_RW'), hidden).T)
                    getattr(mod.lstm, f'bias_ih_l{i}').copy_(dl4ts_lstm_blocks(take(f'{k}_b'), hidden))
                    getattr(mod.lstm, f'bias_hh_l{i}').zero_()  # dl4ts has one bias; torch adds two
                continue
            k = keys[0]
            for sub in mod.modules():
                if isinstance(sub, nn.Linear):
                    sub.weight.copy_(take(f'{k}_W').T)  # dl4ts W is [nIn, nOut]
                elif isinstance(sub, nn.Conv2d):
                    sub.weight.copy_(take(f'{k}_W'))
                elif isinstance(sub, (nn.BatchNorm1d, nn.BatchNorm2d)):
                    sub.weight.copy_(take(f'{k}_gamma'))
                    sub.bias.copy_(take(f'{k}_beta'))
                    sub.running_mean.copy_(take(f'{k}_mean'))
                    sub.running_var.copy_(take(f'{k}_var'))
                    continue
                else:
                    continue
                if sub.bias is not None:
                    sub.bias.copy_(take(f'{k}_b'))
    unused = sorted(set(tensors) - used)
    if unused:
        fail('load_dl4ts_parameters', f'dl4ts parameters with no place in the torch model: {unused}')


def check(request):
    """For each model: dl4ts's trained parameters loaded into the torch model (float64, inference mode) must reproduce dl4ts's output."""
    results = {}
    for item in request['models']:
        spec = item['portable']
        try:
            net = PortableNet(spec).double().eval()
            load_dl4ts_parameters(net, {k: v.double() for k, v in read_safetensors(item['weights']).items()})
            x = torch.tensor(item['x']['data'], dtype=torch.float64).reshape(item['x']['shape'])
            t = spec['input']
            if t['kind'] == 'convolutional':
                x = x.reshape(x.shape[0], t['channels'], t['height'], t['width'])
            elif t['kind'] == 'recurrent':
                x = x.transpose(1, 2)  # dl4ts [N, C, T] -> batch-first [N, T, C]
            with torch.no_grad():
                ours = torch.softmax(net(x), -1)
            expected = torch.tensor(item['output'], dtype=torch.float64).reshape(ours.shape)
            results[spec['name']] = {'max_abs_diff': float((ours - expected).abs().max())}
        except Exception as e:
            results[spec['name']] = {'error': f'{type(e).__name__}: {e}'}
    return {'torch': torch.__version__, 'results': results}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'], help='cpu: development check of the model building and training only')
    parser.add_argument('--check', action='store_true', help='compare outputs with dl4ts instead of timing (bench/networks-gpu-check.ts)')
    options = parser.parse_args()
    request = json.load(sys.stdin)
    if options.check:
        print(json.dumps(check(request)))
        return
    dev = torch.device(options.device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    torch.backends.cudnn.benchmark = True
    # FLOAT rows are strict FP32 on both sides (dl4ts's allowTF32 is off): no TF32 in cuBLAS or cuDNN.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out = {'torch': torch.__version__, 'cuda': torch.version.cuda, 'cudnn': torch.backends.cudnn.version(),
           'device': torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu', 'results': {}}
    for spec in request['models']:
        key = f"{spec['name']}/{spec['dtype']}"
        t = time.perf_counter()
        try:
            out['results'][key] = run(spec, request['plan'], dev, sync)
        except Exception as e:  # one failing row (e.g. a dtype cuDNN lacks) must not lose the others
            out['results'][key] = {'error': f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'}
        if dev.type == 'cuda':
            torch.cuda.empty_cache()
        print(f'  torch {key}: {time.perf_counter() - t:.1f} s', file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
