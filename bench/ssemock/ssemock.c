/*
 * aigw bench SSE upstream: serves a streamed chat completion to many clients at once, one event
 * every --interval-ms, from one thread (epoll, one timerfd). It exists so that the `stream`
 * scenario's upstream costs a small share of the load core at 1,000 streams x 50 events/s, which
 * the Python mock (one asyncio timer per stream and event) cannot.
 *
 * It does not know OpenAI's format: the bytes come from the project's Python mock, recorded by
 * bench/ssemock/__init__.py for the scenario's request, so the wire format has one source. This
 * server fills in what differs per request and paces the writes.
 *
 * A template file holds the writes of one answer, separated by NUL bytes: write 0 is the head,
 * the role event and the first content event; write k the content event k; the last write also
 * carries the finish event, the usage event (if asked for), [DONE] and the chunked terminator.
 * Write k leaves at start + k * interval (absolute times: no drift), rounded up to the next
 * 0.1 ms so that at 50,000 writes a second they share wake-ups: only the gap between writes 0
 * and 1 can grow, by up to 0.1 ms; the others keep the interval. Placeholder bytes:
 *   \x01 completion id (32 hex)   \x02 request id (32 hex)   \x03 created (10 digits)
 *   \x04 date (29 characters)     \x05 connection: "keep-alive" or "close"
 * The fixed-length ones may sit inside HTTP chunks, whose sizes stay right.
 *
 * --plain serves requests without stream_options.include_usage, --usage those with it (aigw
 * asks its upstreams for usage). Anything but a streamed POST /v1/chat/completions gets a 404.
 * Prints "ssemock listening on http://HOST:PORT" once bound.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define IN_CAP 65536            /* a request larger than this is refused */
#define TICK_NS 100000ull       /* writes due within the same 0.1 ms share one wake-up */

typedef struct {
    char **writes;
    size_t *lens;
    int count;
} template_t;

typedef struct {
    int fd;                  /* -1: free */
    uint32_t gen;            /* bumped per stream: stale queue entries are skipped */
    char in[IN_CAP];
    size_t in_len;
    const template_t *tpl;   /* NULL: reading a request */
    int next_write;
    int keep_alive;
    uint64_t start_ns;
    char cid[33], rid[33], created[11], date[30];
    char *out;               /* bytes the socket did not take yet */
    size_t out_len, out_cap;
    int close_after_flush;
} conn_t;

typedef struct {
    int fd;
    uint32_t gen;
    uint64_t due_ns;
} entry_t;

static conn_t **g_conns; /* by fd */
static int g_max_fd;
static entry_t *g_queue; /* FIFO by due time: every stream's next write is one interval on */
static size_t g_qhead, g_qlen, g_qcap;
static template_t g_plain, g_usage;
static uint64_t g_interval_ns;
static int g_epfd;
static char g_id_prefix[17];
static uint64_t g_seq;
static char g_scratch[1 << 20];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void load_template(const char *path, template_t *t) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    struct stat st;
    fstat(fileno(f), &st);
    char *data = malloc((size_t)st.st_size + 1);
    size_t len = fread(data, 1, (size_t)st.st_size, f);
    fclose(f);
    data[len] = 0;
    t->count = 1;
    for (size_t i = 0; i < len; i++) t->count += data[i] == 0;
    t->writes = calloc((size_t)t->count, sizeof(char *));
    t->lens = calloc((size_t)t->count, sizeof(size_t));
    char *p = data;
    for (int k = 0; k < t->count; k++) {
        size_t n = strlen(p);
        if (n > sizeof g_scratch / 32) { /* room for every byte to be a 32-byte placeholder */
            fprintf(stderr, "ssemock: %s: write %d is too large\n", path, k);
            exit(2);
        }
        t->writes[k] = p;
        t->lens[k] = n;
        p += n + 1;
    }
}

/* ------------------------------------------------------------------ output */

static void want_out(conn_t *c, int on) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.fd = c->fd};
    epoll_ctl(g_epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(conn_t *c) {
    close(c->fd); /* also leaves epoll */
    c->fd = -1;
    c->gen++;
    c->tpl = NULL;
    c->in_len = c->out_len = 0;
}

/* Send bytes after anything still queued; returns -1 if the connection is gone. */
static int send_bytes(conn_t *c, const char *data, size_t n) {
    if (c->out_len == 0) {
        ssize_t w = write(c->fd, data, n);
        if (w < 0 && errno != EAGAIN) return -1;
        if (w < 0) w = 0;
        data += w;
        n -= (size_t)w;
        if (n == 0) return 0;
        want_out(c, 1);
    }
    if (c->out_len + n > c->out_cap) { /* a slow reader: keep the rest, as TCP back-pressure */
        c->out_cap = (c->out_len + n) * 2;
        c->out = realloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return 0;
}

static int flush_out(conn_t *c) {
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t w = write(c->fd, c->out + off, c->out_len - off);
        if (w < 0) {
            if (errno != EAGAIN) return -1;
            break;
        }
        off += (size_t)w;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
    if (c->out_len == 0) want_out(c, 0);
    return 0;
}

/* Write k of the stream with this request's values filled in. */
static int send_write(conn_t *c, int k) {
    const char *src = c->tpl->writes[k];
    size_t n = c->tpl->lens[k], o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *value;
        switch (src[i]) {
        case 1: value = c->cid; break;
        case 2: value = c->rid; break;
        case 3: value = c->created; break;
        case 4: value = c->date; break;
        case 5: value = c->keep_alive ? "keep-alive" : "close"; break;
        default: g_scratch[o++] = src[i]; continue;
        }
        size_t vn = strlen(value);
        memcpy(g_scratch + o, value, vn);
        o += vn;
    }
    return send_bytes(c, g_scratch, o);
}

static void respond_404(conn_t *c) {
    static const char body[] = "{\"error\":{\"message\":\"this mock serves streamed chat completions only\","
                               "\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}";
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n"
                     "connection: %s\r\n\r\n",
                     sizeof body - 1, c->keep_alive ? "keep-alive" : "close");
    if (send_bytes(c, head, (size_t)n) < 0 || send_bytes(c, body, sizeof body - 1) < 0) c->keep_alive = 0;
}

/* ------------------------------------------------------------------ requests */

static void next_id(char out[33]) {
    snprintf(out, 33, "%s%016llx", g_id_prefix, (unsigned long long)++g_seq);
}

/* `"key": true` somewhere in the JSON body (whitespace allowed around the colon). */
static int json_true(const char *body, size_t n, const char *key) {
    size_t kn = strlen(key);
    for (const char *p = body, *end = body + n; (p = memmem(p, (size_t)(end - p), key, kn)) != NULL;) {
        p += kn;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')) p++;
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) return 1;
    }
    return 0;
}

static void queue_push(conn_t *c, uint64_t due) {
    g_queue[(g_qhead + g_qlen++) % g_qcap] = (entry_t){c->fd, c->gen, due};
}

static void start_stream(conn_t *c, const template_t *tpl, uint64_t now) {
    c->tpl = tpl;
    c->gen++;
    c->start_ns = now;
    next_id(c->cid); /* the same order as the Python mock: completion id, then request id */
    next_id(c->rid);
    time_t t = time(NULL);
    snprintf(c->created, sizeof c->created, "%lld", (long long)t);
    strftime(c->date, sizeof c->date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
    c->next_write = 0;
}

/* Parse and answer the requests buffered on c, until one starts a stream. */
static void serve_requests(conn_t *c, uint64_t now);

/* Send the stream's due write; the stream ends (or queues its next write) after it. */
static void stream_step(conn_t *c, uint64_t now) {
    int k = c->next_write++;
    if (send_write(c, k) < 0) {
        conn_close(c);
        return;
    }
    if (c->next_write < c->tpl->count) {
        queue_push(c, c->start_ns + (uint64_t)c->next_write * g_interval_ns);
        return;
    }
    c->tpl = NULL;
    if (!c->keep_alive) {
        c->close_after_flush = 1;
        if (c->out_len == 0) conn_close(c);
        return;
    }
    serve_requests(c, now); /* a pipelined request may be waiting */
}

static void serve_requests(conn_t *c, uint64_t now) {
    while (c->fd >= 0 && !c->tpl && !c->close_after_flush) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end) return;
        size_t head_len = (size_t)(end - c->in) + 4;
        char *eol = memmem(c->in, head_len, "\r\n", 2);
        int http10 = eol - c->in >= 8 && memcmp(eol - 8, "HTTP/1.0", 8) == 0;
        size_t length = 0;
        int keep_alive = !http10, chunked = 0;
        for (char *p = eol + 2; p < end;) {
            char *le = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
            size_t ln = (size_t)(le - p);
            if (ln > 15 && strncasecmp(p, "content-length:", 15) == 0) length = strtoull(p + 15, NULL, 10);
            if (ln > 11 && strncasecmp(p, "connection:", 11) == 0) {
                if (memmem(p, ln, "close", 5)) keep_alive = 0;
                if (memmem(p, ln, "keep-alive", 10)) keep_alive = 1;
            }
            if (ln > 18 && strncasecmp(p, "transfer-encoding:", 18) == 0) chunked = 1;
            p = le + 2;
        }
        if (chunked || head_len + length > IN_CAP) { /* not what aigw or the bench send */
            conn_close(c);
            return;
        }
        if (c->in_len < head_len + length) return; /* the body is still on its way */
        const char *body = c->in + head_len;
        c->keep_alive = keep_alive;
        int chat = strncmp(c->in, "POST /v1/chat/completions ", 26) == 0 ||
                   strncmp(c->in, "POST /v1/chat/completions?", 26) == 0;
        if (chat && json_true(body, length, "\"stream\"")) {
            start_stream(c, json_true(body, length, "\"include_usage\"") ? &g_usage : &g_plain, now);
        } else {
            respond_404(c);
        }
        memmove(c->in, c->in + head_len + length, c->in_len - head_len - length);
        c->in_len -= head_len + length;
        if (c->tpl) {
            stream_step(c, now);
        } else if (!c->keep_alive) {
            c->close_after_flush = 1;
            if (c->out_len == 0) conn_close(c);
        }
    }
}

static void on_readable(conn_t *c, uint64_t now) {
    for (;;) {
        if (c->in_len == IN_CAP) { /* a request larger than we accept, or a flood while streaming */
            conn_close(c);
            return;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) { /* the client went away: its stream ends here */
            conn_close(c);
            return;
        }
        c->in_len += (size_t)n;
    }
    if (!c->tpl) serve_requests(c, now);
}

static void on_accept(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN, or out of descriptors: the client will see its connect fail */
        if (fd >= g_max_fd) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_t *c = g_conns[fd];
        if (!c) c = g_conns[fd] = calloc(1, sizeof(conn_t));
        c->fd = fd;
        c->tpl = NULL;
        c->in_len = c->out_len = 0;
        c->close_after_flush = 0;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
        epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* Send every write that is due; returns when the next one is due (0: none queued). */
static uint64_t run_due(uint64_t now) {
    while (g_qlen) {
        entry_t e = g_queue[g_qhead];
        if (e.due_ns > now) return e.due_ns;
        g_qhead = (g_qhead + 1) % g_qcap;
        g_qlen--;
        conn_t *c = g_conns[e.fd];
        if (c && c->fd == e.fd && c->gen == e.gen && c->tpl) stream_step(c, now);
    }
    return 0;
}

static void arm(int tfd, uint64_t at_ns) {
    if (at_ns) at_ns = (at_ns + TICK_NS - 1) / TICK_NS * TICK_NS;
    struct itimerspec its = {.it_value = {(time_t)(at_ns / 1000000000ull), (long)(at_ns % 1000000000ull)}};
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *plain = NULL, *usage = NULL;
    int port = 0;
    double interval_ms = 20;
    static struct option longopts[] = {{"host", 1, 0, 'h'},     {"port", 1, 0, 'p'},
                                       {"interval-ms", 1, 0, 'i'}, {"plain", 1, 0, 'a'},
                                       {"usage", 1, 0, 'u'},    {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'i': interval_ms = atof(optarg); break;
        case 'a': plain = optarg; break;
        case 'u': usage = optarg; break;
        default:
            fprintf(stderr, "usage: ssemock --plain FILE --usage FILE [--interval-ms MS] [--host H] [--port P]\n");
            return 2;
        }
    }
    if (!plain || !usage || interval_ms < 0) {
        fprintf(stderr, "ssemock: --plain and --usage templates are required\n");
        return 2;
    }
    load_template(plain, &g_plain);
    load_template(usage, &g_usage);
    g_interval_ns = (uint64_t)(interval_ms * 1e6);
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    g_max_fd = rl.rlim_cur > 1048576 ? 1048576 : (int)rl.rlim_cur;
    g_conns = calloc((size_t)g_max_fd, sizeof(conn_t *));
    g_qcap = (size_t)g_max_fd; /* at most one queued write per connection */
    g_queue = calloc(g_qcap, sizeof(entry_t));
    FILE *rnd = fopen("/dev/urandom", "rb");
    unsigned char seed[8] = {0};
    if (!rnd || fread(seed, 1, sizeof seed, rnd) != sizeof seed) die("/dev/urandom");
    fclose(rnd);
    for (int i = 0; i < 8; i++) snprintf(g_id_prefix + 2 * i, 3, "%02x", seed[i]);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "ssemock: --host must be an IPv4 address\n");
        return 2;
    }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 4096) < 0) die("listen");
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);

    g_epfd = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(g_epfd, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.fd = tfd;
    epoll_ctl(g_epfd, EPOLL_CTL_ADD, tfd, &ev);
    printf("ssemock listening on http://%s:%d\n", host, ntohs(addr.sin_port));
    fflush(stdout);

    struct epoll_event events[512];
    uint64_t armed = 0;
    for (;;) {
        int n = epoll_wait(g_epfd, events, 512, -1);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        uint64_t now = now_ns();
        for (int e = 0; e < n; e++) {
            int fd = events[e].data.fd;
            if (fd == lfd) {
                on_accept(lfd);
                continue;
            }
            if (fd == tfd) {
                uint64_t expirations;
                if (read(tfd, &expirations, sizeof expirations) < 0) { /* spurious: fine */ }
                armed = 0;
                continue;
            }
            conn_t *c = g_conns[fd];
            if (!c || c->fd != fd) continue;
            if ((events[e].events & EPOLLOUT) && flush_out(c) < 0) {
                conn_close(c);
                continue;
            }
            if (c->close_after_flush) {
                if (c->out_len == 0) conn_close(c);
                continue;
            }
            if (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c, now);
        }
        uint64_t next = run_due(now_ns());
        if (next && (armed == 0 || next < armed)) {
            arm(tfd, next);
            armed = next;
        }
    }
}
