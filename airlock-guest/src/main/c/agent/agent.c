/*
 * airlock-agent: the guest side of Airlock's agent protocol (docs/agent-protocol.md).
 *
 * One process, one thread, one poll() loop. Every socket and every pipe end the agent keeps is
 * non-blocking, so no single stream can stall the others: a child's output is read only while the
 * host has granted credit for that stream and the connection's outbound buffer is below its
 * high-water mark; a slow host therefore stops its own children (they block on a full pipe) and
 * nothing else.
 *
 * The same source builds with the host's gcc for tests (--listen unix:/path) and with
 * riscv64-linux-gnu-gcc -static -Os for the guest (--listen vsock:1024). C11 plus POSIX/Linux.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define AGENT_NAME "airlock-agent 1.0"
#define PROTO_MAJOR 1
#define PROTO_MINOR 0

/* Frame header: u32 payload length, u8 type, u32 stream id; all big-endian. */
#define HEADER_BYTES 9u
#define MAX_PAYLOAD_BYTES (1u << 20)
/* Credit the host gets for each exec's stdin; announced in our HELLO. */
#define STDIN_WINDOW_BYTES (256u * 1024)
#define MIN_OUTPUT_WINDOW_BYTES 4096u
#define MAX_OUTPUT_WINDOW_BYTES (64u << 20)
/* Stop reading children and files while a connection has this much unsent. */
#define OUT_HIGH_WATER_BYTES (1u << 20)
/* Stop reading the host's socket while this much is unsent: a host that never reads cannot make
 * us grow without bound by sending pings. Credit keeps exec output far below this. */
#define OUT_HARD_LIMIT_BYTES (8u << 20)
#define READ_CHUNK_BYTES (128u * 1024)
#define MAX_CONNS 32
#define MAX_REQUESTS_PER_CONN 64
#define MAX_ARGS 4096
#define CLOSE_LINGER_MS 2000
#define MAX_LISTENERS 8

enum frame_type {
    T_HELLO = 0x01, T_PING = 0x02, T_PONG = 0x03, T_ERROR = 0x0F,
    T_EXEC = 0x10, T_STARTED = 0x11, T_STDOUT = 0x12, T_STDERR = 0x13, T_STDIN = 0x14,
    T_STDIN_CLOSE = 0x15, T_EXIT = 0x16, T_SIGNAL = 0x17, T_WINDOW = 0x18,
    T_FILE_PUT = 0x20, T_FILE_DATA = 0x21, T_FILE_END = 0x22, T_FILE_PUT_OK = 0x23, T_FILE_GET = 0x24,
};
enum { EXEC_STDIN_STREAM = 1u, EXEC_CLEAR_ENV = 2u, EXEC_KNOWN_FLAGS = 3u };
enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2 };
enum { SIGNAL_GROUP = 1u };

struct buf {
    uint8_t *data;
    size_t off, len, cap; /* live bytes are data[off, off+len) */
};

struct exec {
    struct exec *next;
    uint32_t id;
    pid_t pid;
    int out_fd[2];           /* stdout, stderr read ends; -1 after EOF */
    uint32_t out_credit[2];  /* bytes the host lets us send on each */
    int in_fd;               /* stdin write end; -1 when none or closed */
    struct buf in;           /* stdin bytes received, not yet written to the child */
    int in_close_pending;
    uint32_t in_unacked;     /* stdin bytes received whose credit we have not returned */
    uint32_t in_grant;       /* of those, bytes already consumed, to return in a WINDOW */
    int reaped, status, done;
};

struct fileop {
    struct fileop *next;
    uint32_t id;
    int fd, is_get, done;
    uint32_t mode;
    char *path, *tmp_path;   /* put: final path and the temporary it is written to */
    uint64_t bytes;
};

struct conn {
    int fd, hello_done, closing, dead;
    long long close_deadline_ms;
    struct buf in, out;
    uint32_t output_window;
    struct exec *execs;
    struct fileop *files;
    int n_requests;
};

static struct conn *conns[MAX_CONNS];
static int listen_fds[MAX_LISTENERS];
static int n_listeners;
static int sigchld_pipe[2] = {-1, -1};

/* ---- small helpers ---- */

static void logf_(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("airlock-agent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) {
        logf_("out of memory (%zu bytes)", n);
        abort();
    }
    return q;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_u64(uint8_t *p, uint64_t v) { put_u32(p, (uint32_t)(v >> 32)); put_u32(p + 4, (uint32_t)v); }
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* Ensures room for n more bytes after the live region. */
static void buf_reserve(struct buf *b, size_t n) {
    if (b->cap - b->off - b->len >= n) return;
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        if (b->cap - b->len >= n) return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

static void buf_consume(struct buf *b, size_t n) {
    b->off += n;
    b->len -= n;
    if (b->len == 0) b->off = 0;
}

static void buf_free(struct buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- payload reader: any overrun marks it bad, checked once at the end ---- */

struct rd {
    const uint8_t *p;
    size_t len, pos;
    int bad;
};

static uint32_t rd_u32(struct rd *r) {
    if (r->len - r->pos < 4) { r->bad = 1; return 0; }
    uint32_t v = get_u32(r->p + r->pos);
    r->pos += 4;
    return v;
}
static uint16_t rd_u16(struct rd *r) {
    if (r->len - r->pos < 2) { r->bad = 1; return 0; }
    uint16_t v = (uint16_t)(r->p[r->pos] << 8 | r->p[r->pos + 1]);
    r->pos += 2;
    return v;
}
static uint8_t rd_u8(struct rd *r) {
    if (r->len - r->pos < 1) { r->bad = 1; return 0; }
    return r->p[r->pos++];
}
/* A u32-length-prefixed byte string, returned as a fresh NUL-terminated copy; one holding a NUL
 * byte is malformed (paths, argv and env cannot carry one). */
static char *rd_cstr(struct rd *r) {
    uint32_t n = rd_u32(r);
    if (r->bad || n > r->len - r->pos || memchr(r->p + r->pos, 0, n)) { r->bad = 1; return NULL; }
    char *s = xrealloc(NULL, (size_t)n + 1);
    memcpy(s, r->p + r->pos, n);
    s[n] = 0;
    r->pos += n;
    return s;
}

/* ---- outbound frames ---- */

static size_t frame_start;

/* Reserves a frame of up to max_payload bytes and returns where its payload goes. */
static uint8_t *frame_begin(struct conn *c, size_t max_payload) {
    buf_reserve(&c->out, HEADER_BYTES + max_payload);
    frame_start = c->out.off + c->out.len;
    return c->out.data + frame_start + HEADER_BYTES;
}

static void frame_end(struct conn *c, uint8_t type, uint32_t id, size_t payload_len) {
    uint8_t *h = c->out.data + frame_start;
    put_u32(h, (uint32_t)payload_len);
    h[4] = type;
    put_u32(h + 5, id);
    c->out.len += HEADER_BYTES + payload_len;
}

static void send_frame(struct conn *c, uint8_t type, uint32_t id, const void *payload, size_t len) {
    uint8_t *p = frame_begin(c, len);
    if (len) memcpy(p, payload, len);
    frame_end(c, type, id, len);
}

static void send_error(struct conn *c, uint32_t id, int err, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    uint8_t *p = frame_begin(c, 8 + (size_t)n);
    put_u32(p, (uint32_t)err);
    put_u32(p + 4, (uint32_t)n);
    memcpy(p + 8, msg, (size_t)n);
    frame_end(c, T_ERROR, id, 8 + (size_t)n);
}

/* A protocol violation: say why in an ERROR frame on stream 0, then close once it is sent. */
static void fatal(struct conn *c, int err, const char *fmt, ...) {
    if (c->closing) return;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    logf_("closing connection: %s", msg);
    send_error(c, 0, err, "%s", msg);
    c->closing = 1;
    c->close_deadline_ms = now_ms() + CLOSE_LINGER_MS;
}

static void send_window(struct conn *c, uint32_t id, uint8_t channel, uint32_t increment) {
    uint8_t p[5];
    p[0] = channel;
    put_u32(p + 1, increment);
    send_frame(c, T_WINDOW, id, p, sizeof p);
}

/* ---- requests ---- */

static struct exec *find_exec(struct conn *c, uint32_t id) {
    for (struct exec *e = c->execs; e; e = e->next)
        if (e->id == id && !e->done) return e;
    return NULL;
}

static struct fileop *find_file(struct conn *c, uint32_t id) {
    for (struct fileop *f = c->files; f; f = f->next)
        if (f->id == id && !f->done) return f;
    return NULL;
}

static int id_in_use(struct conn *c, uint32_t id) {
    return find_exec(c, id) || find_file(c, id);
}

static void finish_file(struct conn *c, struct fileop *f) {
    close_fd(&f->fd);
    if (f->tmp_path) unlink(f->tmp_path);
    f->done = 1;
    c->n_requests--;
}

/* Returns consumed stdin credit to the host, batched so a byte-at-a-time writer costs little. */
static void maybe_grant_stdin(struct conn *c, struct exec *e) {
    if (e->in_grant && (e->in_grant >= STDIN_WINDOW_BYTES / 4 || e->in.len == 0)) {
        send_window(c, e->id, CH_STDIN, e->in_grant);
        e->in_unacked -= e->in_grant;
        e->in_grant = 0;
    }
}

static void close_stdin(struct conn *c, struct exec *e) {
    close_fd(&e->in_fd);
    e->in_grant += (uint32_t)e->in.len; /* discarded bytes count as consumed */
    buf_consume(&e->in, e->in.len);
    maybe_grant_stdin(c, e);
}

static void pump_stdin(struct conn *c, struct exec *e) {
    while (e->in_fd >= 0 && e->in.len > 0) {
        ssize_t n = write(e->in_fd, e->in.data + e->in.off, e->in.len);
        if (n > 0) {
            buf_consume(&e->in, (size_t)n);
            e->in_grant += (uint32_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            break;
        } else { /* EPIPE: the child closed its stdin; what is left goes nowhere */
            close_stdin(c, e);
            return;
        }
    }
    if (e->in_fd >= 0 && e->in.len == 0 && e->in_close_pending) close_fd(&e->in_fd);
    maybe_grant_stdin(c, e);
}

/* vfork: the child borrows the agent's memory until it execs or exits, so an exec costs the guest
 * no copy of the agent's page tables and no copy-on-write faults afterwards. The child only makes
 * system calls (no allocation, no writes to the agent's globals) before execvpe or _exit. ASan
 * cannot follow a vfork child, so its build forks. */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_FORK() fork()
#else
#define SPAWN_FORK() vfork()
#endif

struct spawn_failure {
    int stage; /* 1 chdir, 2 exec */
    int err;
};

static void spawn(struct conn *c, uint32_t id, uint32_t flags, char *cwd, char **argv, char **envp) {
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, inp[2] = {-1, -1}, failp[2] = {-1, -1};
    if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(failp, O_CLOEXEC) ||
        ((flags & EXEC_STDIN_STREAM) && pipe2(inp, O_CLOEXEC))) {
        int err = errno;
        send_error(c, id, err, "pipe: %s", strerror(err));
        goto fail;
    }
    pid_t pid = SPAWN_FORK();
    if (pid < 0) {
        int err = errno;
        send_error(c, id, err, "fork: %s", strerror(err));
        goto fail;
    }
    if (pid == 0) {
        /* Child: its own session (so SIGNAL with the group flag reaches a whole pipeline), default
         * signal dispositions (SIG_IGN would survive exec), then the command. */
        setsid();
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        int in = inp[0] >= 0 ? inp[0] : open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0) _exit(127);
        struct spawn_failure failure = {0, 0};
        if (cwd[0] && chdir(cwd) != 0) {
            failure.stage = 1;
        } else {
            execvpe(argv[0], argv, envp);
            failure.stage = 2;
        }
        failure.err = errno;
        ssize_t ignored = write(failp[1], &failure, sizeof failure);
        (void)ignored;
        _exit(127);
    }
    close_fd(&outp[1]);
    close_fd(&errp[1]);
    close_fd(&inp[0]);
    close_fd(&failp[1]);
    /* Blocks only until the child's execve succeeds (EOF through O_CLOEXEC) or fails. */
    struct spawn_failure failure;
    ssize_t n;
    do n = read(failp[0], &failure, sizeof failure);
    while (n < 0 && errno == EINTR);
    close_fd(&failp[0]);
    if (n == (ssize_t)sizeof failure) {
        /* The child has _exit()ed; the SIGCHLD reaper collects it as a stranger. */
        if (failure.stage == 1)
            send_error(c, id, failure.err, "cannot change directory to %s: %s", cwd, strerror(failure.err));
        else
            send_error(c, id, failure.err, "cannot execute %s: %s", argv[0], strerror(failure.err));
        goto fail;
    }
    struct exec *e = xrealloc(NULL, sizeof *e);
    memset(e, 0, sizeof *e);
    e->id = id;
    e->pid = pid;
    e->out_fd[0] = outp[0];
    e->out_fd[1] = errp[0];
    e->out_credit[0] = e->out_credit[1] = c->output_window;
    e->in_fd = inp[1];
    set_nonblock(outp[0]);
    set_nonblock(errp[0]);
    if (inp[1] >= 0) set_nonblock(inp[1]);
    e->next = c->execs;
    c->execs = e;
    c->n_requests++;
    uint8_t p[4];
    put_u32(p, (uint32_t)pid);
    send_frame(c, T_STARTED, id, p, sizeof p);
    return;
fail:
    close_fd(&outp[0]); close_fd(&outp[1]);
    close_fd(&errp[0]); close_fd(&errp[1]);
    close_fd(&inp[0]); close_fd(&inp[1]);
    close_fd(&failp[0]); close_fd(&failp[1]);
}

/* envp for the child: the agent's environment unless EXEC_CLEAR_ENV, with the request's
 * NAME=value entries replacing same-named ones. */
static char **build_env(char **req_env, uint32_t n_req, int clear) {
    size_t n_own = 0;
    if (!clear)
        for (char **v = environ; *v; v++) n_own++;
    char **envp = xrealloc(NULL, (n_own + n_req + 1) * sizeof *envp);
    size_t n = 0;
    for (size_t i = 0; i < n_own; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        int overridden = 0;
        for (uint32_t j = 0; j < n_req && !overridden; j++)
            overridden = strncmp(req_env[j], environ[i], name_len) == 0 && req_env[j][name_len] == '=';
        if (!overridden) envp[n++] = environ[i];
    }
    for (uint32_t j = 0; j < n_req; j++) envp[n++] = req_env[j];
    envp[n] = NULL;
    return envp;
}

static void handle_exec(struct conn *c, uint32_t id, const uint8_t *p, uint32_t len) {
    struct rd r = {p, len, 0, 0};
    uint32_t flags = rd_u32(&r);
    char *cwd = rd_cstr(&r);
    uint32_t argc = rd_u32(&r);
    char **argv = NULL, **env = NULL;
    uint32_t envc = 0, got_argv = 0, got_env = 0;
    if (!r.bad && (argc == 0 || argc > MAX_ARGS)) r.bad = 1;
    if (!r.bad) {
        argv = xrealloc(NULL, ((size_t)argc + 1) * sizeof *argv);
        while (got_argv < argc) {
            char *arg = rd_cstr(&r);
            if (r.bad) break;
            argv[got_argv++] = arg;
        }
        if (!r.bad) argv[argc] = NULL;
    }
    if (!r.bad) envc = rd_u32(&r);
    if (!r.bad && envc > MAX_ARGS) r.bad = 1;
    if (!r.bad) {
        env = xrealloc(NULL, ((size_t)envc + 1) * sizeof *env);
        while (got_env < envc) {
            char *var = rd_cstr(&r);
            if (r.bad) break;
            env[got_env++] = var;
            if (!strchr(var, '=') || var[0] == '=') { /* not NAME=value */
                r.bad = 1;
                break;
            }
        }
    }
    if (r.bad) {
        fatal(c, EBADMSG, "malformed EXEC payload on stream %u", id);
    } else if (id == 0 || id_in_use(c, id)) {
        fatal(c, EBADMSG, "EXEC on stream %u, which is 0 or already in use", id);
    } else if (flags & ~EXEC_KNOWN_FLAGS) {
        send_error(c, id, EINVAL, "unknown EXEC flags 0x%x", flags & ~EXEC_KNOWN_FLAGS);
    } else if (c->n_requests >= MAX_REQUESTS_PER_CONN) {
        send_error(c, id, EAGAIN, "too many requests on this connection (limit %d)", MAX_REQUESTS_PER_CONN);
    } else {
        char **envp = build_env(env, envc, (flags & EXEC_CLEAR_ENV) != 0);
        spawn(c, id, flags, cwd, argv, envp);
        free(envp);
    }
    for (uint32_t i = 0; i < got_argv && argv; i++) free(argv[i]);
    for (uint32_t i = 0; i < got_env && env; i++) free(env[i]);
    free(argv);
    free(env);
    free(cwd);
}

static void handle_file_put(struct conn *c, uint32_t id, const uint8_t *p, uint32_t len) {
    struct rd r = {p, len, 0, 0};
    uint32_t mode = rd_u32(&r);
    char *path = rd_cstr(&r);
    if (r.bad || !path[0]) {
        fatal(c, EBADMSG, "malformed FILE_PUT payload on stream %u", id);
    } else if (id == 0 || id_in_use(c, id)) {
        fatal(c, EBADMSG, "FILE_PUT on stream %u, which is 0 or already in use", id);
    } else if (c->n_requests >= MAX_REQUESTS_PER_CONN) {
        send_error(c, id, EAGAIN, "too many requests on this connection (limit %d)", MAX_REQUESTS_PER_CONN);
    } else {
        /* Written beside the target and renamed over it at FILE_END: nobody sees half a file. */
        size_t n = strlen(path);
        char *tmp = xrealloc(NULL, n + 24);
        snprintf(tmp, n + 24, "%s.airlock-XXXXXX", path);
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            send_error(c, id, err, "cannot create %s: %s", path, strerror(err));
            free(tmp);
        } else {
            struct fileop *f = xrealloc(NULL, sizeof *f);
            memset(f, 0, sizeof *f);
            f->id = id;
            f->fd = fd;
            f->mode = mode & 07777;
            f->path = path;
            f->tmp_path = tmp;
            f->next = c->files;
            c->files = f;
            c->n_requests++;
            return;
        }
    }
    free(path);
}

static void handle_file_data(struct conn *c, uint32_t id, const uint8_t *p, uint32_t len) {
    struct fileop *f = find_file(c, id);
    if (!f || f->is_get) return; /* a put that already failed: its ERROR is on the way */
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            send_error(c, id, err, "cannot write %s: %s", f->path, strerror(err));
            finish_file(c, f);
            return;
        }
        p += n;
        len -= (uint32_t)n;
        f->bytes += (uint64_t)n;
    }
}

static void handle_file_end(struct conn *c, uint32_t id) {
    struct fileop *f = find_file(c, id);
    if (!f || f->is_get) return;
    int err = 0;
    if (fchmod(f->fd, f->mode) != 0) err = errno;
    if (!err && close(f->fd) != 0) err = errno;
    f->fd = -1;
    if (!err && rename(f->tmp_path, f->path) != 0) err = errno;
    if (err) {
        send_error(c, id, err, "cannot finish %s: %s", f->path, strerror(err));
    } else {
        free(f->tmp_path);
        f->tmp_path = NULL;
        uint8_t b[8];
        put_u64(b, f->bytes);
        send_frame(c, T_FILE_PUT_OK, id, b, sizeof b);
    }
    finish_file(c, f);
}

static void handle_file_get(struct conn *c, uint32_t id, const uint8_t *p, uint32_t len) {
    struct rd r = {p, len, 0, 0};
    char *path = rd_cstr(&r);
    if (r.bad || !path[0]) {
        fatal(c, EBADMSG, "malformed FILE_GET payload on stream %u", id);
    } else if (id == 0 || id_in_use(c, id)) {
        fatal(c, EBADMSG, "FILE_GET on stream %u, which is 0 or already in use", id);
    } else if (c->n_requests >= MAX_REQUESTS_PER_CONN) {
        send_error(c, id, EAGAIN, "too many requests on this connection (limit %d)", MAX_REQUESTS_PER_CONN);
    } else {
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
            int err = errno;
            send_error(c, id, err, "cannot open %s: %s", path, strerror(err));
        } else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            int err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
            send_error(c, id, err, "cannot read %s: %s", path,
                       err == EISDIR ? "is a directory" : "not a regular file");
            close(fd);
        } else {
            struct fileop *f = xrealloc(NULL, sizeof *f);
            memset(f, 0, sizeof *f);
            f->id = id;
            f->fd = fd;
            f->is_get = 1;
            f->path = path;
            f->next = c->files;
            c->files = f;
            c->n_requests++;
            return;
        }
    }
    free(path);
}

static void handle_frame(struct conn *c, uint8_t type, uint32_t id, const uint8_t *p, uint32_t len) {
    struct rd r = {p, len, 0, 0};
    if (!c->hello_done) {
        if (type != T_HELLO) {
            fatal(c, EPROTO, "expected HELLO as the first frame, got type 0x%02x", type);
            return;
        }
        uint16_t major = rd_u16(&r), minor = rd_u16(&r);
        uint32_t window = rd_u32(&r);
        if (r.bad) {
            fatal(c, EBADMSG, "malformed HELLO payload");
        } else if (major != PROTO_MAJOR) {
            fatal(c, EPROTONOSUPPORT, "protocol version %u.%u is not supported; this agent speaks %d.%d",
                  major, minor, PROTO_MAJOR, PROTO_MINOR);
        } else if (window < MIN_OUTPUT_WINDOW_BYTES || window > MAX_OUTPUT_WINDOW_BYTES) {
            fatal(c, EINVAL, "HELLO output window of %u bytes is outside [%u, %u]", window,
                  MIN_OUTPUT_WINDOW_BYTES, MAX_OUTPUT_WINDOW_BYTES);
        } else {
            c->hello_done = 1;
            c->output_window = window;
            const char *name = AGENT_NAME;
            size_t n = strlen(name);
            uint8_t *q = frame_begin(c, 16 + n);
            put_u16(q, PROTO_MAJOR);
            put_u16(q + 2, PROTO_MINOR);
            put_u32(q + 4, STDIN_WINDOW_BYTES);
            put_u32(q + 8, MAX_PAYLOAD_BYTES);
            put_u32(q + 12, (uint32_t)n);
            memcpy(q + 16, name, n);
            frame_end(c, T_HELLO, 0, 16 + n);
        }
        return;
    }
    switch (type) {
    case T_PING:
        send_frame(c, T_PONG, id, p, len);
        break;
    case T_EXEC:
        handle_exec(c, id, p, len);
        break;
    case T_STDIN: {
        struct exec *e = find_exec(c, id);
        if (!e) break; /* raced with EXIT: nobody is reading any more */
        if (len > STDIN_WINDOW_BYTES - e->in_unacked) {
            fatal(c, EBADMSG, "STDIN on stream %u overruns its credit", id);
            break;
        }
        e->in_unacked += len;
        if (e->in_fd < 0 || e->in_close_pending) {
            e->in_grant += len;
        } else {
            buf_reserve(&e->in, len);
            memcpy(e->in.data + e->in.off + e->in.len, p, len);
            e->in.len += len;
        }
        pump_stdin(c, e);
        break;
    }
    case T_STDIN_CLOSE: {
        struct exec *e = find_exec(c, id);
        if (e) {
            e->in_close_pending = 1;
            pump_stdin(c, e);
        }
        break;
    }
    case T_SIGNAL: {
        int32_t signo = (int32_t)rd_u32(&r);
        uint32_t flags = rd_u32(&r);
        if (r.bad) {
            fatal(c, EBADMSG, "malformed SIGNAL payload on stream %u", id);
            break;
        }
        struct exec *e = find_exec(c, id);
        /* Never signal a reaped pid: it may already belong to someone else. */
        if (e && !e->reaped && kill((flags & SIGNAL_GROUP) ? -e->pid : e->pid, signo) != 0)
            logf_("signal %d to pid %d: %s", signo, (int)e->pid, strerror(errno));
        break;
    }
    case T_WINDOW: {
        uint8_t channel = rd_u8(&r);
        uint32_t increment = rd_u32(&r);
        if (r.bad || (channel != CH_STDOUT && channel != CH_STDERR)) {
            fatal(c, EBADMSG, "malformed WINDOW payload on stream %u", id);
            break;
        }
        struct exec *e = find_exec(c, id);
        if (!e) break;
        uint32_t *credit = &e->out_credit[channel - CH_STDOUT];
        if (increment > UINT32_MAX / 2 - *credit) {
            fatal(c, EBADMSG, "WINDOW on stream %u grows the credit past 2 GiB", id);
            break;
        }
        *credit += increment;
        break;
    }
    case T_FILE_PUT:
        handle_file_put(c, id, p, len);
        break;
    case T_FILE_DATA:
        handle_file_data(c, id, p, len);
        break;
    case T_FILE_END:
        handle_file_end(c, id);
        break;
    case T_FILE_GET:
        handle_file_get(c, id, p, len);
        break;
    case T_HELLO:
        fatal(c, EPROTO, "HELLO sent twice");
        break;
    default:
        fatal(c, EPROTO, "unexpected frame type 0x%02x from the host", type);
        break;
    }
}

/* ---- connection I/O ---- */

static void conn_read(struct conn *c) {
    for (;;) {
        buf_reserve(&c->in, 64 * 1024);
        ssize_t n = read(c->fd, c->in.data + c->in.off + c->in.len, c->in.cap - c->in.off - c->in.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) { /* EOF or a broken socket: nobody to report to */
            c->dead = 1;
            return;
        }
        c->in.len += (size_t)n;
        while (!c->closing && c->in.len >= HEADER_BYTES) {
            const uint8_t *h = c->in.data + c->in.off;
            uint32_t len = get_u32(h);
            if (len > MAX_PAYLOAD_BYTES) {
                fatal(c, EMSGSIZE, "frame payload of %u bytes exceeds the limit of %u", len, MAX_PAYLOAD_BYTES);
                break;
            }
            if (c->in.len < HEADER_BYTES + len) {
                buf_reserve(&c->in, HEADER_BYTES + len - c->in.len);
                break;
            }
            handle_frame(c, h[4], get_u32(h + 5), h + HEADER_BYTES, len);
            buf_consume(&c->in, HEADER_BYTES + len);
        }
        if (c->closing || c->out.len > OUT_HARD_LIMIT_BYTES || (size_t)n < 16 * 1024) break;
    }
}

static void conn_flush(struct conn *c) {
    while (c->out.len > 0) {
        ssize_t n = write(c->fd, c->out.data + c->out.off, c->out.len);
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            c->dead = 1;
            return;
        }
    }
}

/* Reads one chunk of a child's stdout (ch 0) or stderr (ch 1) straight into the outbound buffer. */
static void exec_read(struct conn *c, struct exec *e, int ch) {
    size_t want = e->out_credit[ch] < READ_CHUNK_BYTES ? e->out_credit[ch] : READ_CHUNK_BYTES;
    uint8_t *p = frame_begin(c, want);
    ssize_t n;
    do n = read(e->out_fd[ch], p, want);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) return;
    uint8_t type = ch == 0 ? T_STDOUT : T_STDERR;
    if (n <= 0) { /* EOF (or a pipe error, treated as one): an empty data frame says so */
        close_fd(&e->out_fd[ch]);
        frame_end(c, type, e->id, 0);
        return;
    }
    e->out_credit[ch] -= (uint32_t)n;
    frame_end(c, type, e->id, (size_t)n);
}

static void exec_maybe_finish(struct conn *c, struct exec *e) {
    if (e->done || !e->reaped || e->out_fd[0] >= 0 || e->out_fd[1] >= 0) return;
    uint8_t p[5];
    if (WIFSIGNALED(e->status)) {
        p[0] = 1;
        put_u32(p + 1, (uint32_t)WTERMSIG(e->status));
    } else {
        p[0] = 0;
        put_u32(p + 1, (uint32_t)WEXITSTATUS(e->status));
    }
    send_frame(c, T_EXIT, e->id, p, sizeof p);
    close_fd(&e->in_fd);
    e->done = 1;
    c->n_requests--;
}

static void file_get_pump(struct conn *c, struct fileop *f) {
    uint8_t *p = frame_begin(c, READ_CHUNK_BYTES);
    ssize_t n;
    do n = read(f->fd, p, READ_CHUNK_BYTES);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        f->bytes += (uint64_t)n;
        frame_end(c, T_FILE_DATA, f->id, (size_t)n);
    } else if (n == 0) {
        put_u64(p, f->bytes);
        frame_end(c, T_FILE_END, f->id, 8);
        finish_file(c, f);
    } else {
        int err = errno;
        send_error(c, f->id, err, "cannot read %s: %s", f->path, strerror(err));
        finish_file(c, f);
    }
}

static void conn_free(struct conn *c) {
    close_fd(&c->fd);
    for (struct exec *e = c->execs, *next; e; e = next) {
        next = e->next;
        /* A connection's processes die with it; reaped pids are left alone. */
        if (!e->reaped) {
            kill(-e->pid, SIGKILL);
            kill(e->pid, SIGKILL);
        }
        close_fd(&e->out_fd[0]);
        close_fd(&e->out_fd[1]);
        close_fd(&e->in_fd);
        buf_free(&e->in);
        free(e);
    }
    for (struct fileop *f = c->files, *next; f; f = next) {
        next = f->next;
        close_fd(&f->fd);
        if (f->tmp_path) unlink(f->tmp_path);
        free(f->tmp_path);
        free(f->path);
        free(f);
    }
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

/* Frees finished requests; called only between poll rounds, so no pointer in flight dangles. */
static void conn_sweep(struct conn *c) {
    for (struct exec **pe = &c->execs; *pe;) {
        struct exec *e = *pe;
        if (e->done) {
            *pe = e->next;
            close_fd(&e->out_fd[0]);
            close_fd(&e->out_fd[1]);
            close_fd(&e->in_fd);
            buf_free(&e->in);
            free(e);
        } else {
            pe = &e->next;
        }
    }
    for (struct fileop **pf = &c->files; *pf;) {
        struct fileop *f = *pf;
        if (f->done) {
            *pf = f->next;
            free(f->tmp_path);
            free(f->path);
            free(f);
        } else {
            pf = &f->next;
        }
    }
}

static void accept_on(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) logf_("accept: %s", strerror(errno));
            return;
        }
        int slot = -1;
        for (int i = 0; i < MAX_CONNS && slot < 0; i++)
            if (!conns[i]) slot = i;
        struct conn *c = xrealloc(NULL, sizeof *c);
        memset(c, 0, sizeof *c);
        c->fd = fd;
        if (slot < 0) {
            fatal(c, EAGAIN, "too many connections (limit %d)", MAX_CONNS);
            conn_flush(c);
            conn_free(c);
            continue;
        }
        conns[slot] = c;
    }
}

static void reap_children(void) {
    uint8_t drain[64];
    while (read(sigchld_pipe[0], drain, sizeof drain) > 0) {}
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < MAX_CONNS; i++) {
            if (!conns[i]) continue;
            for (struct exec *e = conns[i]->execs; e; e = e->next)
                if (e->pid == pid && !e->reaped) {
                    e->reaped = 1;
                    e->status = status;
                }
        }
        /* Otherwise a stranger: a failed spawn, or an orphan we adopted as subreaper. */
    }
}

static void on_sigchld(int signo) {
    (void)signo;
    int saved = errno;
    ssize_t ignored = write(sigchld_pipe[1], "", 1);
    (void)ignored;
    errno = saved;
}

/* ---- the loop ---- */

enum { P_LISTEN, P_SIGCHLD, P_CONN, P_EXEC_OUT, P_EXEC_IN };
struct poll_ref {
    int kind, ch;
    struct conn *c;
    struct exec *e;
};

static void serve(void) {
    size_t cap = 64;
    struct pollfd *pfds = xrealloc(NULL, cap * sizeof *pfds);
    struct poll_ref *refs = xrealloc(NULL, cap * sizeof *refs);
    for (;;) {
        size_t n = 0;
        int timeout_ms = -1;
        long long now = now_ms();
#define ADD(fd_, events_, kind_, c_, e_, ch_)                                                     \
        do {                                                                                    \
            if (n == cap) {                                                                     \
                cap *= 2;                                                                       \
                pfds = xrealloc(pfds, cap * sizeof *pfds);                                      \
                refs = xrealloc(refs, cap * sizeof *refs);                                      \
            }                                                                                   \
            pfds[n] = (struct pollfd){.fd = (fd_), .events = (events_)};                        \
            refs[n] = (struct poll_ref){.kind = (kind_), .c = (c_), .e = (e_), .ch = (ch_)};    \
            n++;                                                                                \
        } while (0)
        for (int i = 0; i < n_listeners; i++) ADD(listen_fds[i], POLLIN, P_LISTEN, NULL, NULL, 0);
        ADD(sigchld_pipe[0], POLLIN, P_SIGCHLD, NULL, NULL, 0);
        for (int i = 0; i < MAX_CONNS; i++) {
            struct conn *c = conns[i];
            if (!c) continue;
            short ev = (short)((c->closing || c->out.len > OUT_HARD_LIMIT_BYTES ? 0 : POLLIN) |
                               (c->out.len ? POLLOUT : 0));
            ADD(c->fd, ev, P_CONN, c, NULL, 0);
            if (c->closing) {
                long long left = c->close_deadline_ms - now;
                int t = left < 0 ? 0 : (int)left;
                if (timeout_ms < 0 || t < timeout_ms) timeout_ms = t;
                continue;
            }
            int room = c->out.len < OUT_HIGH_WATER_BYTES;
            for (struct exec *e = c->execs; e; e = e->next) {
                /* An fd we are not ready to read stays out of the set: poll reports POLLHUP
                 * even for events == 0, which would spin. */
                for (int ch = 0; ch < 2; ch++)
                    if (e->out_fd[ch] >= 0 && e->out_credit[ch] > 0 && room)
                        ADD(e->out_fd[ch], POLLIN, P_EXEC_OUT, c, e, ch);
                if (e->in_fd >= 0 && e->in.len > 0) ADD(e->in_fd, POLLOUT, P_EXEC_IN, c, e, 0);
            }
            for (struct fileop *f = c->files; f && room; f = f->next)
                if (f->is_get) timeout_ms = 0; /* regular files are always ready */
        }
#undef ADD
        int ready = poll(pfds, n, timeout_ms);
        if (ready < 0 && errno != EINTR) {
            logf_("poll: %s", strerror(errno));
            exit(1);
        }
        for (size_t i = 0; ready > 0 && i < n; i++) {
            if (!pfds[i].revents) continue;
            struct poll_ref *ref = &refs[i];
            if (ref->c && ref->c->dead) continue;
            switch (ref->kind) {
            case P_LISTEN:
                accept_on(pfds[i].fd);
                break;
            case P_SIGCHLD:
                reap_children();
                break;
            case P_CONN:
                if (pfds[i].revents & POLLOUT) conn_flush(ref->c);
                if (!ref->c->dead && (pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                    if (pfds[i].events & POLLIN) conn_read(ref->c);
                    else if (pfds[i].revents & (POLLHUP | POLLERR)) ref->c->dead = 1;
                }
                break;
            case P_EXEC_OUT:
                if (!ref->c->closing && ref->e->out_fd[ref->ch] >= 0 && ref->e->out_credit[ref->ch] > 0)
                    exec_read(ref->c, ref->e, ref->ch);
                break;
            case P_EXEC_IN:
                if (!ref->c->closing) pump_stdin(ref->c, ref->e);
                break;
            }
        }
        /* Children may have exited while we were busy; a missed wakeup is caught here. */
        reap_children();
        now = now_ms();
        for (int i = 0; i < MAX_CONNS; i++) {
            struct conn *c = conns[i];
            if (!c) continue;
            if (!c->dead && !c->closing) {
                for (struct fileop *f = c->files; f; f = f->next)
                    if (f->is_get && !f->done && c->out.len < OUT_HIGH_WATER_BYTES) file_get_pump(c, f);
                for (struct exec *e = c->execs; e; e = e->next) exec_maybe_finish(c, e);
            }
            if (!c->dead) conn_flush(c);
            if (c->closing && (c->out.len == 0 || now >= c->close_deadline_ms)) c->dead = 1;
            if (c->dead) {
                conn_free(c);
                conns[i] = NULL;
            } else {
                conn_sweep(c);
            }
        }
    }
}

/* ---- listeners ---- */

static int listen_on(const char *spec) {
    int fd = -1;
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const char *path = spec + 5;
        if (!path[0] || strlen(path) >= sizeof sa.sun_path) {
            logf_("--listen %s: the socket path must be 1 to %zu bytes", spec, sizeof sa.sun_path - 1);
            return -1;
        }
        strcpy(sa.sun_path, path);
        unlink(path); /* a stale socket from an earlier run */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0) goto fail;
    } else if (strncmp(spec, "tcp:", 4) == 0) {
        char host[64];
        const char *colon = strrchr(spec + 4, ':');
        size_t host_len = colon ? (size_t)(colon - (spec + 4)) : 0;
        struct sockaddr_in sa = {.sin_family = AF_INET};
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || host_len == 0 || host_len >= sizeof host || *end || port < 0 || port > 65535) {
            logf_("--listen %s: expected tcp:ADDRESS:PORT, e.g. tcp:127.0.0.1:1024", spec);
            return -1;
        }
        memcpy(host, spec + 4, host_len);
        host[host_len] = 0;
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
            logf_("--listen %s: '%s' is not an IPv4 address", spec, host);
            return -1;
        }
        sa.sin_port = htons((uint16_t)port);
        int one = 1;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0) goto fail;
    } else if (strncmp(spec, "vsock:", 6) == 0) {
        char *end;
        long port = strtol(spec + 6, &end, 10);
        if (!spec[6] || *end || port < 0 || port > (long)UINT32_MAX) {
            logf_("--listen %s: expected vsock:PORT, e.g. vsock:1024", spec);
            return -1;
        }
        struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = (unsigned)port};
        /* The virtio transport may still be probing when /init starts us: retry for a while. */
        for (int attempt = 0;; attempt++) {
            fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 64) == 0) break;
            if (attempt >= 100) goto fail;
            close_fd(&fd);
            usleep(100 * 1000);
        }
    } else {
        logf_("--listen %s: expected unix:PATH, vsock:PORT or tcp:ADDRESS:PORT", spec);
        return -1;
    }
    return fd;
fail:
    logf_("cannot listen on %s: %s", spec, strerror(errno));
    close_fd(&fd);
    return -1;
}

/* --generate N: writes N bytes of big-endian u64 counters (0, 1, 2, ...) to stdout. A source of
 * checkable bulk output in every guest, for tests and throughput measurements. */
static int generate(const char *arg) {
    char *end;
    unsigned long long total = strtoull(arg, &end, 10);
    if (!arg[0] || *end) {
        logf_("--generate %s: expected a byte count", arg);
        return 2;
    }
    static uint8_t block[64 * 1024];
    uint64_t counter = 0;
    while (total > 0) {
        for (size_t i = 0; i < sizeof block; i += 8) put_u64(block + i, counter++);
        size_t n = total < sizeof block ? (size_t)total : sizeof block;
        for (size_t done = 0; done < n;) {
            ssize_t w = write(1, block + done, n - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return 1;
            done += (size_t)w;
        }
        total -= n;
    }
    return 0;
}

/* --connect vsock:CID:PORT: a minimal socat for tests and benchmarks. Copies stdin to the
 * connection (then half-closes it) and the connection to stdout, until the peer ends its side. */
static int connect_vsock(const char *spec) {
    unsigned long cid, port;
    char *end;
    if (strncmp(spec, "vsock:", 6) != 0) goto bad;
    cid = strtoul(spec + 6, &end, 10);
    if (end == spec + 6 || *end != ':') goto bad;
    const char *p = end + 1;
    port = strtoul(p, &end, 10);
    if (end == p || *end || cid > 0xffffffffUL || port > 0xffffffffUL) goto bad;
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = (unsigned)cid, .svm_port = (unsigned)port};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        logf_("cannot connect to %s: %s", spec, strerror(errno));
        return 1;
    }
    static uint8_t buf[64 * 1024];
    int in_open = 1;
    for (;;) {
        struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = in_open ? POLLIN : 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (fds[0].revents) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return n == 0 ? 0 : 1;
            for (ssize_t done = 0; done < n;) {
                ssize_t w = write(1, buf + done, (size_t)(n - done));
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) return 1;
                done += w;
            }
        }
        if (in_open && fds[1].revents) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                in_open = 0;
                shutdown(fd, SHUT_WR);
                continue;
            }
            for (ssize_t done = 0; done < n;) {
                ssize_t w = write(fd, buf + done, (size_t)(n - done));
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) return 1;
                done += w;
            }
        }
    }
bad:
    logf_("--connect %s: expected vsock:CID:PORT, e.g. vsock:2:5000", spec);
    return 2;
}

static void usage(void) {
    fputs("usage: airlock-agent --listen vsock:PORT|unix:PATH|tcp:ADDRESS:PORT [--listen ...]\n"
          "       airlock-agent --generate BYTES\n"
          "       airlock-agent --connect vsock:CID:PORT\n"
          "Serves Airlock's agent protocol " "(docs/agent-protocol.md), version 1.0.\n", stderr);
}

int main(int argc, char **argv) {
    const char *specs[MAX_LISTENERS];
    int n_specs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc && n_specs < MAX_LISTENERS) {
            specs[n_specs++] = argv[++i];
        } else if (strcmp(argv[i], "--generate") == 0 && i + 1 < argc) {
            return generate(argv[i + 1]);
        } else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc) {
            return connect_vsock(argv[i + 1]);
        } else if (strcmp(argv[i], "--version") == 0) {
            puts(AGENT_NAME);
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (n_specs == 0) {
        usage();
        return 2;
    }
    /* Children get fds 0-2 by dup2 from our pipes; keep ours taken so pipes never land there. */
    int null_fd;
    do null_fd = open("/dev/null", O_RDWR);
    while (null_fd >= 0 && null_fd <= 2);
    if (null_fd > 2) close(null_fd);
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        logf_("pipe: %s", strerror(errno));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    /* Orphaned grandchildren are reparented to us and reaped, instead of piling up under init. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    for (int i = 0; i < n_specs; i++) {
        int fd = listen_on(specs[i]);
        if (fd < 0) return 1;
        listen_fds[n_listeners++] = fd;
    }
    serve();
    return 0;
}
