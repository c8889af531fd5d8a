package dev.airlock.store.bench;

import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the store benchmarks. Arguments are JMH's own (e.g. {@code -p logMiB=10240}, {@code -f 1}); without
 * a benchmark pattern it runs every benchmark of this package.
 */
public final class StoreBenchMain {
    private StoreBenchMain() {
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException {
        CommandLineOptions cli = new CommandLineOptions(args);
        OptionsBuilder builder = new OptionsBuilder();
        builder.parent(cli);
        if (cli.getIncludes().isEmpty()) {
            builder.include(StoreBenchMain.class.getPackageName() + "\\..*Bench");
        }
        new Runner(builder.build()).run();
    }
}
