/* SPDX-License-Identifier: MIT */
/* The child environment builder: a base, then overrides in order, a later
 * key replacing an earlier one where it stands. */
#include "core/childenv.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static size_t count(char *const *v) {
  size_t n = 0;
  while (v[n] != NULL)
    n++;
  return n;
}

Test(childenv, base_then_overrides_in_place) {
  char *base[] = {"A=1", "B=2", "C=3", NULL};
  char *over[] = {"B=two", "D=4", "B=zwei", NULL};
  childenv_t e;
  cr_assert_eq(childenv_init(&e, base), 0);
  cr_assert_eq(childenv_setv(&e, over), 0);
  cr_assert_eq(childenv_setf(&e, "E=%d", 5), 0);
  cr_assert_eq(childenv_set(&e, "A="), 0);
  cr_assert_eq(count(e.envp), 5);
  cr_assert_str_eq(e.envp[0], "A=");
  cr_assert_str_eq(e.envp[1], "B=zwei");
  cr_assert_str_eq(e.envp[2], "C=3");
  cr_assert_str_eq(e.envp[3], "D=4");
  cr_assert_str_eq(e.envp[4], "E=5");
  childenv_free(&e);
  cr_assert_null(e.envp);
  childenv_free(&e); /* twice is harmless */
}

Test(childenv, a_key_is_matched_whole) {
  char *base[] = {"PATH=/bin", "PATHX=1", NULL};
  childenv_t e;
  cr_assert_eq(childenv_init(&e, base), 0);
  cr_assert_eq(childenv_set(&e, "PATH=/usr/bin"), 0);
  cr_assert_eq(childenv_set(&e, "PAT=p"), 0);
  cr_assert_eq(count(e.envp), 3);
  cr_assert_str_eq(e.envp[0], "PATH=/usr/bin");
  cr_assert_str_eq(e.envp[1], "PATHX=1");
  cr_assert_str_eq(e.envp[2], "PAT=p");
  childenv_free(&e);
}

Test(childenv, defaults_to_our_environ_and_copies) {
  setenv("TEND_CHILDENV_TEST", "ours", 1);
  childenv_t e;
  cr_assert_eq(childenv_init(&e, NULL), 0);
  cr_assert_eq(childenv_setv(&e, NULL), 0);
  setenv("TEND_CHILDENV_TEST", "changed later", 1);
  bool found = false;
  for (size_t i = 0; e.envp[i] != NULL; i++)
    found = found || strcmp(e.envp[i], "TEND_CHILDENV_TEST=ours") == 0;
  cr_assert(found, "the base is copied when built");
  childenv_free(&e);
}
