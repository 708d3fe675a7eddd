/*
 * fuzz.h: the entry points every fuzz target defines (libFuzzer's), declared
 * once. The same targets run under libFuzzer (make fuzz, clang) and, linked
 * with replay.c, over their kept corpus in make test (any compiler).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Optional: set-up once per process. */
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));
/* One input; returns 0. A bug is a crash or a sanitizer report. */
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#endif
