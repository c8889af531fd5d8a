/*
 * M-mode exceptions: illegal instructions (32- and 16-bit, mtval = the instruction bits), ecall and
 * ebreak, and misaligned loads and stores (performed in place by Airlock, not trapped).
 * Self-checking: main returns the number of failed checks.
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

static volatile uint64_t traps_taken, last_cause, last_epc, last_tval, last_mpp, ecall_a0;

void trap_handler(struct trap_frame *f) {
    if (f->mcause & MCAUSE_INTERRUPT) {
        con_printf("unexpected interrupt mcause=0x%lx\n", f->mcause);
        exit(98);
    }
    traps_taken++;
    last_cause = f->mcause;
    last_epc = f->mepc;
    last_tval = f->mtval;
    last_mpp = (f->mstatus & MSTATUS_MPP) >> 11;
    if (f->mcause == 11) {
        ecall_a0 = f->regs[10];
        f->regs[10] = f->regs[10] * 2 + 1; /* the "system call"'s result, to show the handler can return values */
    }
    /* Skip the trapping instruction: its length is in its low two bits. */
    uint16_t low = *(volatile uint16_t *)f->mepc;
    f->mepc += (low & 3) == 3 ? 4 : 2;
}

/* Runs `asm_insn` at a known label and returns that label's address, so mepc can be checked. */
#define AT_LABEL(asm_insn) ({ uint64_t pc_; __asm__ volatile("la %0, 1f\n1: " asm_insn "\n" : "=&r"(pc_) :: "memory"); pc_; })

static void illegal_instructions(void) {
    traps_taken = 0;
    uint64_t pc = AT_LABEL(".word 0x0000000b"); /* custom-0 opcode: nothing implements it */
    check("custom-0: trapped", traps_taken, 1);
    check("custom-0: mcause", last_cause, 2);
    check("custom-0: mepc", last_epc, pc);
    check("custom-0: mtval is the instruction", last_tval, 0x0000000b);
    check("custom-0: MPP is M", last_mpp, 3);

    pc = AT_LABEL("csrw mvendorid, zero"); /* read-only CSR */
    check("write to mvendorid: mcause", last_cause, 2);
    check("write to mvendorid: mepc", last_epc, pc);
    check("write to mvendorid: mtval", last_tval, 0xf1101073);

    pc = AT_LABEL(".word 0xfe000033"); /* OP with funct7 = 0x7f: reserved */
    check("reserved OP: mcause", last_cause, 2);
    check("reserved OP: mtval", last_tval, 0xfe000033);
    check("reserved OP: mepc", last_epc, pc);

    pc = AT_LABEL(".half 0x0000"); /* the defined-illegal 16-bit instruction, skipped by mepc + 2 */
    check("c.illegal: mcause", last_cause, 2);
    check("c.illegal: mepc", last_epc, pc);
    check("c.illegal: mtval (its 16 bits)", last_tval, 0);

    check("illegal-instruction traps taken", traps_taken, 4);
}

static void ecall_and_ebreak(void) {
    traps_taken = 0;
    register uint64_t a0 __asm__("a0") = 20;
    uint64_t pc;
    __asm__ volatile("la %1, 1f\n1: ecall" : "+r"(a0), "=&r"(pc) :: "memory");
    uint64_t result = a0; /* a register variable is only pinned to a0 at the asm; calls may clobber it after */
    check("ecall: mcause 11", last_cause, 11);
    check("ecall: mepc", last_epc, pc);
    check("ecall: handler saw a0", ecall_a0, 20);
    check("ecall: handler's result in a0", result, 41);
    pc = AT_LABEL("ebreak");
    check("ebreak: mcause 3", last_cause, 3);
    check("ebreak: mepc", last_epc, pc);
    pc = AT_LABEL("c.ebreak");
    check("c.ebreak: mcause 3", last_cause, 3);
    check("c.ebreak: mepc", last_epc, pc);
    check("ecall/ebreak traps taken", traps_taken, 3);
}

static void misaligned_accesses(void) {
    static uint8_t buf[64] __attribute__((aligned(16)));
    for (int i = 0; i < 64; i++) buf[i] = (uint8_t)(0x10 + i);
    traps_taken = 0;
    uint64_t v;
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(buf + 3) : "memory");
    check("misaligned ld", v, 0x1a19181716151413ull);
    __asm__ volatile("lw %0, 0(%1)" : "=r"(v) : "r"(buf + 6) : "memory");
    check("misaligned lw", v, 0x19181716);
    __asm__ volatile("lwu %0, 0(%1)" : "=r"(v) : "r"(buf + 57) : "memory");
    check("misaligned lwu", v, 0x4c4b4a49);
    __asm__ volatile("lh %0, 0(%1)" : "=r"(v) : "r"(buf + 15) : "memory");
    check("misaligned lh", v, 0x201f);
    uint64_t pattern = 0x8899aabbccddeeffull;
    __asm__ volatile("sd %1, 0(%0)" :: "r"(buf + 9), "r"(pattern) : "memory");
    check("misaligned sd: bytes", (uint64_t)buf[9] | (uint64_t)buf[16] << 56, 0x88000000000000ffull);
    check("misaligned sd: neighbour before", buf[8], 0x18);
    check("misaligned sd: neighbour after", buf[17], 0x21);
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(buf + 9) : "memory");
    check("misaligned sd then ld", v, pattern);
    __asm__ volatile("sw %1, 0(%0)" :: "r"(buf + 33), "r"(0xfedcba98u) : "memory");
    __asm__ volatile("lw %0, 0(%1)" : "=r"(v) : "r"(buf + 33) : "memory");
    check("misaligned sw then lw", v, 0xfffffffffedcba98ull);
    __asm__ volatile("sh %1, 0(%0)" :: "r"(buf + 41), "r"(0xbeef) : "memory");
    __asm__ volatile("lhu %0, 0(%1)" : "=r"(v) : "r"(buf + 41) : "memory");
    check("misaligned sh then lhu", v, 0xbeef);
    /* Across a page boundary: both pages are RAM, so this must work too. */
    static uint8_t pages[8192] __attribute__((aligned(4096)));
    uint8_t *edge = pages + 4096 - 3;
    __asm__ volatile("sd %1, 0(%0)" :: "r"(edge), "r"(pattern) : "memory");
    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(edge) : "memory");
    check("misaligned sd/ld across a page", v, pattern);
    check("page-crossing store: last byte on the next page", pages[4096 + 4], 0x88);
    check("misaligned accesses did not trap", traps_taken, 0);
}

int main(void) {
    con_puts("traps\n");
    check("mtvec is trap_entry, direct mode", CSR_READ(mtvec) & 3, 0);
    illegal_instructions();
    ecall_and_ebreak();
    misaligned_accesses();
    con_printf("traps: %d checks, %d failed\n", checks, failures);
    return failures;
}
