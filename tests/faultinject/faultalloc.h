/*
 * Allocation fault injection for the fault-injection test (faultinject.c).
 *
 * The test program is linked against kiln's static internal library with
 * `-Wl,--wrap=malloc,...` (tests/faultinject/meson.build), so every
 * allocation call made by kiln's own objects goes through the __wrap_*
 * functions of faultalloc.c instead of libc. LLVM, protobuf-c's shared
 * library and libc's internals are untouched: they call the real functions.
 *
 * While armed, the wrappers number the allocations (1, 2, ...) and make the
 * one numbered `fail_at` fail as a real exhausted allocator would (NULL,
 * errno ENOMEM). They also record every block they hand out until it is
 * freed, so after an iteration has destroyed everything it made, any block
 * still recorded is a leak, with the address of the call that made it.
 *
 * One thread at a time (kiln's API calls come from the test's one thread;
 * generated code allocates through libc directly); a mutex guards the
 * table anyway so that a stray call from another thread cannot corrupt it.
 */
#ifndef KILN_TESTS_FAULTINJECT_FAULTALLOC_H
#define KILN_TESTS_FAULTINJECT_FAULTALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts counting from 0 and forgets earlier records; the allocation
 * numbered fail_at fails (0: none does). */
void fa_arm(uint64_t fail_at);
/* Stops counting and injecting; records of live blocks are kept. */
void fa_disarm(void);
/* Allocations counted since fa_arm. */
uint64_t fa_count(void);
/* Whether the injected failure happened since fa_arm, and the address of
 * the call that got it. */
bool fa_failed(uintptr_t *site);

/* Blocks made while armed and not freed yet; their count and, for up to
 * max of them, the calling address and size. */
size_t fa_live(uintptr_t *sites, size_t *sizes, size_t max);
/* Forgets the live records (after reporting them). */
void fa_forget(void);

/* The distinct call addresses seen while armed (kept across fa_arm, until
 * fa_clear_sites), up to max of them; returns how many there are. */
size_t fa_sites(uintptr_t *sites, size_t max);
/* Forgets the call addresses seen so far (between models). */
void fa_clear_sites(void);

/* Address of a call site relative to the executable's load address, the
 * form `addr2line -f -e PROGRAM` takes (a PIE is loaded at a random base). */
uintptr_t fa_site_offset(uintptr_t site);

#endif
