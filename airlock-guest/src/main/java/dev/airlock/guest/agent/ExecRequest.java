package dev.airlock.guest.agent;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A command for the agent to run.
 *
 * @param argv        the program (looked up on the child's PATH) and its arguments
 * @param env         variables set for the child, replacing the agent's of the same name
 * @param cwd         the child's working directory; empty for the agent's own
 * @param streamStdin whether the host writes the child's stdin; otherwise it reads /dev/null
 * @param clearEnv    start from an empty environment instead of the agent's
 */
public record ExecRequest(List<String> argv, Map<String, String> env, String cwd, boolean streamStdin,
        boolean clearEnv) {

    public ExecRequest {
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("no command given");
        }
        for (String argument : argv) {
            noNul(argument, "an argument");
        }
        for (var variable : env.entrySet()) {
            if (variable.getKey().isEmpty() || variable.getKey().indexOf('=') >= 0) {
                throw new IllegalArgumentException("not a valid environment variable name: '" + variable.getKey() + "'");
            }
            noNul(variable.getKey(), "an environment variable name");
            noNul(variable.getValue(), "an environment variable value");
        }
        noNul(cwd, "the working directory");
    }

    public static ExecRequest of(String... argv) {
        return new ExecRequest(List.of(argv), Map.of(), "", false, false);
    }

    public static ExecRequest of(List<String> argv) {
        return new ExecRequest(argv, Map.of(), "", false, false);
    }

    public ExecRequest withEnv(String name, String value) {
        var merged = new LinkedHashMap<>(env);
        merged.put(name, value);
        return new ExecRequest(argv, merged, cwd, streamStdin, clearEnv);
    }

    public ExecRequest withEnv(Map<String, String> variables) {
        var merged = new LinkedHashMap<>(env);
        merged.putAll(variables);
        return new ExecRequest(argv, merged, cwd, streamStdin, clearEnv);
    }

    public ExecRequest withCwd(String directory) {
        return new ExecRequest(argv, env, directory, streamStdin, clearEnv);
    }

    /** The host will write the child's stdin through {@link ExecProcess#stdin()}. */
    public ExecRequest withStdin() {
        return new ExecRequest(argv, env, cwd, true, clearEnv);
    }

    /** The child sees only {@link #env}, not the agent's environment. */
    public ExecRequest withClearEnv() {
        return new ExecRequest(argv, env, cwd, streamStdin, true);
    }

    private static void noNul(String text, String what) {
        if (text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " cannot contain a NUL character");
        }
    }
}
