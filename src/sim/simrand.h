/*
 * simrand.h - the simulator's one PRNG (xorshift32): deterministic per seed,
 * so a garbage pattern or a synthetic image can be replayed from its seed.
 * Not for anything that needs real randomness.
 */
#ifndef SIM_SIMRAND_H
#define SIM_SIMRAND_H

#include <stdint.h>

static inline uint32_t xs_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

#endif
