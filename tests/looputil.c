/* SPDX-License-Identifier: MIT */
/* Loop helpers: see looputil.h. */
#include "looputil.h"

static void deadline_cb(uv_timer_t *t) {
  *(bool *)t->data = true;
  uv_stop(t->loop);
}

bool lu_run_until(uv_loop_t *loop, const bool *cond, int deadline_ms) {
  bool expired = false;
  uv_timer_t t;
  uv_timer_init(loop, &t);
  t.data = &expired;
  /* The loop's clock stands still while it does not run (a test may have
   * waited for a server meanwhile): the deadline counts from now. */
  uv_update_time(loop);
  uv_timer_start(&t, deadline_cb, (uint64_t)deadline_ms, 0);
  while (!*cond && !expired)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return *cond;
}
