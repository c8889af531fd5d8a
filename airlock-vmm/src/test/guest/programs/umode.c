/*
 * U-mode: mret with MPP=0 drops to user code, which prints through ecall "system calls" (mcause 8),
 * has its privileged instructions trapped as illegal (mcause 2), and finally asks to go back to
 * M-mode, where main's continuation reports. Self-checking: exits with the number of failed checks.
 */
#include "airlock.h"

enum { SYS_PUTC = 1, SYS_ADD = 2, SYS_BACK_TO_M = 3 };

static int checks, failures;

static void check(const char *what, uint64_t got, uint64_t want) {
    checks++;
    if (got != want) {
        failures++;
        con_printf("FAIL %s: got 0x%lx want 0x%lx\n", what, got, want);
    }
}

static uint64_t user_stack[512] __attribute__((aligned(16)));
static volatile uint64_t ecalls, illegal_traps, last_illegal_tval, m_sp;

static uint64_t syscall(uint64_t nr, uint64_t a0, uint64_t a1) {
    register uint64_t r_a0 __asm__("a0") = a0;
    register uint64_t r_a1 __asm__("a1") = a1;
    register uint64_t r_a7 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a7) : "memory");
    return r_a0;
}

static void user_puts(const char *s) {
    while (*s) syscall(SYS_PUTC, (uint8_t)*s++, 0);
}

/* Runs in U-mode: no CSRs, no MMIO, only system calls. */
static void __attribute__((noreturn)) user_main(void) {
    user_puts("hello from U-mode\n");
    uint64_t sum = 0;
    for (uint64_t i = 1; i <= 10; i++) sum = syscall(SYS_ADD, sum, i);
    uint64_t status;
    __asm__ volatile("csrr %0, mstatus" : "=r"(status)); /* illegal in U-mode; the handler skips it */
    __asm__ volatile("mret");                            /* so is this */
    syscall(SYS_BACK_TO_M, sum, 0);
    for (;;) {
    }
}

static void __attribute__((noreturn)) back_in_m(uint64_t sum) {
    check("after mret to M, MPP reads as U", (CSR_READ(mstatus) & MSTATUS_MPP) >> 11, 0);
    check("sum computed through ecalls", sum, 55);
    check("ecalls taken", ecalls, 29);
    check("illegal instructions in U-mode", illegal_traps, 2);
    check("last illegal mtval is mret", last_illegal_tval, 0x30200073);
    con_printf("umode: %d checks, %d failed\n", checks, failures);
    exit(failures);
}

void trap_handler(struct trap_frame *f) {
    uint64_t mpp = (f->mstatus & MSTATUS_MPP) >> 11;
    if (f->mcause == 8) {
        ecalls++;
        check("ecall from U: MPP is U", mpp, 0);
        check("ecall from U: mtval is 0", f->mtval, 0);
        uint64_t nr = f->regs[17], a0 = f->regs[10], a1 = f->regs[11];
        f->mepc += 4;
        switch (nr) {
        case SYS_PUTC:
            con_putc((int)a0);
            return;
        case SYS_ADD:
            f->regs[10] = a0 + a1;
            return;
        case SYS_BACK_TO_M:
            /* Return into back_in_m(sum) in M-mode, on main's stack. */
            CSR_SET(mstatus, MSTATUS_MPP);
            f->mepc = (uint64_t)back_in_m;
            f->regs[2] = m_sp;
            return;
        default:
            con_printf("unknown system call %lu\n", nr);
            exit(97);
        }
    }
    if (f->mcause == 2 && mpp == 0) {
        illegal_traps++;
        last_illegal_tval = f->mtval;
        f->mepc += 4;
        return;
    }
    con_printf("unexpected trap: mcause=0x%lx mepc=0x%lx mtval=0x%lx MPP=%lu\n", f->mcause, f->mepc, f->mtval, mpp);
    exit(99);
}

int main(void) {
    con_puts("umode\n");
    /* Airlock has no PMP; on hardware (and QEMU) U-mode needs a PMP entry granting it all of memory. */
    CSR_WRITE(pmpaddr0, ~0ull >> 10);
    CSR_WRITE(pmpcfg0, 0x1f); /* NAPOT, R W X */
    m_sp = (uint64_t)__builtin_frame_address(0) - 512; /* below main's frame: back_in_m never returns */
    CSR_CLEAR(mstatus, MSTATUS_MPP | MSTATUS_MPIE); /* MPP = U, interrupts stay off in U-mode */
    CSR_WRITE(mepc, (uint64_t)user_main);
    __asm__ volatile("mv sp, %0\n mret" :: "r"(user_stack + 512) : "memory");
    __builtin_unreachable();
}
