/* SPDX-License-Identifier: MIT */
#include "tend/config.h"
#include <criterion/criterion.h>
Test(config, placeholder) {}
