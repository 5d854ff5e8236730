/* SPDX-License-Identifier: MIT */
/*
 * tend demo subprocess — the tutorial's 多进程 › subprocess:
 *
 *     p = subprocess.Popen(['nslookup'], stdin=subprocess.PIPE,
 *                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
 *     output, err = p.communicate(b'set q=mx\npython.org\nexit\n')
 *     print(output.decode('utf-8'))
 *     print('Exit code:', p.returncode)
 *
 * The same input goes to `sort -r`, a command every machine has (nslookup
 * needs a network). communicate() is tend's own engine, tend_communicate()
 * (include/tend/communicate.h), the one behind `tend run`: it writes the
 * input while it reads stdout and stderr, all on one libuv loop, so neither
 * side can fill a pipe and wait for the other forever, which is the
 * deadlock communicate() exists to avoid.
 *
 * What C changes: nothing is hidden in an object; the result is a struct
 * with both outputs, the exit status or the signal, and the time taken.
 */
#include "demo.h"

#include "tend/communicate.h"

#include <stdio.h>
#include <string.h>

int demo_subprocess(const struct demo_opts *o) {
  (void)o;
  static const char input[] = "set q=mx\npython.org\nexit\n";
  char *argv[] = {"sort", "-r", NULL};

  printf("$ printf 'set q=mx\\npython.org\\nexit\\n' | sort -r\n");
  tend_proc_options_t popts = {.argv = argv};
  tend_comm_opts_t copts = {
      .has_input = true,
      .input = input,
      .input_len = strlen(input),
      .input_fd = -1,
      .out_fd = {-1, -1}, /* capture both, as stdout=PIPE, stderr=PIPE */
  };
  tend_comm_result_t res;
  memset(&res, 0, sizeof(res));
  int r = tend_communicate(&popts, &copts, &res);
  if (r != 0 || res.spawn_error != 0) {
    fprintf(stderr, "tend demo subprocess: cannot run sort: %s\n",
            uv_strerror(r != 0 ? r : res.spawn_error));
    tend_comm_result_free(&res);
    return 1;
  }
  if (res.out[0].len > 0)
    fwrite(res.out[0].data, 1, res.out[0].len, stdout);
  if (res.out[1].len > 0)
    fwrite(res.out[1].data, 1, res.out[1].len, stderr);
  printf("Exit code: %d\n", tend_comm_status(&res));
  printf("(from the shell: tend run --show-exit --input $'set q=mx\\npython.org\\nexit\\n'"
         " -- sort -r)\n");
  tend_comm_result_free(&res);
  return 0;
}
