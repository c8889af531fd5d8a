package dev.airlock.cpu.rv64;

import java.math.BigInteger;

/**
 * RISC-V F and D arithmetic, IEEE 754-2008 exact in all five rounding modes with all five flags.
 *
 * <p>Registers are raw 64-bit patterns; singles are NaN-boxed (an improperly boxed operand reads as
 * the canonical NaN). Results never carry NaN payloads. The common case, round-to-nearest-even with
 * a normal result, runs on host doubles, which round the same way, and learns inexactness from the
 * error-free residual (TwoSum, or an fma residual). Everything else (directed rounding, subnormal
 * results, fused multiply-add) goes through one exact path: the value as sign × magnitude × 2^exp
 * plus a sticky bit, rounded by {@link #round}. Singles use doubles underneath, which is exact for
 * +, −, ×, ÷ and √ because 53 ≥ 2·24 + 2 makes the double rounding harmless.
 */
public final class Fpu {
    public static final int NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16;
    public static final int RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4;
    static final long CANON_D = 0x7ff8000000000000L;
    static final int CANON_S = 0x7fc00000;
    private static final long BOX = 0xffffffff00000000L;

    /** Accrued exception flags (fflags). */
    public int fflags;

    // ------------------------------------------------------------------ formats

    private record Format(int precision, int minExp, int maxExp, int bias, int fracBits) {}

    private static final Format D = new Format(53, -1022, 1023, 1023, 52);
    private static final Format S = new Format(24, -126, 127, 127, 23);

    static int unbox(long r) {
        return (r >>> 32) == 0xffffffffL ? (int) r : CANON_S;
    }

    static long box(int bits) {
        return BOX | (bits & 0xffffffffL);
    }

    private static boolean isNaN(long d) { return (d & 0x7fffffffffffffffL) > 0x7ff0000000000000L; }
    private static boolean isNaN(int s) { return (s & 0x7fffffff) > 0x7f800000; }
    private static boolean isSNaN(long d) { return isNaN(d) && (d & 0x0008000000000000L) == 0; }
    private static boolean isSNaN(int s) { return isNaN(s) && (s & 0x00400000) == 0; }

    // ------------------------------------------------------------------ add, sub, mul, div, sqrt (double)

    public long addD(long a, long b, int rm) { return addSubD(a, b, rm, false); }

    public long subD(long a, long b, int rm) { return addSubD(a, b, rm, true); }

    private long addSubD(long a, long b, int rm, boolean negateB) {
        if (negateB && !isNaN(b)) b ^= Long.MIN_VALUE;
        double x = Double.longBitsToDouble(a), y = Double.longBitsToDouble(b);
        if (isNaN(a) || isNaN(b)) return nanD(a, b, 0);
        if (Double.isInfinite(x) && Double.isInfinite(y) && (a ^ b) < 0) return invalidD();
        double r = x + y;
        if (rm == RNE && Math.abs(r) >= Double.MIN_NORMAL && !Double.isInfinite(r)) {
            double bb = r - x;
            double err = (x - (r - bb)) + (y - bb); // TwoSum: the exact rounding error
            if (err != 0) fflags |= NX;
            return Double.doubleToRawLongBits(r);
        }
        if (Double.isInfinite(x) || Double.isInfinite(y)) return Double.doubleToRawLongBits(r);
        if (x == 0 && y == 0) return zeroSum(a, b, rm);
        Exact ea = exact(a, D), eb = exact(b, D);
        Exact sum = Exact.add(ea, eb);
        if (sum.mag.signum() == 0) return rm == RDN ? Long.MIN_VALUE : 0; // exact cancellation
        return round(sum.negative, sum.mag, sum.exp, false, D, rm);
    }

    private static long zeroSum(long a, long b, int rm) {
        if ((a ^ b) >= 0) return a;          // same signs keep it
        return rm == RDN ? Long.MIN_VALUE : 0; // opposite signs: +0, or -0 rounding down
    }

    public long mulD(long a, long b, int rm) {
        double x = Double.longBitsToDouble(a), y = Double.longBitsToDouble(b);
        if (isNaN(a) || isNaN(b)) return nanD(a, b, 0);
        boolean neg = (a ^ b) < 0;
        if ((Double.isInfinite(x) && y == 0) || (Double.isInfinite(y) && x == 0)) return invalidD();
        double r = x * y;
        double mag = Math.abs(r);
        if (rm == RNE && mag >= 0x1p-969 && !Double.isInfinite(r)) {
            if (Math.fma(x, y, -r) != 0) fflags |= NX; // exact residual: representable at this magnitude
            return Double.doubleToRawLongBits(r);
        }
        if (Double.isInfinite(x) || Double.isInfinite(y) || x == 0 || y == 0) return Double.doubleToRawLongBits(r);
        Exact ea = exact(a, D), eb = exact(b, D);
        return round(neg, ea.mag.multiply(eb.mag), ea.exp + eb.exp, false, D, rm);
    }

    public long divD(long a, long b, int rm) {
        double x = Double.longBitsToDouble(a), y = Double.longBitsToDouble(b);
        if (isNaN(a) || isNaN(b)) return nanD(a, b, 0);
        boolean neg = (a ^ b) < 0;
        if ((x == 0 && y == 0) || (Double.isInfinite(x) && Double.isInfinite(y))) return invalidD();
        if (Double.isInfinite(x)) return neg ? 0xfff0000000000000L : 0x7ff0000000000000L; // inf / 0 is exact: no DZ
        if (y == 0) {
            fflags |= DZ;
            return neg ? 0xfff0000000000000L : 0x7ff0000000000000L;
        }
        double q = x / y;
        if (Double.isInfinite(x) || Double.isInfinite(y) || x == 0) return Double.doubleToRawLongBits(q);
        if (rm == RNE && inSafeRange(x) && inSafeRange(y) && inSafeRange(q)) {
            if (Math.fma(-q, y, x) != 0) fflags |= NX;
            return Double.doubleToRawLongBits(q);
        }
        return divExact(neg, exact(a, D), exact(b, D), D, rm);
    }

    public long sqrtD(long a, int rm) {
        double x = Double.longBitsToDouble(a);
        if (isNaN(a)) return nanD(a, a, 0);
        if (x == 0) return a;
        if (x < 0) return invalidD();
        if (Double.isInfinite(x)) return a;
        double s = Math.sqrt(x);
        if (rm == RNE && x >= 0x1p-900) {
            // The residual x - s*s is exact only while it cannot underflow, hence the range check.
            if (Math.fma(-s, s, x) != 0) fflags |= NX;
            return Double.doubleToRawLongBits(s);
        }
        return sqrtExact(exact(a, D), D, rm);
    }

    private static boolean inSafeRange(double v) {
        double m = Math.abs(v);
        return m >= 0x1p-900 && m <= 0x1p900;
    }

    // ------------------------------------------------------------------ single precision

    public long addS(long a, long b, int rm) { return addSubS(a, b, rm, false); }

    public long subS(long a, long b, int rm) { return addSubS(a, b, rm, true); }

    private long addSubS(long ra, long rb, int rm, boolean negateB) {
        int a = unbox(ra), b = unbox(rb);
        if (negateB && !isNaN(b)) b ^= Integer.MIN_VALUE;
        if (isNaN(a) || isNaN(b)) return nanS(a, b, 0);
        float x = Float.intBitsToFloat(a), y = Float.intBitsToFloat(b);
        if (Float.isInfinite(x) && Float.isInfinite(y) && (a ^ b) < 0) return box(CANON_S) | invalid();
        if (Float.isInfinite(x) || Float.isInfinite(y)) return box(Float.floatToRawIntBits(x + y));
        if (x == 0 && y == 0) return box((a ^ b) >= 0 ? a : (rm == RDN ? Integer.MIN_VALUE : 0));
        double r = (double) x + (double) y;
        double bb = r - x;
        boolean doubleInexact = ((x - (r - bb)) + (y - bb)) != 0;
        if (!doubleInexact && r == 0) return box(rm == RDN ? Integer.MIN_VALUE : 0);
        Exact ex = doubleInexact ? Exact.add(exactS(a), exactS(b)) : null;
        return finishS(r, doubleInexact, ex, false, rm);
    }

    public long mulS(long ra, long rb, int rm) {
        int a = unbox(ra), b = unbox(rb);
        if (isNaN(a) || isNaN(b)) return nanS(a, b, 0);
        float x = Float.intBitsToFloat(a), y = Float.intBitsToFloat(b);
        if ((Float.isInfinite(x) && y == 0) || (Float.isInfinite(y) && x == 0)) return box(CANON_S) | invalid();
        double r = (double) x * (double) y; // exact: 48 significant bits
        if (Float.isInfinite(x) || Float.isInfinite(y) || x == 0 || y == 0) return box(Float.floatToRawIntBits((float) r));
        return finishS(r, false, null, false, rm);
    }

    public long divS(long ra, long rb, int rm) {
        int a = unbox(ra), b = unbox(rb);
        if (isNaN(a) || isNaN(b)) return nanS(a, b, 0);
        float x = Float.intBitsToFloat(a), y = Float.intBitsToFloat(b);
        if ((x == 0 && y == 0) || (Float.isInfinite(x) && Float.isInfinite(y))) return box(CANON_S) | invalid();
        if (Float.isInfinite(x)) return box((a ^ b) < 0 ? 0xff800000 : 0x7f800000);
        if (y == 0) {
            fflags |= DZ;
            return box(((a ^ b) < 0 ? 0xff800000 : 0x7f800000));
        }
        if (Float.isInfinite(x) || Float.isInfinite(y) || x == 0) return box(Float.floatToRawIntBits(x / y));
        double q = (double) x / (double) y;
        boolean doubleInexact = Math.fma(-q, y, x) != 0;
        if (rm != RNE || doubleInexact && Math.abs((float) q) < Float.MIN_NORMAL) {
            long bits = divExact((a ^ b) < 0, exactS(a), exactS(b), S, rm);
            return box((int) bits);
        }
        return finishS(q, doubleInexact, null, true, rm);
    }

    public long sqrtS(long ra, int rm) {
        int a = unbox(ra);
        if (isNaN(a)) return nanS(a, a, 0);
        float x = Float.intBitsToFloat(a);
        if (x == 0 || (Float.isInfinite(x) && x > 0)) return box(a);
        if (x < 0) return box(CANON_S) | invalid();
        double s = Math.sqrt(x);
        if (rm != RNE) return box((int) sqrtExact(exactS(a), S, rm));
        return finishS(s, Math.fma(-s, s, x) != 0, null, true, rm);
    }

    /**
     * Rounds a double-precision intermediate to single. With RNE and a normal result the double
     * rounding is harmless; otherwise the exact value decides ({@code exact}, or one recomputed).
     */
    private long finishS(double r, boolean doubleInexact, Exact exactValue, boolean nonDyadic, int rm) {
        float f = (float) r;
        if (rm == RNE && Math.abs(f) >= Float.MIN_NORMAL && !Float.isInfinite(f)) {
            if (doubleInexact || (double) f != r) fflags |= NX;
            return box(Float.floatToRawIntBits(f));
        }
        if (rm == RNE && Float.isInfinite(f)) {
            fflags |= OF | NX;
            return box(Float.floatToRawIntBits(f));
        }
        if (!doubleInexact) { // r is exact: round it directly
            return box((int) roundDouble(Double.doubleToRawLongBits(r), S, rm));
        }
        if (exactValue != null) return box((int) round(exactValue.negative, exactValue.mag, exactValue.exp, false, S, rm));
        // Quotient or root that is inexact in double: r plus a sticky bit in the right direction suffices
        // because the double carries 29 more bits than single needs.
        Exact e = exact(Double.doubleToRawLongBits(r), D);
        return box((int) round(e.negative, e.mag.shiftLeft(2).add(BigInteger.ONE), e.exp - 2, false, S, rm));
    }

    // ------------------------------------------------------------------ fused multiply-add (exact path)

    public long fmaddD(long a, long b, long c, int rm) { return fmaD(a, b, c, rm, false, false); }
    public long fmsubD(long a, long b, long c, int rm) { return fmaD(a, b, c, rm, false, true); }
    public long fnmsubD(long a, long b, long c, int rm) { return fmaD(a, b, c, rm, true, false); }
    public long fnmaddD(long a, long b, long c, int rm) { return fmaD(a, b, c, rm, true, true); }
    public long fmaddS(long a, long b, long c, int rm) { return fmaS(a, b, c, rm, false, false); }
    public long fmsubS(long a, long b, long c, int rm) { return fmaS(a, b, c, rm, false, true); }
    public long fnmsubS(long a, long b, long c, int rm) { return fmaS(a, b, c, rm, true, false); }
    public long fnmaddS(long a, long b, long c, int rm) { return fmaS(a, b, c, rm, true, true); }

    private long fmaD(long a, long b, long c, int rm, boolean negProduct, boolean negAddend) {
        if (isNaN(a) || isNaN(b) || isNaN(c)) {
            double x = Double.longBitsToDouble(a), y = Double.longBitsToDouble(b);
            boolean invalidProduct = (Double.isInfinite(x) && y == 0) || (Double.isInfinite(y) && x == 0);
            if (isSNaN(a) || isSNaN(b) || isSNaN(c) || invalidProduct) fflags |= NV;
            return CANON_D;
        }
        if (negProduct) a ^= Long.MIN_VALUE;
        if (negAddend) c ^= Long.MIN_VALUE;
        return fmaGeneric(a, b, c, rm, D);
    }

    private long fmaS(long ra, long rb, long rc, int rm, boolean negProduct, boolean negAddend) {
        int a = unbox(ra), b = unbox(rb), c = unbox(rc);
        if (isNaN(a) || isNaN(b) || isNaN(c)) {
            float x = Float.intBitsToFloat(a), y = Float.intBitsToFloat(b);
            boolean invalidProduct = (Float.isInfinite(x) && y == 0) || (Float.isInfinite(y) && x == 0);
            if (isSNaN(a) || isSNaN(b) || isSNaN(c) || invalidProduct) fflags |= NV;
            return box(CANON_S);
        }
        if (negProduct) a ^= Integer.MIN_VALUE;
        if (negAddend) c ^= Integer.MIN_VALUE;
        return box((int) fmaGeneric(a & 0xffffffffL, b & 0xffffffffL, c & 0xffffffffL, rm, S));
    }

    /** Operands are already in the format's bit layout (singles in the low 32 bits); no NaNs. */
    private long fmaGeneric(long a, long b, long c, int rm, Format f) {
        double x = toDouble(a, f), y = toDouble(b, f), z = toDouble(c, f);
        boolean productNeg = (x < 0 || (x == 0 && 1 / x < 0)) != (y < 0 || (y == 0 && 1 / y < 0));
        if ((Double.isInfinite(x) && y == 0) || (Double.isInfinite(y) && x == 0)) return canon(f) | invalid();
        boolean productInf = Double.isInfinite(x) || Double.isInfinite(y);
        if (productInf) {
            if (Double.isInfinite(z) && (z < 0) != productNeg) return canon(f) | invalid();
            return infinity(productNeg, f);
        }
        if (Double.isInfinite(z)) return bitsOf(c, f);
        boolean productZero = x == 0 || y == 0;
        if (productZero && z == 0) {
            boolean zNeg = 1 / z < 0;
            if (productNeg == zNeg) return zero(productNeg, f);
            return zero(rm == RDN, f);
        }
        Exact p = productZero ? null : Exact.mul(exact(a, f), exact(b, f));
        Exact sum = p == null ? exact(c, f) : z == 0 ? p : Exact.add(p, exact(c, f));
        if (sum.mag.signum() == 0) return zero(rm == RDN, f);
        return round(sum.negative, sum.mag, sum.exp, false, f, rm);
    }

    // ------------------------------------------------------------------ sign injection, min/max, compare, classify

    public long sgnjD(long a, long b) { return (a & Long.MAX_VALUE) | (b & Long.MIN_VALUE); }
    public long sgnjnD(long a, long b) { return (a & Long.MAX_VALUE) | (~b & Long.MIN_VALUE); }
    public long sgnjxD(long a, long b) { return a ^ (b & Long.MIN_VALUE); }
    public long sgnjS(long a, long b) { return box((unbox(a) & Integer.MAX_VALUE) | (unbox(b) & Integer.MIN_VALUE)); }
    public long sgnjnS(long a, long b) { return box((unbox(a) & Integer.MAX_VALUE) | (~unbox(b) & Integer.MIN_VALUE)); }
    public long sgnjxS(long a, long b) { return box(unbox(a) ^ (unbox(b) & Integer.MIN_VALUE)); }

    public long minD(long a, long b) { return minMaxD(a, b, false); }
    public long maxD(long a, long b) { return minMaxD(a, b, true); }

    private long minMaxD(long a, long b, boolean max) {
        if (isSNaN(a) || isSNaN(b)) fflags |= NV;
        if (isNaN(a) && isNaN(b)) return CANON_D;
        if (isNaN(a)) return b;
        if (isNaN(b)) return a;
        double x = Double.longBitsToDouble(a), y = Double.longBitsToDouble(b);
        if (x == y) return max ? (a & b) : (a | b); // ±0: max prefers +0, min prefers -0
        return (x < y) != max ? a : b;
    }

    public long minS(long a, long b) { return minMaxS(unbox(a), unbox(b), false); }
    public long maxS(long a, long b) { return minMaxS(unbox(a), unbox(b), true); }

    private long minMaxS(int a, int b, boolean max) {
        if (isSNaN(a) || isSNaN(b)) fflags |= NV;
        if (isNaN(a) && isNaN(b)) return box(CANON_S);
        if (isNaN(a)) return box(b);
        if (isNaN(b)) return box(a);
        float x = Float.intBitsToFloat(a), y = Float.intBitsToFloat(b);
        if (x == y) return box(max ? (a & b) : (a | b));
        return box((x < y) != max ? a : b);
    }

    public long eqD(long a, long b) {
        if (isSNaN(a) || isSNaN(b)) fflags |= NV;
        return Double.longBitsToDouble(a) == Double.longBitsToDouble(b) ? 1 : 0;
    }

    public long ltD(long a, long b) {
        if (isNaN(a) || isNaN(b)) { fflags |= NV; return 0; }
        return Double.longBitsToDouble(a) < Double.longBitsToDouble(b) ? 1 : 0;
    }

    public long leD(long a, long b) {
        if (isNaN(a) || isNaN(b)) { fflags |= NV; return 0; }
        return Double.longBitsToDouble(a) <= Double.longBitsToDouble(b) ? 1 : 0;
    }

    public long eqS(long ra, long rb) {
        int a = unbox(ra), b = unbox(rb);
        if (isSNaN(a) || isSNaN(b)) fflags |= NV;
        return Float.intBitsToFloat(a) == Float.intBitsToFloat(b) ? 1 : 0;
    }

    public long ltS(long ra, long rb) {
        int a = unbox(ra), b = unbox(rb);
        if (isNaN(a) || isNaN(b)) { fflags |= NV; return 0; }
        return Float.intBitsToFloat(a) < Float.intBitsToFloat(b) ? 1 : 0;
    }

    public long leS(long ra, long rb) {
        int a = unbox(ra), b = unbox(rb);
        if (isNaN(a) || isNaN(b)) { fflags |= NV; return 0; }
        return Float.intBitsToFloat(a) <= Float.intBitsToFloat(b) ? 1 : 0;
    }

    public long classifyD(long a) {
        boolean neg = a < 0;
        long exp = (a >>> 52) & 0x7ff, frac = a & 0xfffffffffffffL;
        return classify(neg, exp == 0x7ff, exp == 0, frac == 0, (frac >>> 51) != 0);
    }

    public long classifyS(long ra) {
        int a = unbox(ra);
        boolean neg = a < 0;
        int exp = (a >>> 23) & 0xff, frac = a & 0x7fffff;
        return classify(neg, exp == 0xff, exp == 0, frac == 0, (frac >>> 22) != 0);
    }

    private static long classify(boolean neg, boolean maxExp, boolean zeroExp, boolean zeroFrac, boolean quiet) {
        if (maxExp) return zeroFrac ? (neg ? 1 : 1 << 7) : (quiet ? 1 << 9 : 1 << 8);
        if (zeroExp) return zeroFrac ? (neg ? 1 << 3 : 1 << 4) : (neg ? 1 << 2 : 1 << 5);
        return neg ? 1 << 1 : 1 << 6;
    }

    // ------------------------------------------------------------------ conversions

    public long cvtDS(long ra) {
        int a = unbox(ra);
        if (isNaN(a)) {
            if (isSNaN(a)) fflags |= NV;
            return CANON_D;
        }
        return Double.doubleToRawLongBits(Float.intBitsToFloat(a)); // exact
    }

    public long cvtSD(long a, int rm) {
        if (isNaN(a)) {
            if (isSNaN(a)) fflags |= NV;
            return box(CANON_S);
        }
        double d = Double.longBitsToDouble(a);
        if (Double.isInfinite(d) || d == 0) return box(Float.floatToRawIntBits((float) d));
        float f = (float) d;
        if (rm == RNE && Math.abs(f) >= Float.MIN_NORMAL && !Float.isInfinite(f)) {
            if ((double) f != d) fflags |= NX;
            return box(Float.floatToRawIntBits(f));
        }
        return box((int) roundDouble(a, S, rm));
    }

    public long cvtWD(long a, int rm) { return toInt(a, D, rm, -0x1p31, 0x1p31, Integer.MIN_VALUE, Integer.MAX_VALUE, true); }
    public long cvtWuD(long a, int rm) { return toInt(a, D, rm, 0, 0x1p32, 0, -1, true); }
    public long cvtLD(long a, int rm) { return toInt(a, D, rm, -0x1p63, 0x1p63, Long.MIN_VALUE, Long.MAX_VALUE, false); }
    public long cvtLuD(long a, int rm) { return toInt(a, D, rm, 0, 0x1p64, 0, -1, false); }
    public long cvtWS(long a, int rm) { return toInt(unbox(a) & 0xffffffffL, S, rm, -0x1p31, 0x1p31, Integer.MIN_VALUE, Integer.MAX_VALUE, true); }
    public long cvtWuS(long a, int rm) { return toInt(unbox(a) & 0xffffffffL, S, rm, 0, 0x1p32, 0, -1, true); }
    public long cvtLS(long a, int rm) { return toInt(unbox(a) & 0xffffffffL, S, rm, -0x1p63, 0x1p63, Long.MIN_VALUE, Long.MAX_VALUE, false); }
    public long cvtLuS(long a, int rm) { return toInt(unbox(a) & 0xffffffffL, S, rm, 0, 0x1p64, 0, -1, false); }

    /**
     * FP to integer: round to an integer in {@code rm}, then saturate outside [lo, hiExclusive) with NV.
     * W results are sign-extended 32-bit values; NaN gives the largest value.
     */
    private long toInt(long bits, Format f, int rm, double lo, double hiExclusive, long minResult, long maxResult,
                       boolean word) {
        boolean nan = f == D ? isNaN(bits) : isNaN((int) bits);
        if (nan) {
            fflags |= NV;
            return word ? (int) maxResult : maxResult;
        }
        double d = toDouble(bits, f);
        double r = roundToIntegral(d, rm);
        if (r < lo || r >= hiExclusive || Double.isInfinite(d)) {
            fflags |= NV;
            long v = d < 0 || (r < lo && !(d > 0)) ? minResult : maxResult;
            return word ? (int) v : v;
        }
        if (r != d) fflags |= NX;
        long v;
        if (r >= 0x1p63) v = (long) (r - 0x1p63) ^ Long.MIN_VALUE; // unsigned 64-bit range
        else v = (long) r;
        return word ? (int) v : v;
    }

    private static double roundToIntegral(double d, int rm) {
        if (Math.abs(d) >= 0x1p52 || Double.isInfinite(d)) return d;
        return switch (rm) {
            case RNE -> Math.rint(d);
            case RTZ -> d < 0 ? Math.ceil(d) : Math.floor(d);
            case RDN -> Math.floor(d);
            case RUP -> Math.ceil(d);
            default -> Math.copySign(Math.floor(Math.abs(d) + 0.5), d); // exact below 2^52
        };
    }

    public long cvtDW(long x, int rm) { return fromInt(BigInteger.valueOf((int) x), D, rm); }
    public long cvtDWu(long x, int rm) { return fromInt(BigInteger.valueOf(x & 0xffffffffL), D, rm); }
    public long cvtDL(long x, int rm) { return fromInt(BigInteger.valueOf(x), D, rm); }
    public long cvtDLu(long x, int rm) { return fromInt(new BigInteger(Long.toUnsignedString(x)), D, rm); }
    public long cvtSW(long x, int rm) { return box((int) fromInt(BigInteger.valueOf((int) x), S, rm)); }
    public long cvtSWu(long x, int rm) { return box((int) fromInt(BigInteger.valueOf(x & 0xffffffffL), S, rm)); }
    public long cvtSL(long x, int rm) { return box((int) fromInt(BigInteger.valueOf(x), S, rm)); }
    public long cvtSLu(long x, int rm) { return box((int) fromInt(new BigInteger(Long.toUnsignedString(x)), S, rm)); }

    private long fromInt(BigInteger v, Format f, int rm) {
        if (v.signum() == 0) return 0;
        if (v.bitLength() <= f.precision()) { // exact, the common case
            double d = v.doubleValue();
            return f == D ? Double.doubleToRawLongBits(d) : Float.floatToRawIntBits((float) d) & 0xffffffffL;
        }
        return round(v.signum() < 0, v.abs(), 0, false, f, rm);
    }

    // ------------------------------------------------------------------ the exact path

    /** sign × mag × 2^exp, exactly. */
    private record Exact(boolean negative, BigInteger mag, int exp) {
        static Exact add(Exact a, Exact b) {
            int e = Math.min(a.exp, b.exp);
            BigInteger x = a.mag.shiftLeft(a.exp - e), y = b.mag.shiftLeft(b.exp - e);
            if (a.negative) x = x.negate();
            if (b.negative) y = y.negate();
            BigInteger s = x.add(y);
            return new Exact(s.signum() < 0, s.abs(), e);
        }

        static Exact mul(Exact a, Exact b) {
            return new Exact(a.negative != b.negative, a.mag.multiply(b.mag), a.exp + b.exp);
        }
    }

    private static Exact exact(long bits, Format f) {
        boolean neg = f == D ? bits < 0 : (bits & 0x80000000L) != 0;
        long biased = (bits >>> f.fracBits()) & (f == D ? 0x7ff : 0xff);
        long frac = bits & ((1L << f.fracBits()) - 1);
        int minLsb = f.minExp() - f.fracBits();
        if (biased == 0) return new Exact(neg, BigInteger.valueOf(frac), minLsb);
        return new Exact(neg, BigInteger.valueOf(frac | (1L << f.fracBits())), (int) biased - f.bias() - f.fracBits());
    }

    private static Exact exactS(int bits) {
        return exact(bits & 0xffffffffL, S);
    }

    private long divExact(boolean neg, Exact a, Exact b, Format f, int rm) {
        // Enough quotient bits for rounding: precision + 2 guard bits; the remainder is the sticky bit.
        int shift = Math.max(0, f.precision() + 3 + b.mag.bitLength() - a.mag.bitLength());
        BigInteger[] qr = a.mag.shiftLeft(shift).divideAndRemainder(b.mag);
        return round(neg, qr[0], a.exp - b.exp - shift, qr[1].signum() != 0, f, rm);
    }

    private long sqrtExact(Exact a, Format f, int rm) {
        int shift = 2 * (f.precision() + 3);
        int exp = a.exp - shift;
        BigInteger m = a.mag.shiftLeft(shift);
        if ((exp & 1) != 0) { // make the exponent even so it halves exactly
            m = m.shiftLeft(1);
            exp -= 1;
        }
        BigInteger s = m.sqrt();
        return round(false, s, exp / 2, !s.multiply(s).equals(m), f, rm);
    }

    /** Rounds a double-precision value (exact) to format {@code f}. */
    private long roundDouble(long bits, Format f, int rm) {
        Exact e = exact(bits, D);
        return round(e.negative, e.mag, e.exp, false, f, rm);
    }

    /**
     * Rounds sign × mag × 2^exp (+ a sticky amount below the last bit when {@code sticky}) to format
     * {@code f} in mode {@code rm}, raising NX, UF (tininess after rounding) and OF as IEEE 754 says.
     * Returns the raw bits (singles in the low 32 bits, unboxed).
     */
    private long round(boolean neg, BigInteger mag, int exp, boolean sticky, Format f, int rm) {
        int p = f.precision();
        int topExp = exp + mag.bitLength() - 1;                   // exponent of the leading one
        int lsbExp = Math.max(topExp, f.minExp()) - (p - 1);      // subnormals keep the minimum exponent
        BigInteger q;
        boolean roundBit, lower;
        int shift = lsbExp - exp;
        if (shift <= 0) {
            q = mag.shiftLeft(-shift);
            roundBit = false;
            lower = sticky;
        } else {
            q = mag.shiftRight(shift);
            roundBit = mag.testBit(shift - 1);
            lower = sticky || mag.getLowestSetBit() < shift - 1;
        }
        boolean inexact = roundBit || lower;
        if (increment(neg, q.testBit(0), roundBit, lower, rm)) q = q.add(BigInteger.ONE);
        if (q.bitLength() > p) { // carried into a new binade
            q = q.shiftRight(1);
            lsbExp++;
        }
        int resultTop = lsbExp + q.bitLength() - 1;
        if (q.signum() != 0 && resultTop > f.maxExp()) {
            fflags |= OF | NX;
            boolean toInfinity = rm == RNE || rm == RMM || (rm == RUP && !neg) || (rm == RDN && neg);
            return toInfinity ? infinity(neg, f) : maxFinite(neg, f);
        }
        if (inexact) {
            fflags |= NX;
            if (topExp < f.minExp() && tinyAfterRounding(neg, mag, exp, sticky, f, rm)) fflags |= UF;
        }
        long bits;
        if (q.bitLength() == p) {
            bits = ((long) (resultTop + f.bias()) << f.fracBits()) | (q.longValue() & ((1L << f.fracBits()) - 1));
        } else {
            bits = q.longValue(); // subnormal or zero
        }
        if (neg) bits |= f == D ? Long.MIN_VALUE : 0x80000000L;
        return bits;
    }

    /** RISC-V detects tininess after rounding: round with an unbounded exponent and compare to 2^emin. */
    private static boolean tinyAfterRounding(boolean neg, BigInteger mag, int exp, boolean sticky, Format f, int rm) {
        int p = f.precision();
        int topExp = exp + mag.bitLength() - 1;
        int shift = topExp - (p - 1) - exp;
        if (shift <= 0) return true; // exact at unbounded precision: stays below 2^emin
        BigInteger q = mag.shiftRight(shift);
        boolean roundBit = mag.testBit(shift - 1);
        boolean lower = sticky || mag.getLowestSetBit() < shift - 1;
        if (increment(neg, q.testBit(0), roundBit, lower, rm)) q = q.add(BigInteger.ONE);
        int top = topExp + (q.bitLength() > p ? 1 : 0);
        return top < f.minExp();
    }

    private static boolean increment(boolean neg, boolean odd, boolean roundBit, boolean lower, int rm) {
        return switch (rm) {
            case RNE -> roundBit && (lower || odd);
            case RTZ -> false;
            case RDN -> neg && (roundBit || lower);
            case RUP -> !neg && (roundBit || lower);
            default -> roundBit; // RMM: ties away from zero
        };
    }

    // ------------------------------------------------------------------ small helpers

    private long invalidD() {
        fflags |= NV;
        return CANON_D;
    }

    /** Raises NV; returns 0 so callers can OR it into a result. */
    private long invalid() {
        fflags |= NV;
        return 0;
    }

    private long nanD(long a, long b, int unused) {
        if (isSNaN(a) || isSNaN(b)) fflags |= NV;
        return CANON_D;
    }

    private long nanS(int a, int b, int unused) {
        if (isSNaN(a) || isSNaN(b)) fflags |= NV;
        return box(CANON_S);
    }

    private static double toDouble(long bits, Format f) {
        return f == D ? Double.longBitsToDouble(bits) : Float.intBitsToFloat((int) bits);
    }

    private static long bitsOf(long bits, Format f) {
        return f == D ? bits : bits & 0xffffffffL;
    }

    private static long canon(Format f) {
        return f == D ? CANON_D : CANON_S & 0xffffffffL;
    }

    private static long infinity(boolean neg, Format f) {
        return f == D ? (neg ? 0xfff0000000000000L : 0x7ff0000000000000L) : (neg ? 0xff800000L : 0x7f800000L);
    }

    private static long maxFinite(boolean neg, Format f) {
        return f == D ? (neg ? 0xffefffffffffffffL : 0x7fefffffffffffffL) : (neg ? 0xff7fffffL : 0x7f7fffffL);
    }

    private static long zero(boolean neg, Format f) {
        return neg ? (f == D ? Long.MIN_VALUE : 0x80000000L) : 0;
    }
}
