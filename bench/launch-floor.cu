// Host cost floor of a kernel launch from C++ on this machine, timed like bench:gpu's dispatch row (2000 launches,
// then sync; median of 7). Build and run on a GPU machine: nvcc -O2 -o /tmp/launch-floor bench/launch-floor.cu && /tmp/launch-floor
#include <cuda_runtime.h>
#include <cstdio>
#include <chrono>
#include <algorithm>
#include <vector>
__global__ void add(const float* a, const float* b, float* y, long long n, double al, double be) {
  long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (i < n) y[i] = a[i] + b[i];
}
int main() {
  float *a, *b, *y;
  cudaMalloc(&a, 1024); cudaMalloc(&b, 1024); cudaMalloc(&y, 1024);
  cudaStream_t s; cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  for (int i = 0; i < 500; i++) add<<<1, 256, 0, s>>>(a, b, y, 256, 0, 0);
  cudaStreamSynchronize(s);
  std::vector<double> per;
  for (int k = 0; k < 7; k++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 2000; i++) add<<<1, 256, 0, s>>>(a, b, y, 256, 0, 0);
    cudaStreamSynchronize(s);
    per.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 2000);
  }
  std::sort(per.begin(), per.end());
  printf("C++ runtime launch of an add kernel (6 params): %.2f us/launch (median of 7)\n", per[3]);
  std::vector<double> host;
  for (int k = 0; k < 7; k++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; i++) add<<<1, 256, 0, s>>>(a, b, y, 256, 0, 0);
    host.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 200);
    cudaStreamSynchronize(s);
  }
  std::sort(host.begin(), host.end());
  printf("C++ launch, host time only (200 launches, no wait): %.2f us/launch\n", host[3]);
  // The device's own floor: the same 2000 launches recorded in one graph, so no host work sits between kernels.
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed);
  for (int i = 0; i < 2000; i++) add<<<1, 256, 0, s>>>(a, b, y, 256, 0, 0);
  cudaStreamEndCapture(s, &graph);
  cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphLaunch(exec, s);
  cudaStreamSynchronize(s);
  std::vector<double> device;
  for (int k = 0; k < 7; k++) {
    auto t0 = std::chrono::steady_clock::now();
    cudaGraphLaunch(exec, s);
    cudaStreamSynchronize(s);
    device.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 2000);
  }
  std::sort(device.begin(), device.end());
  printf("device time per kernel (2000 in one graph): %.2f us/kernel\n", device[3]);
  return 0;
}
