package dev.airlock.cpu.rv64;

/**
 * Decodes an instruction once into the long the hart's fast path executes:
 *
 * <pre>
 *  63            32 31    23 22  18 17  13 12   8  7   6     0
 * +----------------+--------+------+------+------+---+-------+
 * |  imm (or insn) |  raw16 | rs2  | rs1  |  rd  | C |  op   |
 * +----------------+--------+------+------+------+---+-------+
 * </pre>
 *
 * op 0 means "not decoded yet". C marks a compressed instruction (length 2). Common integer
 * instructions get their own op with fields extracted; everything else is {@link #GENERIC} with the
 * 32-bit instruction in the imm field, run by the reference interpreter, and for a compressed one its
 * original 16 bits in raw16 (an illegal-instruction trap reports them). An ALU op writing x0 becomes
 * {@link #NOP}, so the fast path writes x[rd] without checking.
 */
final class Decoder {
    private Decoder() {}

    static final int GENERIC = 1, NOP = 2, LUI = 3, AUIPC = 4, JAL = 5, JALR = 6,
            BEQ = 7, BNE = 8, BLT = 9, BGE = 10, BLTU = 11, BGEU = 12,
            LB = 13, LH = 14, LW = 15, LD = 16, LBU = 17, LHU = 18, LWU = 19,
            SB = 20, SH = 21, SW = 22, SD = 23,
            ADDI = 24, SLTI = 25, SLTIU = 26, XORI = 27, ORI = 28, ANDI = 29, SLLI = 30, SRLI = 31, SRAI = 32,
            ADDIW = 33, SLLIW = 34, SRLIW = 35, SRAIW = 36,
            ADD = 37, SUB = 38, SLL = 39, SLT = 40, SLTU = 41, XOR = 42, SRL = 43, SRA = 44, OR = 45, AND = 46,
            ADDW = 47, SUBW = 48, SLLW = 49, SRLW = 50, SRAW = 51,
            MUL = 52, MULH = 53, MULHSU = 54, MULHU = 55, DIV = 56, DIVU = 57, REM = 58, REMU = 59,
            MULW = 60, DIVW = 61, DIVUW = 62, REMW = 63, REMUW = 64;

    static final long COMPRESSED = 1L << 7;

    /** Decodes a 32-bit instruction (already expanded if {@code raw16 >= 0} names a compressed original). */
    static long decode(int insn, int raw16) {
        long c = raw16 >= 0 ? COMPRESSED : 0;
        if (raw16 >= 0 && insn == 0) return pack(GENERIC, 0, 0, 0, 0) | c | ((long) raw16 << 8); // illegal RVC
        long d = decodeOp(insn);
        if (d == 0) {
            d = pack(GENERIC, 0, 0, 0, insn);
            if (raw16 >= 0) d |= (long) raw16 << 8;
        }
        return d | c;
    }

    private static long decodeOp(int insn) {
        int rd = (insn >>> 7) & 31, rs1 = (insn >>> 15) & 31, rs2 = (insn >>> 20) & 31, f3 = (insn >>> 12) & 7;
        int f7 = insn >>> 25;
        int immI = insn >> 20;
        switch (insn & 0x7f) {
            case 0x37: return alu(LUI, rd, 0, 0, insn & 0xfffff000);
            case 0x17: return alu(AUIPC, rd, 0, 0, insn & 0xfffff000);
            case 0x6F: {
                int imm = ((insn >> 31) << 20) | (insn & 0xff000) | ((insn >>> 9) & 0x800) | ((insn >>> 20) & 0x7fe);
                return pack(JAL, rd, 0, 0, imm);
            }
            case 0x67: return f3 == 0 ? pack(JALR, rd, rs1, 0, immI) : 0;
            case 0x63: {
                int imm = ((insn >> 31) << 12) | ((insn << 4) & 0x800) | ((insn >>> 20) & 0x7e0) | ((insn >>> 7) & 0x1e);
                int op = switch (f3) {
                    case 0 -> BEQ; case 1 -> BNE; case 4 -> BLT; case 5 -> BGE; case 6 -> BLTU; case 7 -> BGEU;
                    default -> 0;
                };
                return op == 0 ? 0 : pack(op, 0, rs1, rs2, imm);
            }
            case 0x03: {
                int op = switch (f3) {
                    case 0 -> LB; case 1 -> LH; case 2 -> LW; case 3 -> LD; case 4 -> LBU; case 5 -> LHU; case 6 -> LWU;
                    default -> 0;
                };
                return op == 0 ? 0 : pack(op, rd, rs1, 0, immI); // loads to x0 still access memory
            }
            case 0x23: {
                int imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
                int op = switch (f3) { case 0 -> SB; case 1 -> SH; case 2 -> SW; case 3 -> SD; default -> 0; };
                return op == 0 ? 0 : pack(op, 0, rs1, rs2, imm);
            }
            case 0x13:
                return switch (f3) {
                    case 0 -> alu(ADDI, rd, rs1, 0, immI);
                    case 1 -> (immI >>> 6) == 0 ? alu(SLLI, rd, rs1, 0, immI & 63) : 0;
                    case 2 -> alu(SLTI, rd, rs1, 0, immI);
                    case 3 -> alu(SLTIU, rd, rs1, 0, immI);
                    case 4 -> alu(XORI, rd, rs1, 0, immI);
                    case 5 -> switch ((immI >>> 6) & 0x3f) {
                        case 0 -> alu(SRLI, rd, rs1, 0, immI & 63);
                        case 0x10 -> alu(SRAI, rd, rs1, 0, immI & 63);
                        default -> 0;
                    };
                    case 6 -> alu(ORI, rd, rs1, 0, immI);
                    default -> alu(ANDI, rd, rs1, 0, immI);
                };
            case 0x1B:
                return switch (f3) {
                    case 0 -> alu(ADDIW, rd, rs1, 0, immI);
                    case 1 -> (immI >>> 5) == 0 ? alu(SLLIW, rd, rs1, 0, immI & 31) : 0;
                    case 5 -> switch ((immI >>> 5) & 0x7f) {
                        case 0 -> alu(SRLIW, rd, rs1, 0, immI & 31);
                        case 0x20 -> alu(SRAIW, rd, rs1, 0, immI & 31);
                        default -> 0;
                    };
                    default -> 0;
                };
            case 0x33: {
                int op = switch (f7) {
                    case 0 -> switch (f3) {
                        case 0 -> ADD; case 1 -> SLL; case 2 -> SLT; case 3 -> SLTU; case 4 -> XOR; case 5 -> SRL;
                        case 6 -> OR; default -> AND;
                    };
                    case 0x20 -> f3 == 0 ? SUB : f3 == 5 ? SRA : 0;
                    case 1 -> MUL + f3;
                    default -> 0;
                };
                return op == 0 ? 0 : alu(op, rd, rs1, rs2, 0);
            }
            case 0x3B: {
                int op = switch (f7) {
                    case 0 -> f3 == 0 ? ADDW : f3 == 1 ? SLLW : f3 == 5 ? SRLW : 0;
                    case 0x20 -> f3 == 0 ? SUBW : f3 == 5 ? SRAW : 0;
                    case 1 -> switch (f3) { case 0 -> MULW; case 4 -> DIVW; case 5 -> DIVUW; case 6 -> REMW; case 7 -> REMUW; default -> 0; };
                    default -> 0;
                };
                return op == 0 ? 0 : alu(op, rd, rs1, rs2, 0);
            }
            default:
                return 0;
        }
    }

    /** An op whose only effect is writing rd: writing x0 makes it a no-op. */
    private static long alu(int op, int rd, int rs1, int rs2, int imm) {
        return rd == 0 ? pack(NOP, 0, 0, 0, 0) : pack(op, rd, rs1, rs2, imm);
    }

    static long pack(int op, int rd, int rs1, int rs2, int imm) {
        return op | ((long) rd << 8) | ((long) rs1 << 13) | ((long) rs2 << 18) | ((long) imm << 32);
    }
}
