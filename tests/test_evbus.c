/* SPDX-License-Identifier: MIT */
/*
 * The event types (core/evtype.c) and the bus (daemon/events.c) on a loop
 * of their own: which types a parent covers, the order subscribers hear
 * an event in, the global serial, and the tick timer, armed only while
 * some subscriber takes ticks (an idle daemon never wakes up for them).
 */
#include "core/evtype.h"
#include "daemon/events.h"
#include "looputil.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(evbus, .timeout = 30);

Test(evbus, parents_cover_their_children_and_names_any_case) {
  cr_assert_eq(evtype_find("process_state_running"), EV_PROCESS_STATE_RUNNING);
  cr_assert_eq(evtype_find("NO_SUCH"), -1);
  uint32_t st = evtype_covers(EV_PROCESS_STATE);
  for (int t = 0; t < EV_NTYPES; t++) {
    bool child = strncmp(evtype_name((evtype_t)t), "PROCESS_STATE", 13) == 0;
    cr_assert_eq(!!(st & EV_BIT(t)), child, "%s", evtype_name((evtype_t)t));
  }
  cr_assert_eq(evtype_covers(EV_TICK), EV_BIT(EV_TICK) | EV_BIT(EV_TICK_5) | EV_BIT(EV_TICK_60) |
                                           EV_BIT(EV_TICK_3600));
  cr_assert_eq(evtype_covers(EV_EVENT), (uint32_t)(EV_BIT(EV_NTYPES) - 1));
  cr_assert(evtype_is(EV_PROCESS_LOG_STDERR, EV_PROCESS_LOG));
  cr_assert(!evtype_is(EV_PROCESS_LOG_STDERR, EV_PROCESS_COMMUNICATION));
}

static char heard[256];

static void note_cb(evsub_t *s, evt_t *ev) {
  char line[96];
  snprintf(line, sizeof(line), "%s:%s:%zu;", s->passive ? "p" : "a", evtype_name(ev->type),
           ev->chars);
  strncat(heard, line, sizeof(heard) - strlen(heard) - 1);
}

static void closed(uv_loop_t *loop, evbus_t *b) {
  evbus_close(b);
  uv_run(loop, UV_RUN_DEFAULT);
  cr_expect(uv_loop_close(loop) == 0, "handles left open on the loop");
}

Test(evbus, subscribers_in_order_and_only_their_types) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  evbus_t b;
  evbus_init(&b, &loop);
  evsub_t all = {.types = evtype_covers(EV_EVENT), .passive = true, .fn = note_cb};
  evsub_t st = {.types = evtype_covers(EV_PROCESS_STATE), .fn = note_cb};
  evbus_subscribe(&b, &all);
  evbus_subscribe(&b, &st);
  heard[0] = '\0';
  evbus_emit(&b, EV_PROCESS_STATE_RUNNING, "caf\xc3\xa9", 5);
  evbus_emit(&b, EV_REMOTE_COMMUNICATION, "x", 1);
  cr_assert_str_eq(heard, "p:PROCESS_STATE_RUNNING:4;a:PROCESS_STATE_RUNNING:4;"
                          "p:REMOTE_COMMUNICATION:1;");
  evbus_unsubscribe(&b, &st);
  evbus_unsubscribe(&b, &all);
  cr_assert(!evbus_wanted(&b, EV_TICK_5));
  closed(&loop, &b);
}

static uint64_t serials[4];
static int nserials;
static evbus_t *the_bus;

static void serial_cb(evsub_t *s, evt_t *ev) {
  (void)s;
  serials[nserials++] = evbus_serial(the_bus, ev);
  evbus_serial(the_bus, ev); /* once given, it stays */
}

Test(evbus, the_global_serial_counts_events_taken_from_0) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  evbus_t b;
  evbus_init(&b, &loop);
  the_bus = &b;
  evsub_t s = {.types = EV_BIT(EV_TICK_60), .fn = serial_cb};
  evbus_subscribe(&b, &s);
  evbus_emit(&b, EV_TICK_60, "when:60", 7);
  evbus_emit(&b, EV_TICK_5, "when:5", 6); /* nobody takes it: no serial */
  evbus_emit(&b, EV_TICK_60, "when:120", 8);
  cr_assert_eq(nserials, 2);
  cr_assert_eq(serials[0], 0);
  cr_assert_eq(serials[1], 1);
  evbus_unsubscribe(&b, &s);
  closed(&loop, &b);
}

static bool ticked;

static void tick_cb(evsub_t *s, evt_t *ev) {
  (void)s;
  long when = atol(ev->payload + 5);
  cr_assert(strncmp(ev->payload, "when:", 5) == 0 && when % 5 == 0, "%s", ev->payload);
  ticked = true;
}

Test(evbus, the_tick_timer_runs_only_while_ticks_are_taken) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  evbus_t b;
  evbus_init(&b, &loop);
  evsub_t rec = {.types = evtype_covers(EV_EVENT), .passive = true, .fn = note_cb};
  evbus_subscribe(&b, &rec);
  cr_assert(!uv_is_active((uv_handle_t *)&b.tick), "a recorder keeps no tick running");
  evsub_t st = {.types = evtype_covers(EV_PROCESS_STATE), .fn = note_cb};
  evbus_subscribe(&b, &st);
  cr_assert(!uv_is_active((uv_handle_t *)&b.tick));
  evsub_t t5 = {.types = EV_BIT(EV_TICK_5), .fn = tick_cb};
  evbus_subscribe(&b, &t5);
  cr_assert(uv_is_active((uv_handle_t *)&b.tick));
  cr_assert_leq(uv_timer_get_due_in(&b.tick), 5001);
  cr_assert(lu_run_until(&loop, &ticked, 7000), "no TICK_5 within a period");
  cr_assert(uv_is_active((uv_handle_t *)&b.tick), "armed again for the next one");
  evbus_unsubscribe(&b, &t5);
  cr_assert(!uv_is_active((uv_handle_t *)&b.tick));
  evbus_unsubscribe(&b, &st);
  evbus_unsubscribe(&b, &rec);
  closed(&loop, &b);
}
