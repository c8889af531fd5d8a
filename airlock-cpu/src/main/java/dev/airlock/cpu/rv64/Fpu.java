package dev.airlock.cpu.rv64;

/**
 * IEEE 754-2008 exact semantics of the RISC-V F and D extensions, one instance per hart.
 *
 * <p>Registers travel as raw 64-bit patterns. Single-precision operands are NaN-boxed: an operand
 * whose upper 32 bits are not all ones reads as the canonical NaN, and every single result comes
 * back boxed. Rounding modes are already resolved (0..4). Exception flags accumulate in
 * {@link #fflags}; nothing here ever clears them.
 *
 * <p>Strategy: the host computes the round-to-nearest-even result and an error-free residual
 * (TwoSum, FMA) gives the exact error, from which the directed modes step one ulp. Results near
 * the underflow or overflow thresholds, where the host result or residual may itself be rounded,
 * fall back to exact integer arithmetic ({@link #roundPack}). Single precision is computed in
 * double (exact or with an exact residual) and then rounded once to 24 bits in integer
 * arithmetic, which keeps the fused single ops from being double-rounded. No path allocates.
 *
 * <p>Not thread-safe: a hart owns its Fpu.
 */
public final class Fpu {
    public static final int NX = 1;
    public static final int UF = 2;
    public static final int OF = 4;
    public static final int DZ = 8;
    public static final int NV = 16;

    public static final int RNE = 0;
    public static final int RTZ = 1;
    public static final int RDN = 2;
    public static final int RUP = 3;
    public static final int RMM = 4;

    public static final int CANONICAL_NAN_S = 0x7fc00000;
    public static final long CANONICAL_NAN_D = 0x7ff8000000000000L;

    /** Accrued exception flags (fcsr.fflags), RISC-V bit layout. */
    public int fflags;

    private static final long BOX = 0xFFFF_FFFF_0000_0000L;
    private static final long BOXED_CANONICAL_NAN_S = BOX | CANONICAL_NAN_S;

    private static final long SIGN_D = Long.MIN_VALUE;
    private static final long EXP_D = 0x7ff0_0000_0000_0000L;
    private static final long FRAC_D = 0x000f_ffff_ffff_ffffL;
    private static final long IMPLICIT_D = 1L << 52;
    private static final long QUIET_D = 1L << 51;
    private static final long INF_D = EXP_D;
    private static final long ONE_D = 0x3ff0_0000_0000_0000L;

    private static final int SIGN_S = 0x8000_0000;
    private static final int EXP_S = 0x7f80_0000;
    private static final int FRAC_S = 0x007f_ffff;
    private static final int QUIET_S = 1 << 22;
    private static final int INF_S = EXP_S;

    private static final double MIN_NORMAL_D = Double.MIN_NORMAL;
    private static final double MAX_D = Double.MAX_VALUE;
    private static final double MIN_NORMAL_S = Float.MIN_NORMAL;

    // ===================================================================== NaN boxing, moves

    /** Reads a single operand: improperly boxed values are the canonical NaN. */
    private static int unbox(long reg) {
        return (reg >>> 32) == 0xFFFF_FFFFL ? (int) reg : CANONICAL_NAN_S;
    }

    private static long box(int bits) {
        return BOX | (bits & 0xFFFF_FFFFL);
    }

    /** fmv.x.w: the low 32 bits, sign-extended, whatever the boxing. */
    public long fmvXW(long f) {
        return (int) f;
    }

    /** fmv.w.x: the low 32 bits of an integer register, boxed. */
    public long fmvWX(long x) {
        return box((int) x);
    }

    // ===================================================================== classification helpers

    private static boolean isNaNS(int f) {
        return (f & 0x7fff_ffff) > INF_S;
    }

    private static boolean isSNaNS(int f) {
        return isNaNS(f) && (f & QUIET_S) == 0;
    }

    private static boolean isNaND(long d) {
        return (d & ~SIGN_D) > INF_D;
    }

    private static boolean isSNaND(long d) {
        return isNaND(d) && (d & QUIET_D) == 0;
    }

    private static float f32(int bits) {
        return Float.intBitsToFloat(bits);
    }

    private static double f64(long bits) {
        return Double.longBitsToDouble(bits);
    }

    private static long bitsD(double d) {
        return Double.doubleToRawLongBits(d);
    }

    // ===================================================================== core rounding

    /**
     * Rounds the exact value sig * 2^(e-62), sig in [2^62, 2^63) with bit 0 acting as a sticky bit,
     * to double ({@code dbl}) or single, raising NX/UF/OF. Tininess is detected after rounding, as
     * RISC-V requires. Returns the raw bits (single: low 32 bits, unboxed).
     */
    private long roundPack(boolean neg, int e, long sig, int rm, boolean dbl) {
        final int fb = dbl ? 52 : 23;
        final int emin = dbl ? -1022 : -126;
        final int emax = dbl ? 1023 : 127;
        if (e > emax) {
            return overflow(neg, rm, dbl);
        }
        int shift = 62 - fb;
        boolean tiny = false;
        if (e < emin) {
            tiny = true;
            if (e == emin - 1) {
                // Just below 2^emin: not tiny if rounding at full precision carries up to 2^emin.
                long kept = sig >>> shift;
                if (kept == (1L << (fb + 1)) - 1
                        && roundsUp(kept, sig & ((1L << shift) - 1), shift, neg, rm)) {
                    tiny = false;
                }
            }
            shift += emin - e;
        }
        long kept;
        long rem;
        boolean up;
        if (shift >= 64) {
            // Whole value is below half the smallest subnormal: only directed rounding away from 0 bumps.
            kept = 0;
            rem = sig;
            up = neg ? rm == RDN : rm == RUP;
        } else {
            kept = sig >>> shift;
            rem = sig & ((1L << shift) - 1);
            up = roundsUp(kept, rem, shift, neg, rm);
        }
        if (up) {
            kept++;
        }
        // Subnormal kept < 2^fb encodes with biased exponent 0; a carry to 2^fb lands on the
        // smallest normal. For normals the implicit bit adds the missing 1 to the exponent field.
        long bits = e < emin ? kept : ((long) (e - emin) << fb) + kept;
        if (rem != 0) {
            fflags |= tiny ? NX | UF : NX;
        }
        if (bits >= ((long) (emax - emin + 2) << fb)) {
            return overflow(neg, rm, dbl);
        }
        return neg ? bits | (dbl ? SIGN_D : 0x8000_0000L) : bits;
    }

    private static boolean roundsUp(long kept, long rem, int shift, boolean neg, int rm) {
        if (rem == 0) {
            return false;
        }
        switch (rm) {
            case RNE: {
                long half = 1L << (shift - 1);
                return rem > half || (rem == half && (kept & 1) != 0);
            }
            case RTZ:
                return false;
            case RDN:
                return neg;
            case RUP:
                return !neg;
            default:
                return rem >= 1L << (shift - 1);
        }
    }

    private long overflow(boolean neg, int rm, boolean dbl) {
        fflags |= OF | NX;
        boolean toInf = rm == RNE || rm == RMM || (neg ? rm == RDN : rm == RUP);
        if (dbl) {
            long mag = toInf ? INF_D : bitsD(MAX_D);
            return neg ? mag | SIGN_D : mag;
        }
        long mag = toInf ? INF_S : Float.floatToRawIntBits(Float.MAX_VALUE);
        return neg ? mag | 0x8000_0000L : mag;
    }

    /** Significand of a finite nonzero double, normalized into [2^52, 2^53). */
    private static long normSig(long d) {
        long m = d & FRAC_D;
        if ((d & EXP_D) == 0) {
            return m << (Long.numberOfLeadingZeros(m) - 11);
        }
        return m | IMPLICIT_D;
    }

    /** Exponent matching {@link #normSig}: value = normSig * 2^(normExp - 52). */
    private static int normExp(long d) {
        int be = (int) (d >>> 52) & 0x7ff;
        if (be == 0) {
            return -1022 - (Long.numberOfLeadingZeros(d & FRAC_D) - 11);
        }
        return be - 1023;
    }

    /** Exponent of the lowest set bit of a finite nonzero double. */
    private static int lowBit(long d) {
        int be = (int) (d >>> 52) & 0x7ff;
        long m = d & FRAC_D;
        if (be == 0) {
            return Long.numberOfTrailingZeros(m) - 1074;
        }
        return Long.numberOfTrailingZeros(m | IMPLICIT_D) + be - 1075;
    }

    /**
     * Rounds r + err to single, where r is a nonzero normal double and err an exact error smaller
     * than half an ulp of r; only err's sign matters since r carries 29 bits beyond single.
     */
    private long roundToSingle(double r, double err, int rm) {
        long bits = bitsD(r);
        boolean neg = bits < 0;
        int e = (int) (bits >>> 52 & 0x7ff) - 1023;
        long sig = ((bits & FRAC_D) | IMPLICIT_D) << 10;
        if (err != 0) {
            if ((err < 0) == neg) {
                sig |= 1; // exact value lies a little farther from zero
            } else {
                sig -= 1; // a little closer to zero; re-normalize if r was a power of two
                if (sig < 1L << 62) {
                    sig = (sig << 1) | 1;
                    e--;
                }
            }
        }
        return roundPack(neg, e, sig, rm, false);
    }

    /**
     * Finishes a single op computed in double: r (nonzero, finite) plus exact error err.
     * {@code rnSafe}: RN24(RN53(x)) == RN24(x) for this op (+ - * / sqrt, not fma).
     */
    private int finishS(double r, double err, int rm, boolean rnSafe) {
        if (rm == RNE && (err == 0 || rnSafe)) {
            float f = (float) r;
            float af = Math.abs(f);
            if (af > MIN_NORMAL_S && af <= Float.MAX_VALUE) {
                if (err != 0 || (double) f != r) {
                    fflags |= NX;
                }
                return Float.floatToRawIntBits(f);
            }
        } else if (err == 0) {
            float f = (float) r;
            if ((double) f == r) {
                return Float.floatToRawIntBits(f); // exact: any mode, no flags
            }
        }
        return (int) roundToSingle(r, err, rm);
    }

    /**
     * Applies rounding mode rm to a host RNE result r (MIN_NORMAL < |r| < MAX) whose exact value
     * is r + err (err exact, or at least of exact sign when {@code ties} is false).
     */
    private double adjust(double r, double err, int rm, boolean ties) {
        if (err == 0) {
            return r;
        }
        fflags |= NX;
        switch (rm) {
            case RNE:
                return r;
            case RTZ:
                if ((err < 0) != (r < 0)) {
                    return r > 0 ? Math.nextDown(r) : Math.nextUp(r);
                }
                return r;
            case RDN:
                return err < 0 ? Math.nextDown(r) : r;
            case RUP:
                return err > 0 ? Math.nextUp(r) : r;
            default: {
                // RMM differs from RNE only on an exact tie, where it takes the larger magnitude.
                if (!ties) {
                    return r;
                }
                double r2 = err > 0 ? Math.nextUp(r) : Math.nextDown(r);
                if (r2 - r == 2 * err && Math.abs(r2) > Math.abs(r)) {
                    return r2;
                }
                return r;
            }
        }
    }

    private int signedZeroS(int rm) {
        return rm == RDN ? SIGN_S : 0;
    }

    private long signedZeroD(int rm) {
        return rm == RDN ? SIGN_D : 0;
    }

    // ===================================================================== add / sub

    public long addS(long a, long b, int rm) {
        return box(addS0(unbox(a), unbox(b), rm));
    }

    public long subS(long a, long b, int rm) {
        return box(addS0(unbox(a), unbox(b) ^ SIGN_S, rm));
    }

    private int addS0(int fa, int fb, int rm) {
        if ((fa & EXP_S) == EXP_S || (fb & EXP_S) == EXP_S) {
            if (isNaNS(fa) || isNaNS(fb)) {
                if (isSNaNS(fa) || isSNaNS(fb)) {
                    fflags |= NV;
                }
                return CANONICAL_NAN_S;
            }
            if ((fa & EXP_S) == EXP_S && (fb & EXP_S) == EXP_S && ((fa ^ fb) < 0)) {
                fflags |= NV; // inf - inf
                return CANONICAL_NAN_S;
            }
            return (fa & EXP_S) == EXP_S ? fa : fb;
        }
        double x = f32(fa);
        double y = f32(fb);
        double r = x + y;
        if (r == 0) {
            // Exact zero: same-signed zeros keep their sign, otherwise +0 (-0 when rounding down).
            return (x == 0 && y == 0 && (fa ^ fb) >= 0) ? fa : signedZeroS(rm);
        }
        double bv = r - x;
        double err = (x - (r - bv)) + (y - bv);
        return finishS(r, err, rm, true);
    }

    public long addD(long a, long b, int rm) {
        return addD0(a, b, rm);
    }

    public long subD(long a, long b, int rm) {
        return addD0(a, b ^ SIGN_D, rm);
    }

    private long addD0(long a, long b, int rm) {
        double x = f64(a);
        double y = f64(b);
        double r = x + y;
        double ar = Math.abs(r);
        if (ar > MIN_NORMAL_D && ar < MAX_D) {
            double bv = r - x;
            double err = (x - (r - bv)) + (y - bv); // TwoSum: exact
            return bitsD(adjust(r, err, rm, true));
        }
        if ((a & EXP_D) == EXP_D || (b & EXP_D) == EXP_D) {
            if (isNaND(a) || isNaND(b)) {
                if (isSNaND(a) || isSNaND(b)) {
                    fflags |= NV;
                }
                return CANONICAL_NAN_D;
            }
            if ((a & EXP_D) == EXP_D && (b & EXP_D) == EXP_D && (a ^ b) < 0) {
                fflags |= NV;
                return CANONICAL_NAN_D;
            }
            return (a & EXP_D) == EXP_D ? a : b;
        }
        if (r == 0) {
            return (x == 0 && y == 0 && (a ^ b) >= 0) ? a : signedZeroD(rm);
        }
        if (ar <= MIN_NORMAL_D) {
            return bitsD(r); // sums this small are exact
        }
        return fmaCoreD(a, ONE_D, b, rm); // overflow or at MAX: exact path
    }

    // ===================================================================== mul

    public long mulS(long a, long b, int rm) {
        int fa = unbox(a);
        int fb = unbox(b);
        if ((fa & EXP_S) == EXP_S || (fb & EXP_S) == EXP_S) {
            return box(mulSpecialS(fa, fb));
        }
        double r = (double) f32(fa) * f32(fb); // exact: 48-bit product
        if (r == 0) {
            return box(Float.floatToRawIntBits((float) r));
        }
        return box(finishS(r, 0, rm, true));
    }

    private int mulSpecialS(int fa, int fb) {
        if (isNaNS(fa) || isNaNS(fb)) {
            if (isSNaNS(fa) || isSNaNS(fb)) {
                fflags |= NV;
            }
            return CANONICAL_NAN_S;
        }
        if ((fa & 0x7fff_ffff) == 0 || (fb & 0x7fff_ffff) == 0) {
            fflags |= NV; // inf * 0
            return CANONICAL_NAN_S;
        }
        return INF_S | ((fa ^ fb) & SIGN_S);
    }

    public long mulD(long a, long b, int rm) {
        double x = f64(a);
        double y = f64(b);
        double r = x * y;
        double ar = Math.abs(r);
        if (ar > MIN_NORMAL_D && ar < MAX_D) {
            if (rm == RNE) {
                // The product's lowest set bit is known exactly; exact iff it spans <= 53 bits.
                if (Math.getExponent(r) - lowBit(a) - lowBit(b) > 52) {
                    fflags |= NX;
                }
                return bitsD(r);
            }
            if (ar >= 0x1p-960) {
                return bitsD(adjust(r, Math.fma(x, y, -r), rm, true)); // residual exact here
            }
        }
        return mulSlowD(a, b, rm);
    }

    private long mulSlowD(long a, long b, int rm) {
        if ((a & EXP_D) == EXP_D || (b & EXP_D) == EXP_D) {
            if (isNaND(a) || isNaND(b)) {
                if (isSNaND(a) || isSNaND(b)) {
                    fflags |= NV;
                }
                return CANONICAL_NAN_D;
            }
            if ((a & ~SIGN_D) == 0 || (b & ~SIGN_D) == 0) {
                fflags |= NV;
                return CANONICAL_NAN_D;
            }
            return INF_D | ((a ^ b) & SIGN_D);
        }
        if ((a & ~SIGN_D) == 0 || (b & ~SIGN_D) == 0) {
            return (a ^ b) & SIGN_D;
        }
        return fmaCoreD(a, b, 0, rm);
    }

    // ===================================================================== div

    public long divS(long a, long b, int rm) {
        int fa = unbox(a);
        int fb = unbox(b);
        if ((fa & EXP_S) == EXP_S || (fb & EXP_S) == EXP_S || (fa & 0x7fff_ffff) == 0
                || (fb & 0x7fff_ffff) == 0) {
            return box(divSpecialS(fa, fb));
        }
        double x = f32(fa);
        double y = f32(fb);
        double r = x / y;
        double rem = Math.fma(-r, y, x); // exact: operands far from double underflow
        return box(finishS(r, y > 0 ? rem : -rem, rm, true));
    }

    private int divSpecialS(int fa, int fb) {
        if (isNaNS(fa) || isNaNS(fb)) {
            if (isSNaNS(fa) || isSNaNS(fb)) {
                fflags |= NV;
            }
            return CANONICAL_NAN_S;
        }
        int ma = fa & 0x7fff_ffff;
        int mb = fb & 0x7fff_ffff;
        int sign = (fa ^ fb) & SIGN_S;
        if ((ma == INF_S && mb == INF_S) || (ma == 0 && mb == 0)) {
            fflags |= NV;
            return CANONICAL_NAN_S;
        }
        if (ma == INF_S) {
            return INF_S | sign;
        }
        if (mb == 0) {
            fflags |= DZ;
            return INF_S | sign;
        }
        return sign; // 0/x or x/inf
    }

    public long divD(long a, long b, int rm) {
        double x = f64(a);
        double y = f64(b);
        double r = x / y;
        double ar = Math.abs(r);
        // The remainder a - r*b is exact when a is not tiny and b is normal.
        if (ar > MIN_NORMAL_D && ar < MAX_D && (a & EXP_D) >= (55L << 52) && (b & EXP_D) != 0) {
            double rem = Math.fma(-r, y, x);
            return bitsD(adjust(r, y > 0 ? rem : -rem, rm, false)); // quotients never tie
        }
        return divSlowD(a, b, rm);
    }

    private long divSlowD(long a, long b, int rm) {
        long ma = a & ~SIGN_D;
        long mb = b & ~SIGN_D;
        long sign = (a ^ b) & SIGN_D;
        if (ma > INF_D || mb > INF_D) {
            if (isSNaND(a) || isSNaND(b)) {
                fflags |= NV;
            }
            return CANONICAL_NAN_D;
        }
        if ((ma == INF_D && mb == INF_D) || (ma == 0 && mb == 0)) {
            fflags |= NV;
            return CANONICAL_NAN_D;
        }
        if (ma == INF_D) {
            return INF_D | sign;
        }
        if (mb == 0) {
            fflags |= DZ;
            return INF_D | sign;
        }
        if (ma == 0 || mb == INF_D) {
            return sign;
        }
        return divCoreD(a, b, rm);
    }

    /** Exact long division of significands; a, b finite nonzero. Rare path. */
    private long divCoreD(long a, long b, int rm) {
        long sa = normSig(a);
        long sb = normSig(b);
        int e = normExp(a) - normExp(b);
        long rem = sa;
        if (sa < sb) {
            rem = sa << 1;
            e--;
        }
        rem -= sb; // leading quotient bit is 1
        long q = 1;
        for (int i = 0; i < 62; i++) {
            rem <<= 1;
            q <<= 1;
            if (rem >= sb) {
                rem -= sb;
                q |= 1;
            }
        }
        if (rem != 0) {
            q |= 1;
        }
        return roundPack((a ^ b) < 0, e, q, rm, true);
    }

    // ===================================================================== sqrt

    public long sqrtS(long a, int rm) {
        int fa = unbox(a);
        if (isNaNS(fa)) {
            if (isSNaNS(fa)) {
                fflags |= NV;
            }
            return BOXED_CANONICAL_NAN_S;
        }
        if ((fa & 0x7fff_ffff) == 0 || fa == INF_S) {
            return box(fa); // +-0 and +inf are their own roots
        }
        if (fa < 0) {
            fflags |= NV;
            return BOXED_CANONICAL_NAN_S;
        }
        double x = f32(fa);
        double r = Math.sqrt(x);
        return box(finishS(r, -Math.fma(r, r, -x), rm, true));
    }

    public long sqrtD(long a, int rm) {
        double x = f64(a);
        if (x > 0 && x < Double.POSITIVE_INFINITY) {
            if (rm == RNE && (a & EXP_D) >= (123L << 52)) {
                double r = Math.sqrt(x);
                if (Math.fma(r, r, -x) != 0) {
                    fflags |= NX;
                }
                return bitsD(r);
            }
            // Scale into [1,4) so the residual cannot underflow; the root never under/overflows.
            int m = normExp(a) >> 1;
            double xs = Math.scalb(x, -2 * m);
            double r = Math.sqrt(xs);
            double res = Math.fma(r, r, -xs);
            if (res != 0) {
                fflags |= NX;
                if (res < 0 && rm == RUP) {
                    r = Math.nextUp(r);
                } else if (res > 0 && (rm == RDN || rm == RTZ)) {
                    r = Math.nextDown(r);
                }
            }
            return bitsD(Math.scalb(r, m));
        }
        if (isNaND(a)) {
            if (isSNaND(a)) {
                fflags |= NV;
            }
            return CANONICAL_NAN_D;
        }
        if (x == 0 || a == INF_D) {
            return a;
        }
        fflags |= NV;
        return CANONICAL_NAN_D;
    }

    // ===================================================================== fused multiply-add

    public long fmaddS(long a, long b, long c, int rm) {
        return box(fmaS0(unbox(a), unbox(b), unbox(c), rm));
    }

    public long fmsubS(long a, long b, long c, int rm) {
        return box(fmaS0(unbox(a), unbox(b), unbox(c) ^ SIGN_S, rm));
    }

    public long fnmsubS(long a, long b, long c, int rm) {
        return box(fmaS0(unbox(a) ^ SIGN_S, unbox(b), unbox(c), rm));
    }

    public long fnmaddS(long a, long b, long c, int rm) {
        return box(fmaS0(unbox(a) ^ SIGN_S, unbox(b), unbox(c) ^ SIGN_S, rm));
    }

    private int fmaS0(int fa, int fb, int fc, int rm) {
        if ((fa & EXP_S) == EXP_S || (fb & EXP_S) == EXP_S || (fc & EXP_S) == EXP_S) {
            return fmaSpecialS(fa, fb, fc);
        }
        double p = (double) f32(fa) * f32(fb); // exact
        double z = f32(fc);
        if (p == 0) {
            if (z != 0) {
                return fc;
            }
            boolean negP = (fa ^ fb) < 0;
            return negP == (fc < 0) ? fc : signedZeroS(rm);
        }
        double s = p + z;
        if (s == 0) {
            return signedZeroS(rm); // exact cancellation
        }
        double bv = s - p;
        double err = (p - (s - bv)) + (z - bv);
        return finishS(s, err, rm, false); // one rounding to 24 bits from the exact s + err
    }

    private int fmaSpecialS(int fa, int fb, int fc) {
        int ma = fa & 0x7fff_ffff;
        int mb = fb & 0x7fff_ffff;
        int mc = fc & 0x7fff_ffff;
        boolean infTimesZero = (ma == INF_S && mb == 0) || (ma == 0 && mb == INF_S);
        if (isSNaNS(fa) || isSNaNS(fb) || isSNaNS(fc) || infTimesZero) {
            fflags |= NV; // inf*0 is invalid even when the addend is a quiet NaN
        }
        if (ma > INF_S || mb > INF_S || mc > INF_S || infTimesZero) {
            return CANONICAL_NAN_S;
        }
        if (ma == INF_S || mb == INF_S) {
            int signP = (fa ^ fb) & SIGN_S;
            if (mc == INF_S && (fc & SIGN_S) != signP) {
                fflags |= NV;
                return CANONICAL_NAN_S;
            }
            return INF_S | signP;
        }
        return fc; // infinite addend, finite product
    }

    public long fmaddD(long a, long b, long c, int rm) {
        return fmaD0(a, b, c, rm);
    }

    public long fmsubD(long a, long b, long c, int rm) {
        return fmaD0(a, b, c ^ SIGN_D, rm);
    }

    public long fnmsubD(long a, long b, long c, int rm) {
        return fmaD0(a ^ SIGN_D, b, c, rm);
    }

    public long fnmaddD(long a, long b, long c, int rm) {
        return fmaD0(a ^ SIGN_D, b, c ^ SIGN_D, rm);
    }

    private long fmaD0(long a, long b, long c, int rm) {
        if ((a & EXP_D) == EXP_D || (b & EXP_D) == EXP_D || (c & EXP_D) == EXP_D) {
            return fmaSpecialD(a, b, c);
        }
        if ((a & ~SIGN_D) == 0 || (b & ~SIGN_D) == 0) {
            if ((c & ~SIGN_D) != 0) {
                return c;
            }
            boolean negP = (a ^ b) < 0;
            return negP == (c < 0) ? c : signedZeroD(rm);
        }
        double r = Math.fma(f64(a), f64(b), f64(c));
        double ar = Math.abs(r);
        if (ar > MIN_NORMAL_D && ar < MAX_D) {
            // When product and addend have their lowest set bits at different positions, that
            // position is the exact sum's lowest bit, so exactness is a width check on r.
            int lowP = lowBit(a) + lowBit(b);
            int lowC = (c & ~SIGN_D) == 0 ? Integer.MAX_VALUE : lowBit(c);
            if (lowP != lowC) {
                if (Math.getExponent(r) - Math.min(lowP, lowC) <= 52) {
                    return bitsD(r);
                }
                if (rm == RNE) {
                    fflags |= NX;
                    return bitsD(r);
                }
            }
        }
        return fmaCoreD(a, b, c, rm);
    }

    private long fmaSpecialD(long a, long b, long c) {
        long ma = a & ~SIGN_D;
        long mb = b & ~SIGN_D;
        long mc = c & ~SIGN_D;
        boolean infTimesZero = (ma == INF_D && mb == 0) || (ma == 0 && mb == INF_D);
        if (isSNaND(a) || isSNaND(b) || isSNaND(c) || infTimesZero) {
            fflags |= NV;
        }
        if (ma > INF_D || mb > INF_D || mc > INF_D || infTimesZero) {
            return CANONICAL_NAN_D;
        }
        if (ma == INF_D || mb == INF_D) {
            long signP = (a ^ b) & SIGN_D;
            if (mc == INF_D && (c & SIGN_D) != signP) {
                fflags |= NV;
                return CANONICAL_NAN_D;
            }
            return INF_D | signP;
        }
        return c;
    }

    /**
     * Exact a*b + c with a single rounding, in 128-bit integer arithmetic. a and b finite nonzero,
     * c finite (zero means no addend). Also serves as the exact slow path of add and mul.
     */
    private long fmaCoreD(long a, long b, long c, int rm) {
        boolean negP = (a ^ b) < 0;
        long sa = normSig(a);
        long sb = normSig(b);
        // Product in [2^104, 2^106), moved up by 20 so it sits in [2^124, 2^126).
        long pHi = Math.unsignedMultiplyHigh(sa, sb);
        long pLo = sa * sb;
        pHi = (pHi << 20) | (pLo >>> 44);
        pLo <<= 20;
        int xp = normExp(a) + normExp(b) - 124; // exponent of the product's bit 0
        long rHi;
        long rLo;
        int x;
        boolean neg;
        if ((c & ~SIGN_D) == 0) {
            rHi = pHi;
            rLo = pLo;
            x = xp;
            neg = negP;
        } else {
            boolean negC = c < 0;
            long cHi = normSig(c) << 9; // addend in [2^125, 2^126)
            long cLo = 0;
            int xc = normExp(c) - 125;
            // Align to the larger scale; bits shifted out of the smaller operand are jammed into its
            // bit 0. The unshifted operand has at least 20 zero low bits, so this stays exact
            // enough: the result's bit 0 is set iff the true sum has bits below bit 1.
            if (xp >= xc) {
                int d = xp - xc;
                x = xp;
                if (d > 0) {
                    cLo = shrJamLo(cHi, cLo, d);
                    cHi = shrHi(cHi, d);
                }
            } else {
                int d = xc - xp;
                x = xc;
                pLo = shrJamLo(pHi, pLo, d);
                pHi = shrHi(pHi, d);
            }
            if (negP == negC) {
                rLo = pLo + cLo;
                rHi = pHi + cHi + (Long.compareUnsigned(rLo, pLo) < 0 ? 1 : 0);
                neg = negP;
            } else {
                int cmp = pHi != cHi ? Long.compareUnsigned(pHi, cHi) : Long.compareUnsigned(pLo, cLo);
                if (cmp == 0) {
                    return signedZeroD(rm); // exact cancellation
                }
                if (cmp > 0) {
                    rLo = pLo - cLo;
                    rHi = pHi - cHi - (Long.compareUnsigned(pLo, cLo) < 0 ? 1 : 0);
                    neg = negP;
                } else {
                    rLo = cLo - pLo;
                    rHi = cHi - pHi - (Long.compareUnsigned(cLo, pLo) < 0 ? 1 : 0);
                    neg = negC;
                }
            }
        }
        // Normalize the 128-bit result to a 63-bit significand with sticky bit 0.
        int msb = rHi != 0 ? 127 - Long.numberOfLeadingZeros(rHi) : 63 - Long.numberOfLeadingZeros(rLo);
        long sig;
        if (msb > 62) {
            int k = msb - 62; // 1..64
            if (k == 64) {
                sig = rHi | (rLo != 0 ? 1 : 0);
            } else {
                sig = (rLo >>> k) | (rHi << (64 - k)) | ((rLo << (64 - k)) != 0 ? 1 : 0);
            }
        } else {
            sig = rLo << (62 - msb);
        }
        return roundPack(neg, x + msb, sig, rm, true);
    }

    /** Low word of the 128-bit (hi,lo) >>> n, n > 0, with lost bits jammed into bit 0. */
    private static long shrJamLo(long hi, long lo, int n) {
        if (n >= 128) {
            return (hi | lo) != 0 ? 1 : 0;
        }
        if (n >= 64) {
            long sticky = lo;
            long out = hi >>> (n - 64);
            if (n > 64) {
                sticky |= hi << (128 - n);
            }
            return out | (sticky != 0 ? 1 : 0);
        }
        return (lo >>> n) | (hi << (64 - n)) | ((lo << (64 - n)) != 0 ? 1 : 0);
    }

    private static long shrHi(long hi, int n) {
        return n >= 64 ? 0 : hi >>> n;
    }

    // ===================================================================== min / max

    public long minS(long a, long b) {
        return box(minMaxS(unbox(a), unbox(b), true));
    }

    public long maxS(long a, long b) {
        return box(minMaxS(unbox(a), unbox(b), false));
    }

    private int minMaxS(int fa, int fb, boolean min) {
        boolean an = isNaNS(fa);
        boolean bn = isNaNS(fb);
        if (an || bn) {
            if (isSNaNS(fa) || isSNaNS(fb)) {
                fflags |= NV;
            }
            if (an && bn) {
                return CANONICAL_NAN_S;
            }
            return an ? fb : fa; // a single NaN operand yields the other operand
        }
        float x = f32(fa);
        float y = f32(fb);
        if (x < y) {
            return min ? fa : fb;
        }
        if (y < x) {
            return min ? fb : fa;
        }
        return min ? fa | fb : fa & fb; // equal: only +-0 differ, and -0 < +0
    }

    public long minD(long a, long b) {
        return minMaxD(a, b, true);
    }

    public long maxD(long a, long b) {
        return minMaxD(a, b, false);
    }

    private long minMaxD(long a, long b, boolean min) {
        boolean an = isNaND(a);
        boolean bn = isNaND(b);
        if (an || bn) {
            if (isSNaND(a) || isSNaND(b)) {
                fflags |= NV;
            }
            if (an && bn) {
                return CANONICAL_NAN_D;
            }
            return an ? b : a;
        }
        double x = f64(a);
        double y = f64(b);
        if (x < y) {
            return min ? a : b;
        }
        if (y < x) {
            return min ? b : a;
        }
        return min ? a | b : a & b;
    }

    // ===================================================================== sign injection

    public long sgnjS(long a, long b) {
        return box((unbox(a) & ~SIGN_S) | (unbox(b) & SIGN_S));
    }

    public long sgnjnS(long a, long b) {
        return box((unbox(a) & ~SIGN_S) | (~unbox(b) & SIGN_S));
    }

    public long sgnjxS(long a, long b) {
        return box(unbox(a) ^ (unbox(b) & SIGN_S));
    }

    public long sgnjD(long a, long b) {
        return (a & ~SIGN_D) | (b & SIGN_D);
    }

    public long sgnjnD(long a, long b) {
        return (a & ~SIGN_D) | (~b & SIGN_D);
    }

    public long sgnjxD(long a, long b) {
        return a ^ (b & SIGN_D);
    }

    // ===================================================================== compare

    /** feq.s: quiet; NV only for a signaling NaN. Returns 0 or 1. */
    public long eqS(long a, long b) {
        int fa = unbox(a);
        int fb = unbox(b);
        if (isNaNS(fa) || isNaNS(fb)) {
            if (isSNaNS(fa) || isSNaNS(fb)) {
                fflags |= NV;
            }
            return 0;
        }
        return f32(fa) == f32(fb) ? 1 : 0;
    }

    /** flt.s: signaling; NV for any NaN. */
    public long ltS(long a, long b) {
        int fa = unbox(a);
        int fb = unbox(b);
        if (isNaNS(fa) || isNaNS(fb)) {
            fflags |= NV;
            return 0;
        }
        return f32(fa) < f32(fb) ? 1 : 0;
    }

    /** fle.s: signaling; NV for any NaN. */
    public long leS(long a, long b) {
        int fa = unbox(a);
        int fb = unbox(b);
        if (isNaNS(fa) || isNaNS(fb)) {
            fflags |= NV;
            return 0;
        }
        return f32(fa) <= f32(fb) ? 1 : 0;
    }

    public long eqD(long a, long b) {
        if (isNaND(a) || isNaND(b)) {
            if (isSNaND(a) || isSNaND(b)) {
                fflags |= NV;
            }
            return 0;
        }
        return f64(a) == f64(b) ? 1 : 0;
    }

    public long ltD(long a, long b) {
        if (isNaND(a) || isNaND(b)) {
            fflags |= NV;
            return 0;
        }
        return f64(a) < f64(b) ? 1 : 0;
    }

    public long leD(long a, long b) {
        if (isNaND(a) || isNaND(b)) {
            fflags |= NV;
            return 0;
        }
        return f64(a) <= f64(b) ? 1 : 0;
    }

    // ===================================================================== classify

    /**
     * fclass.s: bit 0 -inf, 1 negative normal, 2 negative subnormal, 3 -0, 4 +0, 5 positive
     * subnormal, 6 positive normal, 7 +inf, 8 signaling NaN, 9 quiet NaN.
     */
    public long classifyS(long a) {
        int f = unbox(a);
        boolean neg = f < 0;
        int exp = f & EXP_S;
        int frac = f & FRAC_S;
        if (exp == EXP_S) {
            if (frac == 0) {
                return neg ? 1 : 1 << 7;
            }
            return (frac & QUIET_S) != 0 ? 1 << 9 : 1 << 8;
        }
        if (exp == 0) {
            if (frac == 0) {
                return neg ? 1 << 3 : 1 << 4;
            }
            return neg ? 1 << 2 : 1 << 5;
        }
        return neg ? 1 << 1 : 1 << 6;
    }

    public long classifyD(long a) {
        boolean neg = a < 0;
        long exp = a & EXP_D;
        long frac = a & FRAC_D;
        if (exp == EXP_D) {
            if (frac == 0) {
                return neg ? 1 : 1 << 7;
            }
            return (frac & QUIET_D) != 0 ? 1 << 9 : 1 << 8;
        }
        if (exp == 0) {
            if (frac == 0) {
                return neg ? 1 << 3 : 1 << 4;
            }
            return neg ? 1 << 2 : 1 << 5;
        }
        return neg ? 1 << 1 : 1 << 6;
    }

    // ===================================================================== float -> integer

    private static final int W = 0;
    private static final int WU = 1;
    private static final int L = 2;
    private static final int LU = 3;

    public long fcvtWS(long a, int rm) {
        return toIntS(a, rm, W);
    }

    public long fcvtWUS(long a, int rm) {
        return toIntS(a, rm, WU);
    }

    public long fcvtLS(long a, int rm) {
        return toIntS(a, rm, L);
    }

    public long fcvtLUS(long a, int rm) {
        return toIntS(a, rm, LU);
    }

    public long fcvtWD(long a, int rm) {
        return toIntD(a, rm, W);
    }

    public long fcvtWUD(long a, int rm) {
        return toIntD(a, rm, WU);
    }

    public long fcvtLD(long a, int rm) {
        return toIntD(a, rm, L);
    }

    public long fcvtLUD(long a, int rm) {
        return toIntD(a, rm, LU);
    }

    private long toIntS(long a, int rm, int kind) {
        int f = unbox(a);
        if (isNaNS(f)) {
            fflags |= NV;
            return saturate(kind, false);
        }
        return toInt(f32(f), rm, kind); // widening is exact
    }

    private long toIntD(long a, int rm, int kind) {
        if (isNaND(a)) {
            fflags |= NV;
            return saturate(kind, false);
        }
        return toInt(f64(a), rm, kind);
    }

    /** Rounds v (not NaN) to an integer in mode rm, then range-checks it for the target kind. */
    private long toInt(double v, int rm, int kind) {
        double r = roundToIntegral(v, rm);
        long result;
        boolean ok;
        switch (kind) {
            case W:
                ok = r >= -0x1p31 && r <= 0x1p31 - 1;
                result = (long) r;
                break;
            case WU:
                ok = r >= 0 && r <= 0x1p32 - 1; // -0.0 passes: rounds to 0
                result = (int) (long) r; // 32-bit result, sign-extended
                break;
            case L:
                ok = r >= -0x1p63 && r < 0x1p63;
                result = (long) r;
                break;
            default:
                ok = r >= 0 && r < 0x1p64;
                result = r < 0x1p63 ? (long) r : (long) (r - 0x1p63) | Long.MIN_VALUE;
                break;
        }
        if (!ok) {
            fflags |= NV; // invalid, not also inexact
            return saturate(kind, r < 0);
        }
        if (r != v) {
            fflags |= NX;
        }
        return result;
    }

    private static long saturate(int kind, boolean negative) {
        switch (kind) {
            case W:
                return negative ? Integer.MIN_VALUE : Integer.MAX_VALUE;
            case WU:
                return negative ? 0 : -1L; // 0xffffffff sign-extended
            case L:
                return negative ? Long.MIN_VALUE : Long.MAX_VALUE;
            default:
                return negative ? 0 : -1L;
        }
    }

    private static double roundToIntegral(double v, int rm) {
        switch (rm) {
            case RNE:
                return Math.rint(v);
            case RTZ:
                return v < 0 ? Math.ceil(v) : Math.floor(v);
            case RDN:
                return Math.floor(v);
            case RUP:
                return Math.ceil(v);
            default: {
                double av = Math.abs(v);
                double t = Math.floor(av);
                if (av - t >= 0.5) { // exact subtraction: t is within a factor 2 of av or 0
                    t += 1;
                }
                return Math.copySign(t, v);
            }
        }
    }

    // ===================================================================== integer -> float

    public long fcvtSW(long x, int rm) {
        int v = (int) x;
        return box(fromIntS(v < 0, Math.abs((long) v), rm));
    }

    public long fcvtSWU(long x, int rm) {
        return box(fromIntS(false, x & 0xFFFF_FFFFL, rm));
    }

    public long fcvtSL(long x, int rm) {
        return box(fromIntS(x < 0, x < 0 ? -x : x, rm)); // -MIN_VALUE is 2^63 unsigned
    }

    public long fcvtSLU(long x, int rm) {
        return box(fromIntS(false, x, rm));
    }

    public long fcvtDW(long x, int rm) {
        return bitsD((int) x); // always exact
    }

    public long fcvtDWU(long x, int rm) {
        return bitsD(x & 0xFFFF_FFFFL); // always exact
    }

    public long fcvtDL(long x, int rm) {
        if (x >= -(1L << 53) && x <= 1L << 53) {
            return bitsD(x);
        }
        return fromIntMag(x < 0, x < 0 ? -x : x, rm, true);
    }

    public long fcvtDLU(long x, int rm) {
        if (x >= 0 && x <= 1L << 53) {
            return bitsD(x);
        }
        return fromIntMag(false, x, rm, true);
    }

    private int fromIntS(boolean neg, long mag, int rm) {
        if (mag >= 0 && mag <= 1 << 24) {
            float f = mag;
            return Float.floatToRawIntBits(neg ? -f : f); // exact; 0 gives +0
        }
        return (int) fromIntMag(neg, mag, rm, false);
    }

    /** Rounds an unsigned 64-bit magnitude (nonzero) to the format. */
    private long fromIntMag(boolean neg, long mag, int rm, boolean dbl) {
        int lz = Long.numberOfLeadingZeros(mag);
        if (lz == 0) {
            return roundPack(neg, 63, (mag >>> 1) | (mag & 1), rm, dbl);
        }
        return roundPack(neg, 63 - lz, mag << (lz - 1), rm, dbl);
    }

    // ===================================================================== float <-> double

    /** fcvt.s.d: rounds in mode rm; NaN becomes the canonical NaN (NV if signaling). */
    public long fcvtSD(long a, int rm) {
        if ((a & EXP_D) == EXP_D) {
            if (isNaND(a)) {
                if (isSNaND(a)) {
                    fflags |= NV;
                }
                return BOXED_CANONICAL_NAN_S;
            }
            return box(a < 0 ? INF_S | SIGN_S : INF_S);
        }
        if ((a & ~SIGN_D) == 0) {
            return box(a < 0 ? SIGN_S : 0);
        }
        double d = f64(a);
        if (rm == RNE) {
            float f = (float) d;
            float af = Math.abs(f);
            if (af > MIN_NORMAL_S && af <= Float.MAX_VALUE) {
                if ((double) f != d) {
                    fflags |= NX;
                }
                return box(Float.floatToRawIntBits(f));
            }
        }
        return box((int) roundPack(a < 0, normExp(a), normSig(a) << 10, rm, false));
    }

    /** fcvt.d.s: exact; NaN becomes the canonical NaN (NV if signaling). */
    public long fcvtDS(long a) {
        int f = unbox(a);
        if (isNaNS(f)) {
            if (isSNaNS(f)) {
                fflags |= NV;
            }
            return CANONICAL_NAN_D;
        }
        return bitsD(f32(f));
    }
}
