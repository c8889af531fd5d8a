package dev.airlock.cpu.rv64;

/** Executes OP-FP and the fused multiply-add opcodes on a hart's {@link Fpu}. */
final class FpExec {
    private FpExec() {}

    static void op(Hart h, int insn) {
        throw h.illegalInstruction();
    }

    static void fma(Hart h, int insn) {
        throw h.illegalInstruction();
    }
}
