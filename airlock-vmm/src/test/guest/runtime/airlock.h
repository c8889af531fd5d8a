/*
 * What a test program may use: console output, exit, and (guest only) CSR access and the trap frame.
 *
 * The same program source builds two ways: for the guest (bare-metal RV64GC on Airlock, console = the
 * NS16550A UART, exit = the SiFive test finisher) and, with -DAIRLOCK_HOST, natively on the host
 * (console = stdout), so the host run gives the expected console output.
 */
#ifndef AIRLOCK_H
#define AIRLOCK_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>

void con_putc(int c);
void con_puts(const char *s);   /* no newline added */
/* printf-lite: %d %i %u %x %c %s %%, flags '0' and '-', a width, and the 'l'/'ll'/'z' length prefixes. */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void exit(int code) __attribute__((noreturn));

#define NOINLINE __attribute__((noinline))

/* An opaque copy: the compiler must compute with the value at run time instead of folding constants. */
#define OPAQUE(x) ({ __auto_type opaque_v_ = (x); __asm__ volatile("" : "+r"(opaque_v_)); opaque_v_; })

#ifndef AIRLOCK_HOST

#define CSR_READ(name) ({ uint64_t csr_v_; __asm__ volatile("csrr %0, " #name : "=r"(csr_v_)); csr_v_; })
#define CSR_WRITE(name, v) __asm__ volatile("csrw " #name ", %0" :: "r"((uint64_t)(v)) : "memory")
#define CSR_SET(name, v) __asm__ volatile("csrs " #name ", %0" :: "r"((uint64_t)(v)) : "memory")
#define CSR_CLEAR(name, v) __asm__ volatile("csrc " #name ", %0" :: "r"((uint64_t)(v)) : "memory")

#define MSTATUS_MIE  (1ul << 3)
#define MSTATUS_MPIE (1ul << 7)
#define MSTATUS_MPP  (3ul << 11)
#define MIE_MTIE     (1ul << 7)
#define MCAUSE_INTERRUPT (1ul << 63)

#define UART_BASE       0x10000000ul
#define FINISHER_BASE   0x00100000ul
#define CLINT_BASE      0x02000000ul
#define CLINT_MTIMECMP  (CLINT_BASE + 0x4000)
#define CLINT_MTIME     (CLINT_BASE + 0xBFF8)
#define TIMEBASE_HZ     10000000ul

/* What crt0.S saves on a trap. regs[2] is the interrupted sp; a handler may change regs and mepc. */
struct trap_frame {
    uint64_t regs[32];
    uint64_t mepc, mcause, mtval, mstatus;
};

/* Called by crt0.S for every trap; the runtime's default reports the trap and fails the program. */
void trap_handler(struct trap_frame *f);

static inline uint64_t mmio_read64(uint64_t gpa) { return *(volatile uint64_t *)gpa; }
static inline void mmio_write64(uint64_t gpa, uint64_t v) { *(volatile uint64_t *)gpa = v; }

#endif /* !AIRLOCK_HOST */
#endif
