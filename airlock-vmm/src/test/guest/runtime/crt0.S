/*
 * Start-up and trap entry for Airlock's bare-metal test programs (M-mode, one hart).
 *
 * _start: stack, gp, .bss, FP on (mstatus.FS = Initial), mtvec -> trap_entry, main(), exit(main's return).
 * trap_entry saves the integer registers in a struct trap_frame (airlock.h) on a stack of its own,
 * calls trap_handler(frame), and returns with mret to frame->mepc. FP registers are not saved: the
 * handlers are integer code.
 */
#define FRAME_BYTES (36 * 8)

    .section .text.init, "ax"
    .globl _start
_start:
    .option push
    .option norelax             /* gp is not yet valid, so la gp must not be relaxed against it */
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      t0, __trap_stack_top
    csrw    mscratch, t0        /* trap_entry swaps sp with mscratch */
    la      t0, trap_entry
    csrw    mtvec, t0           /* direct mode: every trap enters at trap_entry */
    li      t0, 1 << 13
    csrs    mstatus, t0         /* FS = Initial: FP instructions (and the compiler's FP moves) are legal */
    csrwi   fcsr, 0
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    main
    call    exit                /* does not return */
3:  j       3b

    .text
    .globl trap_entry
    .balign 4                   /* mtvec needs a 4-byte aligned base */
trap_entry:
    csrrw   sp, mscratch, sp    /* sp = trap stack, mscratch = interrupted sp */
    addi    sp, sp, -FRAME_BYTES
    sd      x1, 1*8(sp)
    sd      x3, 3*8(sp)
    sd      x4, 4*8(sp)
    sd      x5, 5*8(sp)
    sd      x6, 6*8(sp)
    sd      x7, 7*8(sp)
    sd      x8, 8*8(sp)
    sd      x9, 9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
    csrr    t0, mscratch
    sd      t0, 2*8(sp)         /* the interrupted sp */
    la      t0, __trap_stack_top
    csrw    mscratch, t0        /* ready for the next trap */
    csrr    t0, mepc
    sd      t0, 32*8(sp)
    csrr    t0, mcause
    sd      t0, 33*8(sp)
    csrr    t0, mtval
    sd      t0, 34*8(sp)
    csrr    t0, mstatus
    sd      t0, 35*8(sp)
    sd      zero, 0(sp)
    mv      a0, sp
    call    trap_handler
    ld      t0, 32*8(sp)
    csrw    mepc, t0            /* the handler may have moved it past the trapping instruction */
    ld      x1, 1*8(sp)
    ld      x3, 3*8(sp)
    ld      x4, 4*8(sp)
    ld      x5, 5*8(sp)
    ld      x6, 6*8(sp)
    ld      x7, 7*8(sp)
    ld      x8, 8*8(sp)
    ld      x9, 9*8(sp)
    ld      x10, 10*8(sp)
    ld      x11, 11*8(sp)
    ld      x12, 12*8(sp)
    ld      x13, 13*8(sp)
    ld      x14, 14*8(sp)
    ld      x15, 15*8(sp)
    ld      x16, 16*8(sp)
    ld      x17, 17*8(sp)
    ld      x18, 18*8(sp)
    ld      x19, 19*8(sp)
    ld      x20, 20*8(sp)
    ld      x21, 21*8(sp)
    ld      x22, 22*8(sp)
    ld      x23, 23*8(sp)
    ld      x24, 24*8(sp)
    ld      x25, 25*8(sp)
    ld      x26, 26*8(sp)
    ld      x27, 27*8(sp)
    ld      x28, 28*8(sp)
    ld      x29, 29*8(sp)
    ld      x30, 30*8(sp)
    ld      x31, 31*8(sp)
    ld      sp, 2*8(sp)         /* back to the interrupted sp; mscratch already points at the trap stack */
    mret
