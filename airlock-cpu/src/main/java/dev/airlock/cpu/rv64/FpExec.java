package dev.airlock.cpu.rv64;

/**
 * Decodes OP-FP and the fused multiply-add opcodes and runs them on the hart's {@link Fpu}.
 * fmt 0 is single, 1 is double; any other format is illegal. Results to f registers mark FS dirty.
 */
final class FpExec {
    private FpExec() {}

    static void fma(Hart h, int insn) {
        int fmt = (insn >>> 25) & 3;
        if (fmt > 1) throw h.illegalInstruction();
        int rm = h.roundingMode(insn);
        long a = h.f[(insn >>> 15) & 31], b = h.f[(insn >>> 20) & 31], c = h.f[insn >>> 27];
        Fpu u = h.fpu;
        boolean d = fmt == 1;
        long r = switch (insn & 0x7f) {
            case 0x43 -> d ? u.fmaddD(a, b, c, rm) : u.fmaddS(a, b, c, rm);
            case 0x47 -> d ? u.fmsubD(a, b, c, rm) : u.fmsubS(a, b, c, rm);
            case 0x4B -> d ? u.fnmsubD(a, b, c, rm) : u.fnmsubS(a, b, c, rm);
            default -> d ? u.fnmaddD(a, b, c, rm) : u.fnmaddS(a, b, c, rm);
        };
        setF(h, (insn >>> 7) & 31, r);
    }

    static void op(Hart h, int insn) {
        int funct7 = insn >>> 25;
        int fmt = funct7 & 3;
        if (fmt > 1) throw h.illegalInstruction();
        boolean d = fmt == 1;
        int rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31, f3 = (insn >>> 12) & 7;
        long a = h.f[rs1], b = h.f[rs2];
        Fpu u = h.fpu;
        switch (funct7 >>> 2) {
            case 0x00 -> setF(h, rd, d ? u.addD(a, b, h.roundingMode(insn)) : u.addS(a, b, h.roundingMode(insn)));
            case 0x01 -> setF(h, rd, d ? u.subD(a, b, h.roundingMode(insn)) : u.subS(a, b, h.roundingMode(insn)));
            case 0x02 -> setF(h, rd, d ? u.mulD(a, b, h.roundingMode(insn)) : u.mulS(a, b, h.roundingMode(insn)));
            case 0x03 -> setF(h, rd, d ? u.divD(a, b, h.roundingMode(insn)) : u.divS(a, b, h.roundingMode(insn)));
            case 0x0B -> {
                if (rs2 != 0) throw h.illegalInstruction();
                setF(h, rd, d ? u.sqrtD(a, h.roundingMode(insn)) : u.sqrtS(a, h.roundingMode(insn)));
            }
            case 0x04 -> setF(h, rd, switch (f3) {
                case 0 -> d ? u.sgnjD(a, b) : u.sgnjS(a, b);
                case 1 -> d ? u.sgnjnD(a, b) : u.sgnjnS(a, b);
                case 2 -> d ? u.sgnjxD(a, b) : u.sgnjxS(a, b);
                default -> throw h.illegalInstruction();
            });
            case 0x05 -> setF(h, rd, switch (f3) {
                case 0 -> d ? u.minD(a, b) : u.minS(a, b);
                case 1 -> d ? u.maxD(a, b) : u.maxS(a, b);
                default -> throw h.illegalInstruction();
            });
            case 0x08 -> { // FCVT.S.D (fmt S, rs2 1) / FCVT.D.S (fmt D, rs2 0)
                if (d && rs2 == 0) setF(h, rd, u.fcvtDS(a));
                else if (!d && rs2 == 1) setF(h, rd, u.fcvtSD(a, h.roundingMode(insn)));
                else throw h.illegalInstruction();
            }
            case 0x14 -> setX(h, rd, switch (f3) {
                case 2 -> d ? u.eqD(a, b) : u.eqS(a, b);
                case 1 -> d ? u.ltD(a, b) : u.ltS(a, b);
                case 0 -> d ? u.leD(a, b) : u.leS(a, b);
                default -> throw h.illegalInstruction();
            });
            case 0x18 -> { // FCVT.{W,WU,L,LU}.fmt
                int rm = h.roundingMode(insn);
                setX(h, rd, switch (rs2) {
                    case 0 -> d ? u.fcvtWD(a, rm) : u.fcvtWS(a, rm);
                    case 1 -> d ? u.fcvtWUD(a, rm) : u.fcvtWUS(a, rm);
                    case 2 -> d ? u.fcvtLD(a, rm) : u.fcvtLS(a, rm);
                    case 3 -> d ? u.fcvtLUD(a, rm) : u.fcvtLUS(a, rm);
                    default -> throw h.illegalInstruction();
                });
            }
            case 0x1A -> { // FCVT.fmt.{W,WU,L,LU}
                int rm = h.roundingMode(insn);
                long x = h.x[rs1];
                setF(h, rd, switch (rs2) {
                    case 0 -> d ? u.fcvtDW(x, rm) : u.fcvtSW(x, rm);
                    case 1 -> d ? u.fcvtDWU(x, rm) : u.fcvtSWU(x, rm);
                    case 2 -> d ? u.fcvtDL(x, rm) : u.fcvtSL(x, rm);
                    case 3 -> d ? u.fcvtDLU(x, rm) : u.fcvtSLU(x, rm);
                    default -> throw h.illegalInstruction();
                });
            }
            case 0x1C -> { // FMV.X.{W,D} / FCLASS
                if (rs2 != 0) throw h.illegalInstruction();
                if (f3 == 0) setX(h, rd, d ? a : (int) a);
                else if (f3 == 1) setX(h, rd, d ? u.classifyD(a) : u.classifyS(a));
                else throw h.illegalInstruction();
            }
            case 0x1E -> { // FMV.{W,D}.X
                if (rs2 != 0 || f3 != 0) throw h.illegalInstruction();
                long x = h.x[rs1];
                setF(h, rd, d ? x : 0xffffffff00000000L | (x & 0xffffffffL));
            }
            default -> throw h.illegalInstruction();
        }
    }

    private static void setF(Hart h, int rd, long value) {
        h.f[rd] = value;
        h.markFsDirty();
    }

    private static void setX(Hart h, int rd, long value) {
        if (rd != 0) h.x[rd] = value;
        // fflags may have changed (NV on compares and conversions), which also dirties FP state
        h.markFsDirty();
    }
}
