/* Tiled wavefront (dispatch benchmarks): `sweeps` sweeps (scalar, default 10) over a grid of
 * `tiles` x `tiles` tiles (scalar, default 10) of one tensor t [R, C] (R and C multiples of
 * `tiles`). Task (s, i, j) reads tiles (i - 1, j) and (i, j - 1) and updates tile (i, j) in
 * place, with the mark kernel (func_id 1), which does no work. Its dependencies come from the tile
 * views alone: the two tiles it reads as written in this sweep (RAW), its own tile's previous
 * update (WAW), and the previous sweep's readers of its tile, tasks (s - 1, i + 1, j) and (s - 1,
 * i, j + 1) (WAR). With the optional i32 tensor `marks` [tasks, 2], task k also gets row k of it,
 * where the kernel leaves its mark. */
#include "../orch_util.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t t, marks;
  if (api->get_tensor_arg(ctx, "t", &t) || t.ndim != 2) return 1;
  const int64_t tiles = int_arg(api, ctx, "tiles", 10), sweeps = int_arg(api, ctx, "sweeps", 10);
  if (t.shape[0] % tiles != 0 || t.shape[1] % tiles != 0) return 2;
  const int64_t rows = t.shape[0] / tiles, cols = t.shape[1] / tiles;
  const int marked = marks_arg(api, ctx, sweeps * tiles * tiles, &marks);
  if (marked < 0) return 3;
  for (int64_t s = 0; s < sweeps; ++s) {
    for (int64_t i = 0; i < tiles; ++i) {
      for (int64_t j = 0; j < tiles; ++j) {
        chiprt_param_t p[4];
        uint32_t count = 0;
        p[count++] = inout_p(tile2d(&t, i * rows, rows, j * cols, cols));
        if (i > 0) p[count++] = in_p(tile2d(&t, (i - 1) * rows, rows, j * cols, cols));
        if (j > 0) p[count++] = in_p(tile2d(&t, i * rows, rows, (j - 1) * cols, cols));
        if (marked) p[count++] = mark_p(&marks, (s * tiles + i) * tiles + j);
        const int32_t rc = submit(api, ctx, 1, CHIPRT_CORE_AIV, p, count);
        if (rc) return rc;
      }
    }
  }
  return 0;
}
