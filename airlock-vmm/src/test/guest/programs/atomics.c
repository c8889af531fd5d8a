/*
 * The A extension on one hart: every AMO (.w and .d, with the .w result sign-extended), LR/SC loops,
 * the SC failures the spec requires, compiler-built atomics (CAS and sub-word loops), and misaligned
 * AMO/LR, which must trap. Self-checking: every check prints FAIL on a mismatch; main returns the count.
 */
#include "airlock.h"

static int checks, failures;

static void check(const char *what, uint64_t got, uint64_t want) {
    checks++;
    if (got != want) {
        failures++;
        con_printf("FAIL %s: got 0x%lx want 0x%lx\n", what, got, want);
    }
}

#define AMO_D(insn, ptr, val) ({ uint64_t old_; __asm__ volatile(insn " %0, %2, (%1)" : "=r"(old_) : "r"(ptr), "r"((uint64_t)(val)) : "memory"); old_; })
#define AMO_W(insn, ptr, val) ({ uint64_t old_; __asm__ volatile(insn " %0, %2, (%1)" : "=r"(old_) : "r"(ptr), "r"((uint64_t)(val)) : "memory"); old_; })

static volatile uint64_t cell64 __attribute__((aligned(64)));
static volatile uint32_t cell32[4] __attribute__((aligned(64)));
static volatile uint64_t far_cell[1024] __attribute__((aligned(4096))); /* another reservation set entirely */

#define SX32(x) ((uint64_t)(int64_t)(int32_t)(x))

static void amo_doubleword(void) {
    volatile uint64_t *p = &cell64;
    *p = 10;
    check("amoswap.d old", AMO_D("amoswap.d", p, 0x8000000000000001ull), 10);
    check("amoswap.d new", *p, 0x8000000000000001ull);
    check("amoadd.d old", AMO_D("amoadd.d", p, -2), 0x8000000000000001ull);
    check("amoadd.d new", *p, 0x7fffffffffffffffull);
    check("amoxor.d old", AMO_D("amoxor.d.aq", p, 0xff00ff00ff00ff00ull), 0x7fffffffffffffffull);
    check("amoxor.d new", *p, 0x80ff00ff00ff00ffull);
    check("amoand.d old", AMO_D("amoand.d.rl", p, 0xf0f0f0f0f0f0f0f0ull), 0x80ff00ff00ff00ffull);
    check("amoand.d new", *p, 0x80f000f000f000f0ull);
    check("amoor.d old", AMO_D("amoor.d.aqrl", p, 0x0f), 0x80f000f000f000f0ull);
    check("amoor.d new", *p, 0x80f000f000f000ffull);
    check("amomin.d old", AMO_D("amomin.d", p, 5), 0x80f000f000f000ffull);
    check("amomin.d new (negative stays)", *p, 0x80f000f000f000ffull);
    check("amomax.d old", AMO_D("amomax.d", p, 5), 0x80f000f000f000ffull);
    check("amomax.d new", *p, 5);
    check("amominu.d old", AMO_D("amominu.d", p, -1), 5);
    check("amominu.d new", *p, 5);
    check("amomaxu.d old", AMO_D("amomaxu.d", p, -1), 5);
    check("amomaxu.d new", *p, ~0ull);
    check("amomin.d -1 vs 0", (AMO_D("amomin.d", p, 0), *p), ~0ull);
    check("amominu.d -1 vs 0", (AMO_D("amominu.d", p, 0), *p), 0);
}

static void amo_word(void) {
    volatile uint32_t *p = &cell32[1];
    cell32[0] = 0x11111111;
    cell32[2] = 0x22222222;
    *p = 0x7ffffffe;
    check("amoadd.w old", AMO_W("amoadd.w", p, 1), 0x7ffffffe);
    check("amoadd.w old sign-extended", AMO_W("amoadd.w", p, 1), SX32(0x7fffffff));
    check("amoadd.w wraps", *p, 0x80000000u);
    check("amoadd.w old negative", AMO_W("amoadd.w", p, 0), SX32(0x80000000u));
    check("amoswap.w uses low 32 bits", AMO_W("amoswap.w", p, 0xabcdef0012345678ull), SX32(0x80000000u));
    check("amoswap.w new", *p, 0x12345678);
    check("amoxor.w", (AMO_W("amoxor.w", p, 0xffffffff), *p), 0xedcba987u);
    check("amoand.w", (AMO_W("amoand.w", p, 0xf0f0f0f0), *p), 0xe0c0a080u);
    check("amoor.w", (AMO_W("amoor.w", p, 0x0000000f), *p), 0xe0c0a08fu);
    check("amomin.w (signed: 0xe0c0a08f < 1)", (AMO_W("amomin.w", p, 1), *p), 0xe0c0a08fu);
    check("amomax.w", (AMO_W("amomax.w", p, 1), *p), 1);
    check("amominu.w (upper bits of rs2 ignored)", (AMO_W("amominu.w", p, 0xffffffff00000000ull), *p), 0);
    check("amomaxu.w", (AMO_W("amomaxu.w", p, 0x80000000u), *p), 0x80000000u);
    check("amomax.w (signed: 0x80000000 < 7)", (AMO_W("amomax.w.aqrl", p, 7), *p), 7);
    check("neighbour below untouched", cell32[0], 0x11111111);
    check("neighbour above untouched", cell32[2], 0x22222222);
}

static uint64_t lr_d(volatile uint64_t *p) { uint64_t v; __asm__ volatile("lr.d %0, (%1)" : "=r"(v) : "r"(p) : "memory"); return v; }
static uint64_t sc_d(volatile uint64_t *p, uint64_t v) { uint64_t r; __asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(r) : "r"(p), "r"(v) : "memory"); return r; }
static uint64_t lr_w(volatile uint32_t *p) { uint64_t v; __asm__ volatile("lr.w %0, (%1)" : "=r"(v) : "r"(p) : "memory"); return v; }
static uint64_t sc_w(volatile uint32_t *p, uint64_t v) { uint64_t r; __asm__ volatile("sc.w %0, %2, (%1)" : "=&r"(r) : "r"(p), "r"(v) : "memory"); return r; }

static void lr_sc(void) {
    /* The classic increment loop, written out in assembly as the spec's constrained LR/SC loop. */
    cell64 = 0;
    volatile uint64_t *counter = &cell64;
    uint64_t retries = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t tmp, fail;
        __asm__ volatile(
            "1: lr.d.aq %0, (%2)\n"
            "   addi %0, %0, 3\n"
            "   sc.d.rl %1, %0, (%2)\n"
            "   bnez %1, 2f\n"
            "   j 3f\n"
            "2: addi %3, %3, 1\n"
            "   j 1b\n"
            "3:\n"
            : "=&r"(tmp), "=&r"(fail), "+r"(counter), "+r"(retries) : : "memory");
    }
    check("lr.d/sc.d loop", cell64, 3000);
    con_printf("lr/sc loop retries: %lu\n", retries);

    cell32[1] = 5;
    uint64_t fail;
    do {
        uint64_t v = lr_w(&cell32[1]);
        fail = sc_w(&cell32[1], v * 7);
    } while (fail);
    check("lr.w/sc.w", cell32[1], 35);

    cell32[1] = 0x80000000u;
    check("lr.w sign-extends", lr_w(&cell32[1]), SX32(0x80000000u));
    check("sc.w after it succeeds", sc_w(&cell32[1], 1), 0);

    /* A successful SC uses up the reservation: a second SC must fail and leave memory alone. */
    cell64 = 100;
    do {
        (void)lr_d(&cell64);
        fail = sc_d(&cell64, 101);
    } while (fail);
    check("second sc.d without lr fails", sc_d(&cell64, 102) != 0, 1);
    check("failed sc.d does not store", cell64, 101);

    /* An SC outside the reserved set must fail. */
    far_cell[0] = 7;
    (void)lr_d(&cell64);
    check("sc.d to another address fails", sc_d(&far_cell[0], 8) != 0, 1);
    check("failed sc.d to another address does not store", far_cell[0], 7);
    (void)sc_d(&cell64, 0); /* drop whatever reservation is left */
}

/*
 * Sub-word atomic add as GCC 13's -minline-atomics writes it (GCC 12 calls libatomic instead, which a
 * bare-metal program does not have): lr.w/sc.w on the aligned word, changing only the masked bits.
 */
static uint64_t fetch_add_masked(volatile void *p, uint64_t add, unsigned width_bits) {
    uintptr_t gpa = (uintptr_t)p;
    volatile uint32_t *word = (volatile uint32_t *)(gpa & ~(uintptr_t)3);
    unsigned shift = (unsigned)(gpa & 3) * 8;
    uint32_t mask = (uint32_t)(((1ull << width_bits) - 1) << shift);
    uint32_t inc = (uint32_t)(add << shift);
    uint32_t old, tmp, fail;
    __asm__ volatile(
        "1: lr.w.aqrl %0, (%3)\n"
        "   add %1, %0, %4\n"
        "   xor %1, %1, %0\n"
        "   and %1, %1, %5\n"
        "   xor %1, %1, %0\n"      /* new = old with only the masked bits replaced */
        "   sc.w.rl %2, %1, (%3)\n"
        "   bnez %2, 1b\n"
        : "=&r"(old), "=&r"(tmp), "=&r"(fail) : "r"(word), "r"(inc), "r"(mask) : "memory");
    return (old & mask) >> shift;
}
static uint64_t fetch_add_u16(volatile uint16_t *p, uint16_t v) { return fetch_add_masked(p, v, 16); }
static uint64_t fetch_add_u8(volatile uint8_t *p, uint8_t v) { return fetch_add_masked(p, v, 8); }

static void compiler_atomics(void) {
    /* GCC builds these from lr/sc loops (CAS, nand) or single AMOs. */
    static uint64_t u64;
    static uint32_t u32;
    static volatile uint16_t u16[4];
    static volatile uint8_t u8[8];
    uint64_t expected = 0;
    for (uint64_t i = 1; i <= 200; i++) {
        __atomic_fetch_add(&u64, i * i, __ATOMIC_SEQ_CST);
        expected += i * i;
    }
    check("__atomic_fetch_add u64", u64, expected);

    uint64_t want = u64;
    int ok = __atomic_compare_exchange_n(&u64, &want, 42, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    check("cas succeeds", ok, 1);
    check("cas stored", u64, 42);
    want = 41;
    ok = __atomic_compare_exchange_n(&u64, &want, 43, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    check("cas fails on a stale value", ok, 0);
    check("cas reports the current value", want, 42);
    check("failed cas leaves memory", u64, 42);

    u32 = 0xffffffffu;
    check("__atomic_fetch_nand old", __atomic_fetch_nand(&u32, 0x0f0f0f0fu, __ATOMIC_ACQ_REL), 0xffffffffu);
    check("__atomic_fetch_nand new", u32, 0xf0f0f0f0u);
    check("__atomic_exchange", __atomic_exchange_n(&u32, 9u, __ATOMIC_SEQ_CST), 0xf0f0f0f0u);

    u16[0] = 0xaaaa; u16[1] = 0xfffe; u16[2] = 0x5555;
    for (int i = 0; i < 5; i++) fetch_add_u16(&u16[1], 1);
    check("u16 add wraps in its halfword", u16[1], 3);
    check("u16 neighbours", (uint64_t)u16[0] << 16 | u16[2], 0xaaaa5555u);
    u8[3] = 0x80;
    check("u8 add returns old", fetch_add_u8(&u8[3], 0x90), 0x80);
    check("u8 add wraps in its byte", u8[3], 0x10);
    check("u8 neighbours", u8[2] | u8[4], 0);
}

/* Misaligned AMOs and LRs must raise address-misaligned or access-fault (the A extension without Zam). */
static volatile uint64_t trap_cause = ~0ull, trap_value;

void trap_handler(struct trap_frame *f) {
    if (f->mcause & MCAUSE_INTERRUPT) {
        con_printf("unexpected interrupt mcause=0x%lx\n", f->mcause);
        exit(98);
    }
    trap_cause = f->mcause;
    trap_value = f->mtval;
    f->mepc += 4;
}

static void misaligned(void) {
    static volatile uint64_t buf[4] __attribute__((aligned(16)));
    buf[0] = 0; buf[1] = 0;
    volatile uint8_t *base = (volatile uint8_t *)buf;
    trap_cause = ~0ull;
    (void)AMO_W("amoadd.w", base + 2, 1);
    check("misaligned amoadd.w traps as store/AMO misaligned or access fault", trap_cause == 6 || trap_cause == 7, 1);
    check("misaligned amoadd.w mtval is the address", trap_value, (uint64_t)(base + 2));
    check("misaligned amoadd.w left memory alone", buf[0], 0);
    trap_cause = ~0ull;
    (void)AMO_D("amoswap.d", base + 4, 1);
    check("misaligned amoswap.d traps", trap_cause == 6 || trap_cause == 7, 1);
    trap_cause = ~0ull;
    (void)lr_d((volatile uint64_t *)(base + 8 + 4));
    check("misaligned lr.d traps as load misaligned or access fault", trap_cause == 4 || trap_cause == 5, 1);
}

int main(void) {
    con_puts("atomics\n");
    amo_doubleword();
    amo_word();
    lr_sc();
    compiler_atomics();
    misaligned();
    con_printf("atomics: %d checks, %d failed\n", checks, failures);
    return failures;
}
