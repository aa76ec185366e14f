/*
 * The machine bound for BENCHMARKS.md: the core's clock and its f32 FMA throughput,
 * measured rather than read from /proc/cpuinfo (under KVM that shows the nominal
 * 2596 MHz, not the boost clock the core runs at).
 *
 *   gcc -O2 -o /tmp/peak bench/peak.c && /tmp/peak
 *
 * Clock: a chain of dependent 1-cycle integer adds runs at one add per cycle, so adds per
 * second of thread CPU time is the clock (the best of 30 runs, to drop preemptions).
 * FMA: 12 independent chains of vfmadd231ps, enough to cover the FMA latency on both
 * pipes, give the sustained f32 multiply-adds per second; divided by the clock, the
 * lanes per cycle (AMD Zen 5: 2 FMA pipes x 16 lanes of a 512-bit register = 32).
 * x86-64 with AVX-512F only; C because inline assembly is `unsafe` in Rust, which the
 * workspace forbids.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <stdint.h>

static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

/* 100 dependent 1-cycle integer adds per iteration. */
static void adds(long n) {
  uint64_t x = 0;
  for (long i = 0; i < n; i++) {
    __asm__ volatile(
#define A "add $1, %0\n\t"
#define A10 A A A A A A A A A A
      A10 A10 A10 A10 A10 A10 A10 A10 A10 A10
      : "+r"(x));
  }
}

/* 12 independent 512-bit FMA chains, 10 rounds per iteration: 120 vfmadd231ps zmm. */
static void fma512(long n) {
  for (long i = 0; i < n; i++) {
    __asm__ volatile(
#define F(r) "vfmadd231ps %%zmm12, %%zmm13, %%zmm" #r "\n\t"
#define R F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11)
      R R R R R R R R R R
      ::: "xmm0","xmm1","xmm2","xmm3","xmm4","xmm5","xmm6","xmm7","xmm8","xmm9","xmm10","xmm11");
  }
}
static void fma256(long n) {
  for (long i = 0; i < n; i++) {
    __asm__ volatile(
#define G(r) "vfmadd231ps %%ymm12, %%ymm13, %%ymm" #r "\n\t"
#define S G(0) G(1) G(2) G(3) G(4) G(5) G(6) G(7) G(8) G(9) G(10) G(11)
      S S S S S S S S S S
      ::: "xmm0","xmm1","xmm2","xmm3","xmm4","xmm5","xmm6","xmm7","xmm8","xmm9","xmm10","xmm11");
  }
}

static double best(void (*f)(long), long n, clockid_t c) {
  double b = 1e9;
  for (int t = 0; t < 30; t++) {
    double s = now(c); f(n); double e = now(c) - s;
    if (e < b) b = e;
  }
  return b;
}

int main(void) {
  const long n = 2000000;
  double t_add = best(adds, n, CLOCK_THREAD_CPUTIME_ID);
  double ghz = 100.0 * n / t_add * 1e-9;
  double t_add_wall = best(adds, n, CLOCK_MONOTONIC);
  printf("clock: %.3f GHz (thread CPU time), %.3f GHz (wall), from 1-cycle dependent adds\n",
         ghz, 100.0 * n / t_add_wall * 1e-9);
  double t512 = best(fma512, n, CLOCK_THREAD_CPUTIME_ID);
  double t256 = best(fma256, n, CLOCK_THREAD_CPUTIME_ID);
  double f512 = 120.0 * n * 16 / t512, f256 = 120.0 * n * 8 / t256;
  printf("zmm FMA: %.1f GFMA/s = %.1f f32 FMA lanes/cycle (%.2f instructions/cycle)\n",
         f512 * 1e-9, f512 / (ghz * 1e9), f512 / 16 / (ghz * 1e9));
  printf("ymm FMA: %.1f GFMA/s = %.1f f32 FMA lanes/cycle (%.2f instructions/cycle)\n",
         f256 * 1e-9, f256 / (ghz * 1e9), f256 / 8 / (ghz * 1e9));
  return 0;
}
