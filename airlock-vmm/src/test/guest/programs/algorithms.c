/*
 * Algorithm kernels with known answers: SHA-256, CRC-32, quicksort, a matrix product and a bignum
 * factorial. The host build prints the same lines, so a wrong result in the guest shows as a diff.
 */
#include "airlock.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* ---- SHA-256 (FIPS 180-4) */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256(const uint8_t *data, size_t len, uint8_t out[32]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= len; i += 64) sha256_block(h, data + i);
    uint8_t tail[128] = {0};
    size_t rest = len - i;
    for (size_t k = 0; k < rest; k++) tail[k] = data[i + k];
    tail[rest] = 0x80;
    size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++) tail[tail_len - 1 - k] = (uint8_t)(bits >> (8 * k));
    for (size_t k = 0; k < tail_len; k += 64) sha256_block(h, tail + k);
    for (int k = 0; k < 8; k++) {
        out[4 * k] = (uint8_t)(h[k] >> 24); out[4 * k + 1] = (uint8_t)(h[k] >> 16);
        out[4 * k + 2] = (uint8_t)(h[k] >> 8); out[4 * k + 3] = (uint8_t)h[k];
    }
}

static void print_hex(const char *label, const uint8_t *b, int n) {
    con_puts(label);
    for (int i = 0; i < n; i++) con_printf("%02x", b[i]);
    con_putc('\n');
}

/* ---- CRC-32 (IEEE 802.3, reflected, table-driven) */

static uint32_t crc_table[256];

static void crc32_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

/* ---- Quicksort with a comparison callback, as libc's qsort (median of three, insertion sort for short runs) */

typedef int (*compare_fn)(const void *, const void *);

static void swap_bytes(uint8_t *a, uint8_t *b, size_t size) {
    for (size_t i = 0; i < size; i++) { uint8_t t = a[i]; a[i] = b[i]; b[i] = t; }
}

static void quicksort(void *base, size_t n, size_t size, compare_fn cmp) {
    uint8_t *a = base;
    while (n > 12) {
        uint8_t *lo = a, *mid = a + (n / 2) * size, *hi = a + (n - 1) * size;
        if (cmp(mid, lo) < 0) swap_bytes(mid, lo, size);
        if (cmp(hi, mid) < 0) swap_bytes(hi, mid, size);
        if (cmp(mid, lo) < 0) swap_bytes(mid, lo, size);
        swap_bytes(mid, a, size); /* pivot to the front */
        size_t i = 1, j = n - 1;
        for (;;) {
            while (i <= j && cmp(a + i * size, a) < 0) i++;
            while (j >= i && cmp(a + j * size, a) > 0) j--;
            if (i >= j) break;
            swap_bytes(a + i * size, a + j * size, size);
            i++; j--;
        }
        swap_bytes(a, a + j * size, size);
        /* Recurse into the smaller side, loop on the larger: bounded stack depth. */
        if (j < n - j - 1) {
            quicksort(a, j, size, cmp);
            a += (j + 1) * size; n -= j + 1;
        } else {
            quicksort(a + (j + 1) * size, n - j - 1, size, cmp);
            n = j;
        }
    }
    for (size_t i = 1; i < n; i++) {
        for (size_t k = i; k > 0 && cmp(a + (k - 1) * size, a + k * size) > 0; k--) swap_bytes(a + (k - 1) * size, a + k * size, size);
    }
}

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* ---- Bignum factorial in base 10^9 limbs, printed in decimal */

#define LIMBS 160 /* 500! has 1135 digits: 127 limbs */
static void factorial(int n, uint32_t *limbs, int *count) {
    limbs[0] = 1;
    *count = 1;
    for (int f = 2; f <= n; f++) {
        uint64_t carry = 0;
        for (int i = 0; i < *count; i++) {
            uint64_t v = (uint64_t)limbs[i] * (uint64_t)f + carry;
            limbs[i] = (uint32_t)(v % 1000000000u);
            carry = v / 1000000000u;
        }
        while (carry) {
            limbs[(*count)++] = (uint32_t)(carry % 1000000000u);
            carry /= 1000000000u;
        }
    }
}

#define DIM 24
static int64_t ma[DIM][DIM], mb[DIM][DIM], mc[DIM][DIM];
static uint8_t buffer[48 * 1024];
static int64_t sort_i64[6000];
static uint32_t sort_u32[4000];

int main(void) {
    con_puts("algorithms\n");
    uint8_t digest[32];

    sha256((const uint8_t *)"abc", 3, digest);
    print_hex("sha256(abc) ", digest, 32);
    sha256((const uint8_t *)"", 0, digest);
    print_hex("sha256() ", digest, 32);
    for (size_t i = 0; i < sizeof buffer; i++) buffer[i] = (uint8_t)(next_random() >> 56);
    sha256(buffer, sizeof buffer, digest);
    print_hex("sha256(buffer) ", digest, 32);
    sha256(buffer + 3, 1000, digest); /* unaligned start, length that pads into a second block */
    print_hex("sha256(buffer+3, 1000) ", digest, 32);

    crc32_init();
    con_printf("crc32(123456789) %08x\n", crc32((const uint8_t *)"123456789", 9));
    con_printf("crc32(buffer) %08x\n", crc32(buffer, sizeof buffer));

    for (size_t i = 0; i < 6000; i++) sort_i64[i] = (int64_t)next_random() >> (i % 40);
    quicksort(sort_i64, 6000, sizeof sort_i64[0], cmp_i64);
    int sorted = 1;
    uint64_t h = 0;
    for (size_t i = 0; i < 6000; i++) {
        if (i > 0 && sort_i64[i - 1] > sort_i64[i]) sorted = 0;
        h = h * 31 + (uint64_t)sort_i64[i];
    }
    con_printf("qsort i64 sorted=%d min=%ld median=%ld max=%ld hash=%016lx\n", sorted, sort_i64[0], sort_i64[3000], sort_i64[5999], h);
    for (size_t i = 0; i < 4000; i++) sort_u32[i] = (uint32_t)(next_random() % 1000); /* many duplicates */
    quicksort(sort_u32, 4000, sizeof sort_u32[0], cmp_u32);
    sorted = 1;
    h = 0;
    for (size_t i = 0; i < 4000; i++) {
        if (i > 0 && sort_u32[i - 1] > sort_u32[i]) sorted = 0;
        h = h * 31 + sort_u32[i];
    }
    con_printf("qsort u32 sorted=%d first=%u last=%u hash=%016lx\n", sorted, sort_u32[0], sort_u32[3999], h);

    for (int i = 0; i < DIM; i++) {
        for (int j = 0; j < DIM; j++) {
            ma[i][j] = (int64_t)(next_random() % 2001) - 1000;
            mb[i][j] = (int64_t)(next_random() % 2001) - 1000;
        }
    }
    for (int rep = 0; rep < 3; rep++) { /* C = A*B, then A = C to grow the entries past 32 bits */
        for (int i = 0; i < DIM; i++) {
            for (int j = 0; j < DIM; j++) {
                int64_t s = 0;
                for (int k = 0; k < DIM; k++) s += ma[i][k] * mb[k][j];
                mc[i][j] = s;
            }
        }
        h = 0;
        for (int i = 0; i < DIM; i++) for (int j = 0; j < DIM; j++) { h = h * 1000003 + (uint64_t)mc[i][j]; ma[i][j] = mc[i][j]; }
        con_printf("matmul %d c[0][0]=%ld c[%d][%d]=%ld hash=%016lx\n", rep, mc[0][0], DIM - 1, DIM - 1, mc[DIM - 1][DIM - 1], h);
    }

    uint32_t limbs[LIMBS];
    int count;
    factorial(100, limbs, &count);
    con_printf("100! = %u", limbs[count - 1]);
    for (int i = count - 2; i >= 0; i--) con_printf("%09u", limbs[i]);
    con_putc('\n');
    factorial(500, limbs, &count);
    h = 0;
    for (int i = 0; i < count; i++) h = h * 1000000007 + limbs[i];
    con_printf("500! limbs=%d top=%u hash=%016lx\n", count, limbs[count - 1], h);
    return 0;
}
