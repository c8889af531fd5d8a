/*
 * The machine timer: mtime advances, mtimecmp = all ones means "never" (how firmware and kernels turn
 * the timer off), a CLINT timer interrupt ends a WFI and is taken with mie.MTIE and mstatus.MIE set,
 * and with mstatus.MIE clear it still ends WFI and waits in mip until MIE is set again.
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

static volatile uint64_t timer_interrupts;

void trap_handler(struct trap_frame *f) {
    if (f->mcause == (MCAUSE_INTERRUPT | 7)) {
        timer_interrupts++;
        mmio_write64(CLINT_MTIMECMP, ~0ull); /* acknowledge: no further timer interrupt */
        if (timer_interrupts > 100) {
            con_printf("FAIL timer interrupt storm: mip=0x%lx mtimecmp=0x%lx\n", CSR_READ(mip), mmio_read64(CLINT_MTIMECMP));
            exit(100);
        }
        return;
    }
    con_printf("unexpected trap: mcause=0x%lx mepc=0x%lx mtval=0x%lx\n", f->mcause, f->mepc, f->mtval);
    exit(99);
}

static void timer_interrupt(void) {
    uint64_t t0 = mmio_read64(CLINT_MTIME);
    uint64_t t1 = mmio_read64(CLINT_MTIME);
    check("mtime does not go backwards", t1 >= t0, 1);
    timer_interrupts = 0;
    mmio_write64(CLINT_MTIMECMP, ~0ull);
    check("mtimecmp reads back", mmio_read64(CLINT_MTIMECMP), ~0ull);
    check("mtimecmp = all ones: MTIP clear", (CSR_READ(mip) >> 7) & 1, 0);
    CSR_SET(mie, MIE_MTIE);
    CSR_SET(mstatus, MSTATUS_MIE);
    uint64_t deadline = mmio_read64(CLINT_MTIME) + TIMEBASE_HZ / 1000; /* 1 ms */
    mmio_write64(CLINT_MTIMECMP, deadline);
    uint64_t wfis = 0;
    while (timer_interrupts == 0 && wfis < 1000000) {
        __asm__ volatile("wfi");
        wfis++;
    }
    uint64_t now = mmio_read64(CLINT_MTIME);
    check("timer interrupt taken", timer_interrupts, 1);
    check("interrupt came at or after mtimecmp", now >= deadline, 1);
    con_printf("timer: woke after %lu wfi, %lu ticks late\n", wfis, now - deadline);

    /* With MIE clear, a pending timer still ends WFI but is not taken until MIE is set again. */
    CSR_CLEAR(mstatus, MSTATUS_MIE);
    mmio_write64(CLINT_MTIMECMP, mmio_read64(CLINT_MTIME) + TIMEBASE_HZ / 2000);
    __asm__ volatile("wfi");
    while ((CSR_READ(mip) & MIE_MTIE) == 0) {
    }
    check("masked timer: not taken", timer_interrupts, 1);
    check("masked timer: mip.MTIP set", (CSR_READ(mip) >> 7) & 1, 1);
    CSR_SET(mstatus, MSTATUS_MIE);
    /* The spec only asks that a pending, enabled interrupt be taken eventually, so allow a few instructions. */
    for (int i = 0; i < 1000 && timer_interrupts < 2; i++) __asm__ volatile("nop");
    check("masked timer: taken once MIE is set", timer_interrupts, 2);
    CSR_CLEAR(mstatus, MSTATUS_MIE);
    CSR_CLEAR(mie, MIE_MTIE);
}

int main(void) {
    con_puts("timer\n");
    timer_interrupt();
    con_printf("timer: %d checks, %d failed\n", checks, failures);
    return failures;
}
