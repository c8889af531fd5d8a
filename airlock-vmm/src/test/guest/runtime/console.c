/* printf-lite over con_putc; built into both the guest and the host run so their output agrees byte for byte. */
#include "airlock.h"

void con_puts(const char *s) {
    while (*s) con_putc(*s++);
}

static void emit_padded(const char *digits, int len, int width, char pad, int left, int negative) {
    int total = len + negative;
    if (negative && pad == '0') con_putc('-');
    if (!left) for (int i = total; i < width; i++) con_putc(pad);
    if (negative && pad != '0') con_putc('-');
    for (int i = 0; i < len; i++) con_putc(digits[i]);
    if (left) for (int i = total; i < width; i++) con_putc(' ');
}

static int to_digits(uint64_t v, unsigned base, char *out) {
    char tmp[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v != 0);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

void con_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            con_putc(*p);
            continue;
        }
        p++;
        int left = 0;
        char pad = ' ';
        for (;; p++) {
            if (*p == '-') left = 1;
            else if (*p == '0') pad = '0';
            else break;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        int longs = 0;
        while (*p == 'l' || *p == 'z') {
            longs++;
            p++;
        }
        if (left) pad = ' ';
        char digits[24];
        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            emit_padded(digits, to_digits(mag, 10, digits), width, pad, left, v < 0);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            emit_padded(digits, to_digits(v, *p == 'x' ? 16 : 10, digits), width, pad, left, 0);
            break;
        }
        case 'c':
            con_putc(va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int len = 0;
            while (s[len]) len++;
            emit_padded(s, len, width, ' ', left, 0);
            break;
        }
        case '%':
            con_putc('%');
            break;
        case '\0':
            p--;
            break;
        default: /* unknown conversion: show it, so a mistake is visible in the output */
            con_putc('%');
            con_putc(*p);
        }
    }
    va_end(ap);
}
