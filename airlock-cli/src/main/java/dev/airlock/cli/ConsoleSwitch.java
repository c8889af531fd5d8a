package dev.airlock.cli;

import java.io.IOException;
import java.io.OutputStream;

/** A console whose destination is set later: a pooled clone's, which gets its owner's stream when it is taken. */
final class ConsoleSwitch extends OutputStream {
    private volatile OutputStream target = OutputStream.nullOutputStream();

    void to(OutputStream target) { this.target = target; }

    @Override
    public void write(int b) throws IOException { target.write(b); }

    @Override
    public void write(byte[] b, int off, int len) throws IOException { target.write(b, off, len); }

    @Override
    public void flush() throws IOException { target.flush(); }
}
