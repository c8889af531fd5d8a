package dev.airlock.cpu.rv64;

import java.math.BigDecimal;
import java.util.SplittableRandom;

/**
 * A second, independently written check of the F/D unit (beside FpuTest's vectors and exact model): RNE results against the JDK's IEEE arithmetic,
 * inexact flags against exact BigDecimal arithmetic, directed modes bracketing the exact value one
 * ulp apart, fma against Math.fma, and the conversion and flag edge cases. Fixed seed; bounded.
 */
class FpuCrossCheckTest {
    static SplittableRandom rnd = new SplittableRandom(Long.getLong("airlock.test.seed", 42));
    static long rd() {
        switch (rnd.nextInt(6)) {
            case 0: return Double.doubleToRawLongBits(rnd.nextDouble() * Math.scalb(1.0, rnd.nextInt(-1080, 1030)) * (rnd.nextBoolean() ? 1 : -1));
            case 1: return rnd.nextLong();
            case 2: return Double.doubleToRawLongBits(Math.scalb(1.0 + rnd.nextInt(16) / 16.0, rnd.nextInt(-1075, 1024)));
            default: return Double.doubleToRawLongBits((rnd.nextInt(2000) - 1000) / 8.0);
        }
    }
    static int fails = 0;
    static void check(boolean ok, String what) { if (!ok && fails++ < 20) System.out.println("FAIL " + what); }
    @org.junit.jupiter.api.Test
    void randomizedAgainstReferences() {
        fails = 0;
        Fpu u = new Fpu();
        for (int i = 0; i < 20000; i++) {
            long x = rd(), y = rd();
            double dx = Double.longBitsToDouble(x), dy = Double.longBitsToDouble(y);
            // RNE results equal Java's (which is IEEE RNE), NaNs canonical
            long[] got = {u.addD(x, y, 0), u.subD(x, y, 0), u.mulD(x, y, 0), u.divD(x, y, 0), u.sqrtD(x, 0)};
            double[] want = {dx + dy, dx - dy, dx * dy, dx / dy, Math.sqrt(dx)};
            for (int k = 0; k < 5; k++) {
                long w = Double.isNaN(want[k]) ? 0x7ff8000000000000L : Double.doubleToRawLongBits(want[k]);
                check(got[k] == w, "op" + k + " " + dx + " " + dy + " got " + Double.longBitsToDouble(got[k]) + " want " + want[k]);
            }
            // NX flag for add against exact BigDecimal
            if (Double.isFinite(dx) && Double.isFinite(dy) && Double.isFinite(dx + dy)) {
                u.fflags = 0; u.addD(x, y, 0);
                boolean exact = new BigDecimal(dx).add(new BigDecimal(dy)).compareTo(new BigDecimal(dx + dy)) == 0;
                check(((u.fflags & 1) == 0) == exact, "NX add " + dx + " " + dy);
                u.fflags = 0; u.mulD(x, y, 0);
                double p = dx * dy;
                if (Double.isFinite(p)) {
                    boolean ex = new BigDecimal(dx).multiply(new BigDecimal(dy)).compareTo(new BigDecimal(p)) == 0;
                    check(((u.fflags & 1) == 0) == ex, "NX mul " + dx + " " + dy + " flags " + u.fflags);
                }
                // directed modes bracket the exact value, and RDN/RUP differ by one ulp when inexact
                for (int op = 0; op < 3; op++) {
                    BigDecimal ex = op == 0 ? new BigDecimal(dx).add(new BigDecimal(dy)) : op == 1 ? new BigDecimal(dx).multiply(new BigDecimal(dy)) : null;
                    if (ex == null) { if (dy == 0) continue; ex = new BigDecimal(dx).divide(new BigDecimal(dy), new java.math.MathContext(1200)); }
                    long dn = op == 0 ? u.addD(x, y, 2) : op == 1 ? u.mulD(x, y, 2) : u.divD(x, y, 2);
                    long up = op == 0 ? u.addD(x, y, 3) : op == 1 ? u.mulD(x, y, 3) : u.divD(x, y, 3);
                    long tz = op == 0 ? u.addD(x, y, 1) : op == 1 ? u.mulD(x, y, 1) : u.divD(x, y, 1);
                    double ddn = Double.longBitsToDouble(dn), dup = Double.longBitsToDouble(up), dtz = Double.longBitsToDouble(tz);
                    if (Double.isInfinite(ddn) || Double.isInfinite(dup)) continue;
                    check(new BigDecimal(ddn).compareTo(ex) <= 0 && new BigDecimal(dup).compareTo(ex) >= 0, "bracket op" + op + " " + dx + " " + dy + " dn " + ddn + " up " + dup);
                    check(ddn == dup || Math.nextUp(ddn) == dup || (ddn == 0 && dup == 0), "adjacent op" + op + " " + dx + " " + dy);
                    check(dtz == (ex.signum() >= 0 ? ddn : dup) || (dtz == 0 && ddn == 0), "rtz op" + op);
                }
            }
            // single precision RNE vs Java float arithmetic
            float fx = (float) dx, fy = (float) dy;
            long bx = 0xffffffff00000000L | (Float.floatToRawIntBits(fx) & 0xffffffffL), by = 0xffffffff00000000L | (Float.floatToRawIntBits(fy) & 0xffffffffL);
            float[] fw = {fx + fy, fx * fy, fx / fy, (float) Math.sqrt(fx)};
            long[] fg = {u.addS(bx, by, 0), u.mulS(bx, by, 0), u.divS(bx, by, 0), u.sqrtS(bx, 0)};
            for (int k = 0; k < 4; k++) {
                int w = Float.isNaN(fw[k]) ? 0x7fc00000 : Float.floatToRawIntBits(fw[k]);
                check((int) fg[k] == w && (fg[k] >>> 32) == 0xffffffffL, "S op" + k + " " + fx + " " + fy + " got " + Float.intBitsToFloat((int) fg[k]) + " want " + fw[k]);
            }
            // fma D RNE vs Math.fma
            long z = rd(); double dz = Double.longBitsToDouble(z);
            double fm = Math.fma(dx, dy, dz);
            long fmw = Double.isNaN(fm) ? 0x7ff8000000000000L : Double.doubleToRawLongBits(fm);
            check(u.fmaddD(x, y, z, 0) == fmw, "fma " + dx + " " + dy + " " + dz + " got " + Double.longBitsToDouble(u.fmaddD(x, y, z, 0)) + " want " + fm);
            // conversions
            if (Double.isFinite(dx) && Math.abs(dx) < 1e18) {
                check(u.fcvtLD(x, 1) == (long) dx, "cvt.l.d rtz " + dx);
                check(u.fcvtDL((long) dx, 0) == Double.doubleToRawLongBits((double) (long) dx), "cvt.d.l");
            }
            check((int) u.fcvtSD(x, 0) == (Double.isNaN(dx) ? 0x7fc00000 : Float.floatToRawIntBits((float) dx)), "cvt.s.d " + dx);
        }
        u.fflags = 0; check(u.fcvtWD(Double.doubleToRawLongBits(3e9), 1) == Integer.MAX_VALUE && u.fflags == 16, "cvt.w sat");
        u.fflags = 0; check(u.fcvtWUD(Double.doubleToRawLongBits(-1.0), 1) == 0 && u.fflags == 16, "cvt.wu neg");
        u.fflags = 0; check(u.fcvtLUD(Double.doubleToRawLongBits(0x1p63), 1) == Long.MIN_VALUE && u.fflags == 0, "cvt.lu 2^63");
        u.fflags = 0; check(u.divD(Double.doubleToRawLongBits(1.0), 0, 0) == 0x7ff0000000000000L && u.fflags == 8, "div by zero");
        u.fflags = 0; check(u.divD(0x7ff0000000000000L, 0, 0) == 0x7ff0000000000000L && u.fflags == 0, "inf / 0 raises nothing");
        u.fflags = 0; check(u.divS(0xffffffff7f800000L, 0xffffffff00000000L, 0) == 0xffffffff7f800000L && u.fflags == 0, "inf / 0 single");
        u.fflags = 0; check(u.sqrtD(0x000fffffffffffffL, 0) == 0x1fffffffffffffffL && u.fflags == 1, "sqrt of a subnormal is inexact " + u.fflags);
        u.fflags = 0; check(u.mulD(Double.doubleToRawLongBits(Double.MIN_NORMAL), Double.doubleToRawLongBits(0.5 + 0x1p-53), 0) != 0 && (u.fflags & 3) == 3, "underflow flags " + u.fflags);
        u.fflags = 0; check(u.addD(Double.doubleToRawLongBits(Double.MAX_VALUE), Double.doubleToRawLongBits(Double.MAX_VALUE), 1) == 0x7fefffffffffffffL && u.fflags == 5, "overflow rtz " + u.fflags);
        org.junit.jupiter.api.Assertions.assertEquals(0, fails, "see FAIL lines above (seed " + Long.getLong("airlock.test.seed", 42) + ")");
    }
}
