/* The C floor: a plain breadth-first search over the packed engine's step
 * tables, for `make bench` only (bench/cfloor.py exports the tables and
 * builds this file with the machine's cc).
 *
 * The search the packed engine makes, without NumPy and without checks:
 * a state is the engine's 64-bit code; each event instance turns it into
 * its successor by one XOR with a mask looked up by the (device, queue)
 * cell of its target queue, or, for an instance on every queue, the sum of
 * one mask per queue; bit 63 of the mask marks an instance not offered.
 * The visited set is an open-addressing hash table (linear probing,
 * Fibonacci hashing, at most half full), and every stored state keeps its
 * parent's number and the instance that reached it, as the engine does.
 * Prints one JSON line: states, transitions, depth, seconds (CPU) and
 * peak resident memory (VmHWM, KiB).
 *
 * Input (little-endian, all uint64): magic, dev_bits, queue_bits, queues,
 * cells (devices * singles), singles, instances, starts; then per instance
 * its target (2^64-1: every queue) and its masks (cells of them, or
 * queues * cells for an instance on every queue, queue-major); then the
 * start codes.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAGIC 0x726f6f6c66632d31ULL /* "1-cfloor" */
#define EMPTY UINT64_MAX
#define OFF (1ULL << 63)

static uint64_t word(FILE *in) {
    uint64_t x;
    if (fread(&x, sizeof x, 1, in) != 1) {
        fprintf(stderr, "cfloor: truncated table file\n");
        exit(2);
    }
    return x;
}

static void *grab(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "cfloor: out of memory\n");
        exit(3);
    }
    return p;
}

typedef struct {
    uint64_t *slots;
    uint64_t mask;
    unsigned bits;
    uint64_t size;
} set_t;

static uint64_t slot_of(const set_t *s, uint64_t code) {
    return (code * 0x9E3779B97F4A7C15ULL) >> (64 - s->bits);
}

static void set_init(set_t *s, unsigned bits) {
    s->bits = bits;
    s->mask = (1ULL << bits) - 1;
    s->size = 0;
    s->slots = grab(sizeof(uint64_t) << bits);
    memset(s->slots, 0xff, sizeof(uint64_t) << bits);
}

/* 1 when code was new (and is now in the set) */
static int set_add(set_t *s, uint64_t code);

static void set_grow(set_t *s) {
    set_t bigger;
    set_init(&bigger, s->bits + 1);
    for (uint64_t i = 0; i <= s->mask; i++)
        if (s->slots[i] != EMPTY) set_add(&bigger, s->slots[i]);
    free(s->slots);
    *s = bigger;
}

static int set_add(set_t *s, uint64_t code) {
    uint64_t i = slot_of(s, code);
    for (;;) {
        uint64_t held = s->slots[i];
        if (held == code) return 0;
        if (held == EMPTY) break;
        i = (i + 1) & s->mask;
    }
    s->slots[i] = code;
    if (2 * ++s->size > s->mask + 1) set_grow(s);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cfloor TABLES\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    if (!in) {
        perror(argv[1]);
        return 2;
    }
    if (word(in) != MAGIC) {
        fprintf(stderr, "cfloor: %s is not a table file\n", argv[1]);
        return 2;
    }
    uint64_t dev_bits = word(in), queue_bits = word(in), queues = word(in);
    uint64_t cells = word(in), singles = word(in), instances = word(in), nstarts = word(in);
    int64_t *target = grab(instances * sizeof *target);
    uint64_t **masks = grab(instances * sizeof *masks);
    for (uint64_t i = 0; i < instances; i++) {
        uint64_t t = word(in);
        target[i] = t == EMPTY ? -1 : (int64_t)t;
        uint64_t n = t == EMPTY ? queues * cells : cells;
        masks[i] = grab(n * sizeof(uint64_t));
        if (fread(masks[i], sizeof(uint64_t), n, in) != n) {
            fprintf(stderr, "cfloor: truncated table file\n");
            return 2;
        }
    }
    uint64_t dev_mask = (1ULL << dev_bits) - 1, queue_mask = (1ULL << queue_bits) - 1;

    uint64_t cap = 1 << 20, count = 0;
    uint64_t *codes = grab(cap * sizeof *codes);
    uint32_t *parent = grab(cap * sizeof *parent), *label = grab(cap * sizeof *label);
    set_t seen;
    set_init(&seen, 20);
    for (uint64_t i = 0; i < nstarts; i++) {
        uint64_t code = word(in);
        if (set_add(&seen, code)) {
            codes[count] = code, parent[count] = 0, label[count] = 0;
            count++;
        }
    }
    fclose(in);

    clock_t began = clock();
    uint64_t transitions = 0, depth = 0, level_end = count;
    uint64_t *cell = grab(queues * sizeof *cell);
    for (uint64_t at = 0; at < count; at++) {
        if (at == level_end) {
            depth++;
            level_end = count;
        }
        uint64_t code = codes[at], device = code & dev_mask;
        for (uint64_t q = 0; q < queues; q++)
            cell[q] = device * singles + ((code >> (dev_bits + q * queue_bits)) & queue_mask);
        for (uint64_t i = 0; i < instances; i++) {
            uint64_t delta;
            if (target[i] >= 0) {
                delta = masks[i][cell[target[i]]];
            } else {
                delta = 0;
                for (uint64_t q = 0; q < queues; q++) delta += masks[i][q * cells + cell[q]];
            }
            if (delta & OFF) continue;
            transitions++;
            uint64_t next = code ^ delta;
            if (next == code || !set_add(&seen, next)) continue;
            if (count == cap) {
                cap *= 2;
                codes = realloc(codes, cap * sizeof *codes);
                parent = realloc(parent, cap * sizeof *parent);
                label = realloc(label, cap * sizeof *label);
                if (!codes || !parent || !label) {
                    fprintf(stderr, "cfloor: out of memory\n");
                    return 3;
                }
            }
            codes[count] = next, parent[count] = (uint32_t)at, label[count] = (uint32_t)i;
            count++;
        }
    }
    double seconds = (double)(clock() - began) / CLOCKS_PER_SEC;

    long hwm = 0;
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "VmHWM:", 6)) hwm = strtol(line + 6, NULL, 10);
    if (status) fclose(status);
    printf("{\"states\": %" PRIu64 ", \"transitions\": %" PRIu64 ", \"depth\": %" PRIu64
           ", \"seconds\": %.3f, \"peak_kib\": %ld}\n",
           count, transitions, depth, seconds, hwm);
    return 0;
}
