/*
 * Integer battery: every RV64IM arithmetic operation over a table of edge values, one checksum line per
 * operation. The host build computes the same lines with C (and __int128, and RISC-V's defined results
 * for division by zero and overflow), so any difference is the guest's.
 */
#include "airlock.h"

static const int64_t EDGE[] = {
    0, 1, -1, 2, -2, 3, 7, -7, 31, 32, 33, 63, 64, 65, 127, -128, 255, 0x7fff, -0x8000, 0xffff,
    0x7fffffff, -0x7fffffff - 1, 0x80000000ll, 0xffffffffll, 0x100000000ll, 0x123456789abcdefll,
    -0x123456789abcdefll, 0x7fffffffffffffffll, -0x7fffffffffffffffll - 1, 0x5555555555555555ll,
    (int64_t)0xaaaaaaaaaaaaaaaaull, (int64_t)0xdeadbeefcafebabeull, 1000000007, -999999937,
};
#define N_EDGE ((int)(sizeof EDGE / sizeof EDGE[0]))

typedef uint64_t (*binop)(uint64_t, uint64_t);

#define I64(x) ((int64_t)(x))
#define U64(x) ((uint64_t)(x))
#define W(x) ((uint64_t)(int64_t)(int32_t)(uint32_t)(x)) /* RV64 *w results: low 32 bits, sign-extended */

#ifdef AIRLOCK_HOST
/* What the RISC-V M extension defines where C leaves it undefined. */
static uint64_t mulh(uint64_t a, uint64_t b) { return U64(((__int128)I64(a) * I64(b)) >> 64); }
static uint64_t mulhu(uint64_t a, uint64_t b) { return U64(((unsigned __int128)a * b) >> 64); }
static uint64_t mulhsu(uint64_t a, uint64_t b) { return U64(((__int128)I64(a) * (unsigned __int128)b) >> 64); }
static uint64_t div_(uint64_t a, uint64_t b) {
    if (b == 0) return ~0ull;
    if (I64(a) == INT64_MIN && I64(b) == -1) return a;
    return U64(I64(a) / I64(b));
}
static uint64_t divu(uint64_t a, uint64_t b) { return b == 0 ? ~0ull : a / b; }
static uint64_t rem(uint64_t a, uint64_t b) {
    if (b == 0) return a;
    if (I64(a) == INT64_MIN && I64(b) == -1) return 0;
    return U64(I64(a) % I64(b));
}
static uint64_t remu(uint64_t a, uint64_t b) { return b == 0 ? a : a % b; }
static uint64_t divw(uint64_t a, uint64_t b) {
    int32_t x = (int32_t)a, y = (int32_t)b;
    if (y == 0) return ~0ull;
    if (x == INT32_MIN && y == -1) return W(x);
    return W(x / y);
}
static uint64_t divuw(uint64_t a, uint64_t b) { return (uint32_t)b == 0 ? ~0ull : W((uint32_t)a / (uint32_t)b); }
static uint64_t remw(uint64_t a, uint64_t b) {
    int32_t x = (int32_t)a, y = (int32_t)b;
    if (y == 0) return W(x);
    if (x == INT32_MIN && y == -1) return 0;
    return W(x % y);
}
static uint64_t remuw(uint64_t a, uint64_t b) { return (uint32_t)b == 0 ? W(a) : W((uint32_t)a % (uint32_t)b); }
#else
/* The instructions themselves, so division by zero and overflow really reach the engine. */
#define RV_OP(name, insn) \
    static uint64_t name(uint64_t a, uint64_t b) { uint64_t r; __asm__(insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
RV_OP(mulh, "mulh")
RV_OP(mulhu, "mulhu")
RV_OP(mulhsu, "mulhsu")
RV_OP(div_, "div")
RV_OP(divu, "divu")
RV_OP(rem, "rem")
RV_OP(remu, "remu")
RV_OP(divw, "divw")
RV_OP(divuw, "divuw")
RV_OP(remw, "remw")
RV_OP(remuw, "remuw")
#endif

/* Operations C defines for every input; the guest compiler picks the RV64 instructions itself. */
static uint64_t add(uint64_t a, uint64_t b) { return a + b; }
static uint64_t sub(uint64_t a, uint64_t b) { return a - b; }
static uint64_t and_(uint64_t a, uint64_t b) { return a & b; }
static uint64_t or_(uint64_t a, uint64_t b) { return a | b; }
static uint64_t xor_(uint64_t a, uint64_t b) { return a ^ b; }
static uint64_t sll(uint64_t a, uint64_t b) { return a << (b & 63); }
static uint64_t srl(uint64_t a, uint64_t b) { return a >> (b & 63); }
static uint64_t sra(uint64_t a, uint64_t b) { return U64(I64(a) >> (b & 63)); }
static uint64_t slt(uint64_t a, uint64_t b) { return I64(a) < I64(b); }
static uint64_t sltu(uint64_t a, uint64_t b) { return a < b; }
static uint64_t mul(uint64_t a, uint64_t b) { return a * b; }
static uint64_t addw(uint64_t a, uint64_t b) { return W((uint32_t)a + (uint32_t)b); }
static uint64_t subw(uint64_t a, uint64_t b) { return W((uint32_t)a - (uint32_t)b); }
static uint64_t sllw(uint64_t a, uint64_t b) { return W((uint32_t)a << (b & 31)); }
static uint64_t srlw(uint64_t a, uint64_t b) { return W((uint32_t)a >> (b & 31)); }
static uint64_t sraw(uint64_t a, uint64_t b) { return W((int32_t)a >> (b & 31)); }
static uint64_t mulw(uint64_t a, uint64_t b) { return W((uint32_t)a * (uint32_t)b); }
static uint64_t min_(uint64_t a, uint64_t b) { return I64(a) < I64(b) ? a : b; }
static uint64_t maxu(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t eq(uint64_t a, uint64_t b) { return a == b; }
static uint64_t sext_b(uint64_t a, uint64_t b) { return U64((int8_t)(a + b)); }
static uint64_t zext_h(uint64_t a, uint64_t b) { return (uint16_t)(a ^ b); }
static uint64_t sext_w(uint64_t a, uint64_t b) { return W(a - b); }
static uint64_t zext_w(uint64_t a, uint64_t b) { return (uint32_t)(a | b); }

static const struct { const char *name; binop op; } OPS[] = {
    {"add", add}, {"sub", sub}, {"and", and_}, {"or", or_}, {"xor", xor_}, {"sll", sll}, {"srl", srl},
    {"sra", sra}, {"slt", slt}, {"sltu", sltu}, {"mul", mul}, {"mulh", mulh}, {"mulhu", mulhu},
    {"mulhsu", mulhsu}, {"div", div_}, {"divu", divu}, {"rem", rem}, {"remu", remu}, {"addw", addw},
    {"subw", subw}, {"sllw", sllw}, {"srlw", srlw}, {"sraw", sraw}, {"mulw", mulw}, {"divw", divw},
    {"divuw", divuw}, {"remw", remw}, {"remuw", remuw}, {"min", min_}, {"maxu", maxu}, {"eq", eq},
    {"sext.b", sext_b}, {"zext.h", zext_h}, {"sext.w", sext_w}, {"zext.w", zext_w},
};
#define N_OPS ((int)(sizeof OPS / sizeof OPS[0]))

/* FNV-1a over the 8 bytes of each result, so one wrong bit anywhere changes the line. */
static uint64_t mix(uint64_t h, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t lcg_state = 0x243f6a8885a308d3ull;
static uint64_t next_random(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return lcg_state ^ (lcg_state >> 29);
}

/* Immediate forms, where the compiler encodes the constant in the instruction (addi, slli, andi, xori, ...). */
static NOINLINE uint64_t immediates(uint64_t a) {
    uint64_t h = 0xcbf29ce484222325ull;
    h = mix(h, a + 2047);
    h = mix(h, a - 2048);
    h = mix(h, a & 0x7f0);
    h = mix(h, a | -16);
    h = mix(h, a ^ -1);
    h = mix(h, a << 13);
    h = mix(h, a >> 47);
    h = mix(h, U64(I64(a) >> 5));
    h = mix(h, I64(a) < -3);
    h = mix(h, a < 100);
    h = mix(h, W((uint32_t)a + 77));
    h = mix(h, W((uint32_t)a << 31));
    h = mix(h, W((uint32_t)a >> 31));
    h = mix(h, W((int32_t)a >> 7));
    h = mix(h, a * 10);
    h = mix(h, a / 10);
    h = mix(h, U64(I64(a) / 7));
    h = mix(h, U64(I64(a) % 1000));
    return h;
}

int main(void) {
    con_puts("integer battery\n");
    uint64_t total = 0xcbf29ce484222325ull;
    for (int k = 0; k < N_OPS; k++) {
        binop op = OPAQUE(OPS[k].op); /* an indirect call keeps each op from being folded into the loop */
        uint64_t h = 0xcbf29ce484222325ull;
        for (int i = 0; i < N_EDGE; i++) {
            for (int j = 0; j < N_EDGE; j++) h = mix(h, op(U64(EDGE[i]), U64(EDGE[j])));
        }
        for (int r = 0; r < 200; r++) {
            uint64_t a = next_random(), b = next_random();
            h = mix(h, op(a, b));
            h = mix(h, op(a >> (r & 63), b >> ((r * 7) & 63)));
        }
        con_printf("%-7s %016lx\n", OPS[k].name, h);
        total = mix(total, h);
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < N_EDGE; i++) h = mix(h, immediates(U64(EDGE[i])));
    con_printf("%-7s %016lx\n", "imm", h);
    total = mix(total, h);

    /* Some plain results, so a reader can check them by eye. */
    con_printf("div(INT64_MIN,-1)=%ld rem=%ld div(5,0)=%ld divu(5,0)=%lx rem(5,0)=%ld\n",
               I64(div_(U64(INT64_MIN), U64(-1))), I64(rem(U64(INT64_MIN), U64(-1))),
               I64(div_(5, 0)), divu(5, 0), I64(rem(5, 0)));
    con_printf("divw(INT32_MIN,-1)=%ld mulh(-1,-1)=%ld mulhu(-1,-1)=%lx mulhsu(-1,-1)=%ld\n",
               I64(divw(U64(INT32_MIN), U64(-1))), I64(mulh(U64(-1), U64(-1))), mulhu(U64(-1), U64(-1)),
               I64(mulhsu(U64(-1), U64(-1))));
    con_printf("min=%ld max=%ld 0x%x %d %u\n", INT64_MIN, INT64_MAX, 0xdeadbeefu, -42, 42u);
    con_printf("checksum %016lx\n", total);
    return 0;
}
