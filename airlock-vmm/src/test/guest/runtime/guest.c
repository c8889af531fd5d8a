/* The guest side of airlock.h: UART output, finisher exit, the default trap handler, and the mem* the compiler may call. */
#include "airlock.h"

#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void con_putc(int c) {
    volatile uint8_t *uart = (volatile uint8_t *)UART_BASE;
    while ((uart[UART_LSR] & UART_LSR_THRE) == 0) {
    }
    uart[UART_THR] = (uint8_t)c;
}

void exit(int code) {
    volatile uint32_t *finisher = (volatile uint32_t *)FINISHER_BASE;
    *finisher = code == 0 ? 0x5555u : ((uint32_t)code << 16) | 0x3333u;
    for (;;) __asm__ volatile("wfi"); /* the finisher stops the machine; never get here */
}

__attribute__((weak)) void trap_handler(struct trap_frame *f) {
    con_printf("unexpected trap: mcause=0x%lx mepc=0x%lx mtval=0x%lx\n", f->mcause, f->mepc, f->mtval);
    exit(99);
}

/* GCC may emit calls to these even in freestanding code (struct copies, array initialisers). */
void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) {
        while (n--) *d++ = *s++;
    } else {
        while (n--) d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return x[i] - y[i];
    }
    return 0;
}
