/* The host side of airlock.h: the same programs print to stdout, giving the expected guest console output. */
#include <stdio.h>
#include <stdlib.h>
#include "airlock.h"

void con_putc(int c) {
    putchar(c);
}
