package dev.airlock.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code airlock ps} shows for a running VM, and what its memory really costs the host: guest
 * RAM resident on the host (mincore over the VM's mapping), what the balloon holds or the guest
 * reported free, and the whole JVM's RSS and PSS from {@code /proc/self/smaps_rollup} as a cross-check.
 */
record VmStatus(String name, long pid, long cid, int cpus, long memoryBytes, long residentBytes,
                long balloonBytes, long reportedBytes, long guestInstructions, long uptimeMillis,
                long processRssBytes, long processPssBytes) {

    String toJson() {
        var fields = new LinkedHashMap<String, Object>();
        fields.put("name", name);
        fields.put("pid", pid);
        fields.put("cid", cid);
        fields.put("cpus", cpus);
        fields.put("memory_bytes", memoryBytes);
        fields.put("resident_bytes", residentBytes);
        fields.put("balloon_bytes", balloonBytes);
        fields.put("reported_free_bytes", reportedBytes);
        fields.put("guest_instructions", guestInstructions);
        fields.put("uptime_ms", uptimeMillis);
        fields.put("process_rss_bytes", processRssBytes);
        fields.put("process_pss_bytes", processPssBytes);
        var json = new StringBuilder("{");
        for (var e : fields.entrySet()) {
            if (json.length() > 1) json.append(',');
            json.append('"').append(e.getKey()).append("\":");
            json.append(e.getValue() instanceof String s ? '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"' : e.getValue());
        }
        return json.append('}').toString();
    }

    private static final Pattern FIELD = Pattern.compile("\"([a-z_]+)\":(\"(?:[^\"\\\\]|\\\\.)*\"|-?\\d+)");

    /** Parses what {@link #toJson} wrote (our own format, one flat object). */
    static VmStatus fromJson(String json) {
        Map<String, String> f = new LinkedHashMap<>();
        Matcher m = FIELD.matcher(json);
        while (m.find()) f.put(m.group(1), m.group(2));
        if (!f.containsKey("name")) throw new IllegalArgumentException("not a VM status: " + json);
        return new VmStatus(unquote(f.get("name")), num(f, "pid"), num(f, "cid"), (int) num(f, "cpus"),
                num(f, "memory_bytes"), num(f, "resident_bytes"), num(f, "balloon_bytes"), num(f, "reported_free_bytes"),
                num(f, "guest_instructions"), num(f, "uptime_ms"), num(f, "process_rss_bytes"), num(f, "process_pss_bytes"));
    }

    private static long num(Map<String, String> f, String key) {
        String v = f.get(key);
        return v == null ? -1 : Long.parseLong(v);
    }

    private static String unquote(String s) {
        return s.substring(1, s.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
    }

    /** {Rss, Pss} of this process in bytes, from smaps_rollup; -1 where the kernel does not say. */
    static long[] processRssPss() {
        long rss = -1, pss = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps_rollup"))) {
                if (line.startsWith("Rss:")) rss = kib(line);
                else if (line.startsWith("Pss:")) pss = kib(line);
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or no smaps_rollup (before 4.14): leave -1.
        }
        return new long[] {rss, pss};
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }
}
