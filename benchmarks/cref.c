/* The C reference for bench_engine.py: heavy-ball gradient descent for many runs at once,
 * the engine's work and nothing more, single thread, float32.
 *
 * Built by bench_engine.py at bench time with `cc -O3 -march=native -shared -fPIC` and
 * called through ctypes. Same rule as the engine: one loss-and-gradient evaluation per step
 * (the new point's loss for the validity check and the next step's gradient come together),
 *
 *     v <- g + beta * v,   p_new <- p - lr * v,   (f_new, g_new) <- f(p_new), grad f(p_new)
 *     ok = isfinite(f_new) & |x_new - cx| <= h & |y_new - cy| <= h
 *
 * and a run is frozen (x, y, v, f, g kept) from the first step that is not ok, which is
 * recorded in dead[i] (-1 where none). The loop runs over steps outside and runs inside so
 * the compiler vectorises across runs (AVX2 blends for the freezing). With keep_path the
 * path is written time-major, one row of n per step: xs, ys, fs of shape (steps + 1, n),
 * exactly the engine kernel's output; without it only the final x, y, f are written
 * (rows 0 of xs, ys, fs). Rates are one constant per run (the engine reads a rate table).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* family 0: Rosenbrock, p = (a, b): f = (a - x)^2 + b (y - x^2)^2.
 * family 1: rotated quadratic, p = (a, b, angle): f = 0.5 (a u^2 + b v^2), (u, v) = R (x, y). */
static inline void loss_grad(int family, const float *p, float x, float y,
                             float *f, float *gx, float *gy) {
    if (family == 0) {
        float ax = p[0] - x, r = y - x * x;
        *f = ax * ax + p[1] * r * r;
        *gx = -2.0f * ax - 4.0f * p[1] * x * r;
        *gy = 2.0f * p[1] * r;
    } else {
        float c = p[3], s = p[4]; /* cos, sin of the angle, precomputed by the caller */
        float u = c * x + s * y, v = -s * x + c * y;
        float gu = p[0] * u, gv = p[1] * v;
        *f = 0.5f * (gu * u + gv * v);
        *gx = c * gu - s * gv;
        *gy = s * gu + c * gv;
    }
}

/* One step for runs [0, n): state updated in place, the path row written to ox, oy, of.
 * Not inlined, so the restrict qualifiers survive and GCC vectorises without alias checks;
 * STEP(name, family) makes one copy per loss family. */
#define STEP(NAME, FAMILY)                                                                   \
static __attribute__((noinline)) void NAME(                                                  \
        const float *restrict p, int n, int k, const float *restrict lr,                     \
        const float *restrict beta, const float *restrict box, float cx, float cy,           \
        float *restrict x, float *restrict y, float *restrict vx, float *restrict vy,        \
        float *restrict f, float *restrict gx, float *restrict gy, int32_t *restrict dead,   \
        float *restrict ox, float *restrict oy, float *restrict of) {                        \
    for (int i = 0; i < n; i++) {                                                            \
        float nvx = gx[i] + beta[i] * vx[i], nvy = gy[i] + beta[i] * vy[i];                  \
        float nx = x[i] - lr[i] * nvx, ny = y[i] - lr[i] * nvy;                              \
        float nf, ngx, ngy;                                                                  \
        loss_grad(FAMILY, p, nx, ny, &nf, &ngx, &ngy);                                       \
        int ok = (fabsf(nf) <= 3.402823466e38f) & (fabsf(nx - cx) <= box[i])                 \
                 & (fabsf(ny - cy) <= box[i]); /* NaN fails every comparison */              \
        int32_t d = dead[i];                                                                 \
        int move = (d < 0) & ok;                                                             \
        dead[i] = ((d < 0) & !ok) ? k + 1 : d;                                               \
        x[i] = move ? nx : x[i];                                                             \
        y[i] = move ? ny : y[i];                                                             \
        vx[i] = move ? nvx : vx[i];                                                          \
        vy[i] = move ? nvy : vy[i];                                                          \
        f[i] = move ? nf : f[i];                                                             \
        gx[i] = move ? ngx : gx[i];                                                          \
        gy[i] = move ? ngy : gy[i];                                                          \
        ox[i] = x[i];                                                                        \
        oy[i] = y[i];                                                                        \
        of[i] = f[i];                                                                        \
    }                                                                                        \
}
STEP(step_rosenbrock, 0)
STEP(step_quadratic, 1)

static inline __attribute__((always_inline)) void run(
        int family, int n, int steps, const float *lr, const float *beta, const float *box,
        float x0, float y0, const float *params, float cx, float cy, float *xs, float *ys,
        float *fs, int32_t *dead, int keep_path) {
    float p[5] = {params[0], params[1], 0.0f, 1.0f, 0.0f};
    if (family == 1) {
        p[3] = cosf(params[2]);
        p[4] = sinf(params[2]);
    }
    float *buf = malloc(sizeof(float) * 7 * (size_t)n);
    float *x = buf, *y = buf + n, *vx = buf + 2 * n, *vy = buf + 3 * n, *f = buf + 4 * n,
          *gx = buf + 5 * n, *gy = buf + 6 * n;
    float f0, gx0, gy0;
    loss_grad(family, p, x0, y0, &f0, &gx0, &gy0);
    for (int i = 0; i < n; i++) {
        x[i] = x0; y[i] = y0; vx[i] = 0.0f; vy[i] = 0.0f;
        f[i] = f0; gx[i] = gx0; gy[i] = gy0; dead[i] = -1;
        xs[i] = x0; ys[i] = y0; fs[i] = f0;
    }
    for (int k = 0; k < steps; k++) {
        size_t row = keep_path ? (size_t)(k + 1) * n : 0; /* final only: row 0 is overwritten */
        (family == 0 ? step_rosenbrock : step_quadratic)(p, n, k, lr, beta, box, cx, cy, x, y, vx, vy, f, gx, gy, dead,
             xs + row, ys + row, fs + row);
    }
    free(buf);
}

void heavy_ball(int family, int n, int steps, const float *lr, const float *beta,
                const float *box, float x0, float y0, const float *params, float cx, float cy,
                float *xs, float *ys, float *fs, int32_t *dead, int keep_path) {
    /* Two copies so the compiler specialises each loop body for its family. */
    if (family == 0)
        run(0, n, steps, lr, beta, box, x0, y0, params, cx, cy, xs, ys, fs, dead, keep_path);
    else
        run(1, n, steps, lr, beta, box, x0, y0, params, cx, cy, xs, ys, fs, dead, keep_path);
}
