#include <criterion/criterion.h>
Test(placeholder, t) { cr_assert(1); }
