/*
 * aigw bench load generator: one thread, epoll, HTTP/1.1 keep-alive connections.
 *
 * Two modes:
 *   --rate R > 0   open loop: request k is due at t0 + k/R. A due request goes out on the first
 *                  idle connection; if none is idle it waits, and its latency still counts from
 *                  its intended time, so a stalled server cannot hide its stall (no coordinated
 *                  omission).
 *   --rate 0       closed loop: every connection sends its next request as soon as the previous
 *                  answer is complete (wrk's model); latency counts from the actual send.
 *
 * A connection idle for --keepalive seconds (default 5, httpx's keep-alive expiry) is opened
 * afresh before it carries a request, as HTTP clients' pools do: a server closes idle connections
 * after its own keep-alive timeout (aigw's: 10 s), and a request written as it closes would fail
 * for no fault of the server's. 0 keeps connections for ever.
 *   --stream-events K
 *                  closed loop over SSE streams (the `stream` scenario): connection i opens at
 *                  t0 + ramp * i / connections, then runs stream after stream. Every SSE event
 *                  ("\n\n" in the body) is timestamped as it is read; a stream counts when it is a
 *                  200 with at least K events. Its time to first event (from the request write;
 *                  not for a connection's first stream, whose request may wait in the server's
 *                  accept queue) goes into `ttfb`, the gaps between events 1..K-1 into `gaps`
 *                  (event 0 is the role chunk, sent together with event 1).
 *
 * Latencies go into a log-linear histogram in nanoseconds (values below 128 exact, then 64 linear
 * sub-buckets per power of two: under 1.6% bucket width). The histogram's non-empty buckets are
 * printed as JSON and the percentiles are computed by bench/histogram.py, which uses the same
 * bucket layout; so there is one percentile implementation, and it is unit-tested.
 *
 * Output: one JSON object on stdout. With --progress, one "PROGRESS {json}" line per second on
 * stderr. --bucket-selftest reads integers from stdin and prints their bucket indices (used by the
 * tests to check this file's bucketing against the Python one).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
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

/* ------------------------------------------------------------------ histogram */

#define SUB_BITS 7
#define SUB_COUNT (1 << SUB_BITS)      /* 128 exact values at the bottom */
#define HALF_COUNT (1 << (SUB_BITS - 1)) /* 64 sub-buckets per power of two above */
#define MAX_SHIFT 40                    /* up to 2^47 ns: far beyond any timeout */
#define BUCKETS (SUB_COUNT + MAX_SHIFT * HALF_COUNT)

typedef struct {
    uint64_t counts[BUCKETS];
    uint64_t total, min, max;
    double sum;
} hist_t;

static int bucket_index(uint64_t v) {
    if (v < SUB_COUNT) return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - (SUB_BITS - 1);
    if (shift > MAX_SHIFT) return BUCKETS - 1;
    return SUB_COUNT + (shift - 1) * HALF_COUNT + (int)((v >> shift) - HALF_COUNT);
}

static void hist_record(hist_t *h, uint64_t v) {
    h->counts[bucket_index(v)]++;
    if (h->total == 0 || v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    h->total++;
    h->sum += (double)v;
}

static void hist_print(const char *name, const hist_t *h) {
    printf("\"%s\":{\"sub_bits\":%d,\"count\":%llu,\"min_ns\":%llu,\"max_ns\":%llu,\"mean_ns\":%.1f,"
           "\"buckets\":[",
           name, SUB_BITS, (unsigned long long)h->total, (unsigned long long)h->min,
           (unsigned long long)h->max, h->total ? h->sum / (double)h->total : 0.0);
    int first = 1;
    for (int i = 0; i < BUCKETS; i++) {
        if (!h->counts[i]) continue;
        printf("%s[%d,%llu]", first ? "" : ",", i, (unsigned long long)h->counts[i]);
        first = 0;
    }
    printf("]}");
}

/* ------------------------------------------------------------------ options */

typedef struct {
    const char *host, *port, *path, *method, *body_file;
    const char *headers[64];
    int n_headers;
    int connections;
    double duration_s, rate, timeout_s, ramp_s, keepalive_s;
    int progress;
    int stream_events; /* > 0: stream mode, this many events make a complete stream */
} options_t;

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --host H --port P --path /p [--method M] [--header 'K: V']... "
            "[--body-file F]\n"
            "               --connections C --duration S [--rate R (0 = closed loop)] "
            "[--timeout S] [--keepalive S] [--progress]\n"
            "               [--stream-events K [--ramp S]]\n"
            "       loadgen --bucket-selftest < numbers\n");
    exit(2);
}

/* ------------------------------------------------------------------ connections */

enum parse_state { P_HEAD, P_BODY_LEN, P_BODY_EOF, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER };
enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };

typedef struct {
    int fd;
    uint32_t index;
    int want_out;          /* EPOLLOUT is registered: a request is partly written */
    enum conn_state state;
    enum parse_state parse;
    int status;
    int close_after;
    uint64_t remaining;    /* body bytes (content-length or current chunk) */
    size_t write_off;      /* bytes of the request already written */
    uint64_t intended_ns;  /* latency is measured from here */
    uint64_t sent_ns;      /* service time is measured from here; timeouts too */
    uint64_t retry_at_ns;  /* when a down connection may reconnect */
    uint64_t idle_ns;      /* when it last became idle */
    int opened;            /* has had a socket before: the next open is a reconnect */
    uint32_t streams;      /* streams sent on this socket (stream mode) */
    uint64_t *event_ns;    /* stream mode: arrival of events 0..K-1 */
    uint32_t events;       /* events seen in this response */
    int pending_nl;        /* the last body byte was a lone newline: an event ends with "\n\n" */
    char head[16384];
    size_t head_len;
    size_t line_len;       /* chunk-size / trailer line length so far */
    uint64_t chunk_size;
} conn_t;

typedef struct {
    uint64_t connect, read, write, timeout;
    uint64_t status, truncated; /* stream mode: not a 200; fewer events than expected */
} errors_t;

static struct addrinfo *g_addr;
static char *g_request;
static size_t g_request_len;
static int g_epfd;
static uint32_t g_stream_events; /* 0 unless stream mode */
static volatile sig_atomic_t g_stop;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void conn_close(conn_t *c, uint64_t retry_at) {
    if (c->fd >= 0) close(c->fd); /* close() also removes it from epoll */
    c->fd = -1;
    c->state = C_DOWN;
    c->retry_at_ns = retry_at;
}

static void conn_open(conn_t *c, int index) {
    int fd = socket(g_addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->index = (uint32_t)index;
    c->opened = 1;
    c->streams = 0;
    c->want_out = 1;
    c->state = C_CONNECTING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = (uint32_t)index};
    if (epoll_ctl(g_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        perror("epoll_ctl");
        exit(1);
    }
    if (connect(fd, g_addr->ai_addr, g_addr->ai_addrlen) < 0 && errno != EINPROGRESS) {
        /* reported as a connect error by the caller through SO_ERROR on the next event */
    }
}

static void want_write(conn_t *c, int on) {
    if (c->want_out == on) return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.u32 = c->index};
    epoll_ctl(g_epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

/* Write what is left of the request; returns -1 on error. */
static int conn_write(conn_t *c) {
    while (c->write_off < g_request_len) {
        ssize_t n = write(c->fd, g_request + c->write_off, g_request_len - c->write_off);
        if (n < 0) {
            if (errno == EAGAIN) {
                want_write(c, 1); /* a large body: finish when the socket drains */
                return 0;
            }
            return -1;
        }
        c->write_off += (size_t)n;
    }
    want_write(c, 0);
    return 0;
}

static void conn_send(conn_t *c, uint64_t intended, uint64_t now) {
    c->state = C_BUSY;
    c->parse = P_HEAD;
    c->head_len = 0;
    c->status = 0;
    c->close_after = 0;
    c->write_off = 0;
    c->intended_ns = intended;
    c->sent_ns = now;
    c->events = 0;
    c->pending_nl = 0;
    c->streams++;
}

/* Stream mode: timestamp every SSE event that ends in these body bytes. */
static void scan_events(conn_t *c, const char *buf, size_t n, uint64_t now) {
    if (!g_stream_events) return;
    int pending = c->pending_nl; /* the byte before buf[i] is a newline not yet part of an event */
    for (size_t i = 0; i < n;) {
        const char *p = memchr(buf + i, '\n', n - i);
        if (!p) {
            pending = 0;
            break;
        }
        size_t j = (size_t)(p - buf);
        if (pending && j == i) {
            if (c->events < g_stream_events) c->event_ns[c->events] = now;
            c->events++;
            pending = 0; /* "\n\n\n" is one event, as a non-overlapping count has it */
        } else {
            pending = 1;
        }
        i = j + 1;
    }
    c->pending_nl = pending;
}

static int header_is(const char *line, size_t len, const char *name) {
    size_t n = strlen(name);
    return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen) {
    const char *v = line + strlen(name) + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    *vlen = (size_t)(end - v);
    return v;
}

/* Parse the status line and headers in c->head; sets the body state. Returns -1 if malformed. */
static int parse_head(conn_t *c, int head_request) {
    char *p = c->head, *end = c->head + c->head_len;
    char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (!eol || eol - p < 12 || strncmp(p, "HTTP/1.", 7) != 0) return -1;
    int http10 = p[7] == '0';
    c->status = atoi(p + 9);
    int keep_alive = !http10, chunked = 0, have_length = 0;
    uint64_t length = 0;
    for (p = eol + 2; p < end;) {
        eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol || eol == p) break;
        size_t len = (size_t)(eol - p), vlen;
        if (header_is(p, len, "content-length")) {
            length = strtoull(header_value(p, len, "content-length", &vlen), NULL, 10);
            have_length = 1;
        } else if (header_is(p, len, "transfer-encoding")) {
            const char *v = header_value(p, len, "transfer-encoding", &vlen);
            if (memmem(v, vlen, "chunked", 7)) chunked = 1;
        } else if (header_is(p, len, "connection")) {
            const char *v = header_value(p, len, "connection", &vlen);
            if (vlen >= 5 && strncasecmp(v, "close", 5) == 0) keep_alive = 0;
            if (vlen >= 10 && strncasecmp(v, "keep-alive", 10) == 0) keep_alive = 1;
        }
        p = eol + 2;
    }
    c->close_after = !keep_alive;
    if (head_request || c->status == 204 || c->status == 304) {
        c->parse = P_BODY_LEN;
        c->remaining = 0;
    } else if (chunked) {
        c->parse = P_CHUNK_SIZE;
        c->line_len = 0;
        c->chunk_size = 0;
    } else if (have_length) {
        c->parse = P_BODY_LEN;
        c->remaining = length;
    } else {
        c->parse = P_BODY_EOF;
        c->close_after = 1;
    }
    return 0;
}

/* Feed body bytes; returns 1 when the response is complete, 0 if more is needed, -1 on error. */
static int feed_body(conn_t *c, const char *buf, size_t n, uint64_t now) {
    size_t i = 0;
    while (i < n || (c->parse == P_BODY_LEN && c->remaining == 0)) {
        switch (c->parse) {
        case P_BODY_LEN: {
            uint64_t take = n - i < c->remaining ? n - i : c->remaining;
            scan_events(c, buf + i, take, now);
            c->remaining -= take;
            i += take;
            if (c->remaining == 0) return 1;
            break;
        }
        case P_BODY_EOF:
            scan_events(c, buf + i, n - i, now);
            return 0;
        case P_CHUNK_SIZE: {
            char ch = buf[i++];
            if (ch == '\n') {
                c->line_len = 0;
                if (c->chunk_size == 0) {
                    c->parse = P_TRAILER;
                } else {
                    c->remaining = c->chunk_size;
                    c->parse = P_CHUNK_DATA;
                }
            } else if (c->line_len < 16) { /* line_len counts hex digits; 16 = digits are over */
                int d = (ch >= '0' && ch <= '9') ? ch - '0'
                        : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                        : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
                                                   : -1;
                if (d >= 0) {
                    c->chunk_size = c->chunk_size * 16 + (uint64_t)d;
                    c->line_len++;
                } else if (ch != '\r') {
                    c->line_len = 16; /* a chunk extension (";name=value"): ignored */
                }
            }
            break;
        }
        case P_CHUNK_DATA: {
            uint64_t take = n - i < c->remaining ? n - i : c->remaining;
            scan_events(c, buf + i, take, now);
            c->remaining -= take;
            i += take;
            if (c->remaining == 0) {
                c->parse = P_CHUNK_CRLF;
                c->line_len = 0;
            }
            break;
        }
        case P_CHUNK_CRLF:
            if (buf[i++] == '\n') {
                c->parse = P_CHUNK_SIZE;
                c->chunk_size = 0;
                c->line_len = 0;
            }
            break;
        case P_TRAILER: {
            char ch = buf[i++];
            if (ch == '\n') {
                if (c->line_len == 0) return 1; /* the empty line ends the message */
                c->line_len = 0;
            } else if (ch != '\r') {
                c->line_len++;
            }
            break;
        }
        default:
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ run */

typedef struct {
    hist_t latency;  /* from intended send time (open loop) or actual send (closed loop) */
    hist_t service;  /* from actual send time */
    hist_t ttfb;     /* stream mode: request write to first event */
    hist_t gaps;     /* stream mode: between consecutive content events */
    uint64_t status[6];
    errors_t err;
    uint64_t completed, sent, reconnects, expired;
    uint64_t streams, events; /* stream mode: complete streams and their events */
} results_t;

static results_t R;

static void load_body(const char *file, char **body, size_t *len) {
    *body = NULL;
    *len = 0;
    if (!file) return;
    FILE *f = fopen(file, "rb");
    if (!f) {
        perror(file);
        exit(2);
    }
    struct stat st;
    fstat(fileno(f), &st);
    *body = malloc((size_t)st.st_size + 1);
    *len = fread(*body, 1, (size_t)st.st_size, f);
    fclose(f);
}

static void build_request(const options_t *o) {
    char *body;
    size_t body_len;
    load_body(o->body_file, &body, &body_len);
    size_t cap = 4096 + body_len + strlen(o->path);
    for (int i = 0; i < o->n_headers; i++) cap += strlen(o->headers[i]) + 2;
    g_request = malloc(cap);
    int has_host = 0;
    for (int i = 0; i < o->n_headers; i++)
        if (strncasecmp(o->headers[i], "host:", 5) == 0) has_host = 1;
    size_t n = (size_t)sprintf(g_request, "%s %s HTTP/1.1\r\n", o->method, o->path);
    if (!has_host) n += (size_t)sprintf(g_request + n, "Host: %s:%s\r\n", o->host, o->port);
    for (int i = 0; i < o->n_headers; i++) n += (size_t)sprintf(g_request + n, "%s\r\n", o->headers[i]);
    if (body) n += (size_t)sprintf(g_request + n, "Content-Length: %zu\r\n", body_len);
    n += (size_t)sprintf(g_request + n, "\r\n");
    if (body) {
        memcpy(g_request + n, body, body_len);
        n += body_len;
        free(body);
    }
    g_request_len = n;
}

static void complete(conn_t *c, uint64_t now) {
    hist_record(&R.latency, now - c->intended_ns);
    hist_record(&R.service, now - c->sent_ns);
    int cls = c->status / 100;
    R.status[cls >= 1 && cls <= 5 ? cls : 0]++;
    R.completed++;
    c->state = C_IDLE;
    c->idle_ns = now;
    if (!g_stream_events) return;
    if (c->status != 200) {
        R.err.status++;
    } else if (c->events < g_stream_events) {
        R.err.truncated++;
    } else {
        R.streams++;
        R.events += c->events;
        if (c->streams > 1) hist_record(&R.ttfb, c->event_ns[0] - c->sent_ns);
        for (uint32_t i = 2; i < g_stream_events; i++) hist_record(&R.gaps, c->event_ns[i] - c->event_ns[i - 1]);
    }
}

static void arm_timer(int tfd, uint64_t at_ns) {
    struct itimerspec its = {0};
    if (at_ns) {
        its.it_value.tv_sec = (time_t)(at_ns / 1000000000ull);
        its.it_value.tv_nsec = (long)(at_ns % 1000000000ull);
    }
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void bucket_selftest(void) {
    unsigned long long v;
    while (scanf("%llu", &v) == 1) printf("%d\n", bucket_index((uint64_t)v));
    exit(0);
}

int main(int argc, char **argv) {
    options_t o = {
        .method = "GET", .path = "/", .connections = 16, .duration_s = 10, .timeout_s = 10, .keepalive_s = 5};
    static struct option longopts[] = {
        {"host", 1, 0, 'h'},       {"port", 1, 0, 'p'},     {"path", 1, 0, 'P'},
        {"method", 1, 0, 'm'},     {"header", 1, 0, 'H'},   {"body-file", 1, 0, 'b'},
        {"connections", 1, 0, 'c'}, {"duration", 1, 0, 'd'}, {"rate", 1, 0, 'r'},
        {"timeout", 1, 0, 't'},    {"progress", 0, 0, 'g'}, {"bucket-selftest", 0, 0, 'S'},
        {"stream-events", 1, 0, 'e'}, {"ramp", 1, 0, 'R'},  {"keepalive", 1, 0, 'k'},
        {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': o.host = optarg; break;
        case 'p': o.port = optarg; break;
        case 'P': o.path = optarg; break;
        case 'm': o.method = optarg; break;
        case 'H':
            if (o.n_headers < 64) o.headers[o.n_headers++] = optarg;
            break;
        case 'b': o.body_file = optarg; break;
        case 'c': o.connections = atoi(optarg); break;
        case 'd': o.duration_s = atof(optarg); break;
        case 'r': o.rate = atof(optarg); break;
        case 't': o.timeout_s = atof(optarg); break;
        case 'g': o.progress = 1; break;
        case 'S': bucket_selftest(); break;
        case 'e': o.stream_events = atoi(optarg); break;
        case 'R': o.ramp_s = atof(optarg); break;
        case 'k': o.keepalive_s = atof(optarg); break;
        default: usage();
        }
    }
    if (!o.host || !o.port || o.connections < 1 || o.duration_s <= 0) usage();
    if (o.stream_events < 0 || (o.stream_events && (o.rate > 0 || o.stream_events < 2))) usage();
    g_stream_events = (uint32_t)o.stream_events;

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    int gai = getaddrinfo(o.host, o.port, &hints, &g_addr);
    if (gai) {
        fprintf(stderr, "loadgen: %s:%s: %s\n", o.host, o.port, gai_strerror(gai));
        return 2;
    }
    build_request(&o);
    int head_request = strcasecmp(o.method, "HEAD") == 0;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    g_epfd = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    epoll_ctl(g_epfd, EPOLL_CTL_ADD, tfd, &tev);

    conn_t *conns = calloc((size_t)o.connections, sizeof(conn_t));
    const uint64_t t0 = now_ns();
    for (int i = 0; i < o.connections; i++) {
        conns[i].fd = -1;
        if (g_stream_events) conns[i].event_ns = calloc(g_stream_events, sizeof(uint64_t));
        if (o.ramp_s > 0) /* down until its turn in the ramp: opened by the loop below */
            conn_close(&conns[i], t0 + (uint64_t)(o.ramp_s * 1e9 * i / o.connections));
        else
            conn_open(&conns[i], i);
    }

    const uint64_t timeout_ns = (uint64_t)(o.timeout_s * 1e9);
    const uint64_t keepalive_ns = (uint64_t)(o.keepalive_s * 1e9);
    const int open_loop = o.rate > 0;
    const double interval_ns = open_loop ? 1e9 / o.rate : 0;
    const uint64_t t_end = t0 + (uint64_t)(o.duration_s * 1e9);
    const uint64_t scheduled = open_loop ? (uint64_t)(o.duration_s * o.rate) : UINT64_MAX;
    uint64_t next_k = 0; /* open loop: index of the next request to send */
    uint64_t last_done_ns = t0, next_progress = t0 + 1000000000ull;
    uint64_t prog_completed = 0, prog_errors = 0, armed_ns = 0;
    double prog_sum = 0;
    struct epoll_event events[256];

    for (;;) {
        uint64_t now = now_ns();
        /* Open loop: requests due before the end but held up by busy connections still go out,
         * for up to one timeout; closed loop: nothing new after the end. */
        int issuing = !g_stop && next_k < scheduled && now < (open_loop ? t_end + timeout_ns : t_end);
        int busy = 0;
        uint64_t wake = now + 100000000ull; /* at most 100 ms between timeout checks */

        /* Hand due requests to idle connections; reconnect connections that are down. */
        for (int i = 0; i < o.connections; i++) {
            conn_t *c = &conns[i];
            if (c->state == C_DOWN && issuing) {
                if (now >= c->retry_at_ns) {
                    if (c->opened) R.reconnects++;
                    conn_open(c, i);
                } else if (c->retry_at_ns < wake) {
                    wake = c->retry_at_ns;
                }
            }
            if (c->state == C_IDLE && issuing) {
                uint64_t intended = now;
                if (open_loop) {
                    intended = t0 + (uint64_t)((double)next_k * interval_ns);
                    if (intended > now) {
                        if (intended < wake) wake = intended;
                        continue;
                    }
                }
                if (keepalive_ns && now - c->idle_ns >= keepalive_ns) {
                    R.expired++;
                    conn_close(c, now);
                    conn_open(c, i); /* the request goes to the next idle connection */
                    continue;
                }
                next_k++;
                R.sent++;
                conn_send(c, intended, now);
                if (conn_write(c) < 0) {
                    R.err.write++;
                    conn_close(c, now + 10000000ull);
                    continue;
                }
                issuing = next_k < scheduled && now < (open_loop ? t_end + timeout_ns : t_end);
            }
            if (c->state == C_BUSY) {
                busy++;
                if (now - c->sent_ns > timeout_ns) {
                    R.err.timeout++;
                    conn_close(c, now);
                } else if (c->sent_ns + timeout_ns < wake) {
                    wake = c->sent_ns + timeout_ns;
                }
            } else if (c->state == C_CONNECTING) {
                busy++;
            }
        }
        if (!issuing && busy == 0) break;
        if (g_stop && !issuing) {
            /* interrupted: give in-flight requests no more time */
            break;
        }
        if (o.progress && now >= next_progress) {
            uint64_t errs = R.err.connect + R.err.read + R.err.write + R.err.timeout;
            uint64_t done = R.completed - prog_completed;
            double mean_ms = done ? (R.latency.sum - prog_sum) / (double)done / 1e6 : 0;
            fprintf(stderr,
                    "PROGRESS {\"elapsed_s\":%.1f,\"completed\":%llu,\"rps\":%llu,\"mean_ms\":%.3f,"
                    "\"non2xx\":%llu,\"errors\":%llu,\"new_errors\":%llu}\n",
                    (double)(now - t0) / 1e9, (unsigned long long)R.completed, (unsigned long long)done,
                    mean_ms, (unsigned long long)(R.completed - R.status[2]), (unsigned long long)errs,
                    (unsigned long long)(errs - prog_errors));
            prog_completed = R.completed;
            prog_sum = R.latency.sum;
            prog_errors = errs;
            next_progress += 1000000000ull;
        }
        if (o.progress && next_progress < wake) wake = next_progress;
        if (issuing && !open_loop && t_end < wake) wake = t_end;
        /* Re-arm only to wake earlier, or once the armed time has passed: a syscall saved per loop. */
        if (wake < armed_ns || armed_ns <= now) {
            arm_timer(tfd, wake);
            armed_ns = wake;
        }

        int n = epoll_wait(g_epfd, events, 256, -1);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        now = now_ns();
        for (int e = 0; e < n; e++) {
            uint32_t idx = events[e].data.u32;
            if (idx == UINT32_MAX) {
                uint64_t expirations;
                if (read(tfd, &expirations, sizeof expirations) < 0) { /* spurious: fine */ }
                continue;
            }
            conn_t *c = &conns[idx];
            if (c->fd < 0) continue;
            uint32_t ev = events[e].events;
            if (g_stream_events) now = now_ns(); /* events are timed as read, not per batch */
            if (c->state == C_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err || (ev & (EPOLLERR | EPOLLHUP))) {
                    R.err.connect++;
                    conn_close(c, now + 10000000ull);
                    continue;
                }
                want_write(c, 0); /* connected: EPOLLOUT only while a write is pending */
                c->state = C_IDLE;
                c->idle_ns = now;
                continue;
            }
            if (c->state == C_BUSY && c->write_off < g_request_len && (ev & EPOLLOUT)) {
                if (conn_write(c) < 0) {
                    R.err.write++;
                    conn_close(c, now + 10000000ull);
                    continue;
                }
            }
            if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
            for (;;) {
                char buf[65536];
                ssize_t got = read(c->fd, buf, sizeof buf);
                if (got < 0 && errno == EAGAIN) break;
                if (got <= 0) {
                    if (c->state == C_BUSY && c->parse == P_BODY_EOF) {
                        complete(c, now);
                        last_done_ns = now;
                        conn_close(c, now);
                    } else if (c->state == C_BUSY) {
                        R.err.read++;
                        conn_close(c, now + 10000000ull);
                    } else {
                        conn_close(c, now); /* the server closed an idle keep-alive connection */
                    }
                    break;
                }
                if (c->state != C_BUSY) continue; /* unsolicited bytes: ignore */
                size_t used = 0;
                if (c->parse == P_HEAD) {
                    size_t room = sizeof c->head - c->head_len;
                    size_t take = (size_t)got < room ? (size_t)got : room;
                    memcpy(c->head + c->head_len, buf, take);
                    size_t before = c->head_len;
                    c->head_len += take;
                    char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
                    if (!end) {
                        if (c->head_len == sizeof c->head) {
                            R.err.read++;
                            conn_close(c, now);
                            break;
                        }
                        continue;
                    }
                    size_t head_len = (size_t)(end - c->head) + 4;
                    used = head_len - before;
                    c->head_len = head_len;
                    if (parse_head(c, head_request) < 0) {
                        R.err.read++;
                        conn_close(c, now);
                        break;
                    }
                }
                int done = feed_body(c, buf + used, (size_t)got - used, now);
                if (done < 0) {
                    R.err.read++;
                    conn_close(c, now);
                    break;
                }
                if (done == 1) {
                    complete(c, now);
                    last_done_ns = now;
                    if (c->close_after) conn_close(c, now);
                    break; /* no pipelining, so nothing else is owed on this connection */
                }
                /* A short read drained the socket: epoll is level-triggered and reports anything
                 * newer, so a read that would only say EAGAIN is saved (one a chunk for streams). */
                if ((size_t)got < sizeof buf) break;
            }
        }
    }

    uint64_t elapsed = (last_done_ns > t0 ? last_done_ns : now_ns()) - t0;
    uint64_t unsent = open_loop && scheduled > R.sent ? scheduled - R.sent : 0;
    printf("{\"mode\":\"%s\",\"rate_target\":%.3f,\"connections\":%d,\"duration_s\":%.6f,"
           "\"elapsed_s\":%.6f,\"interrupted\":%s,\"sent\":%llu,\"completed\":%llu,\"unsent\":%llu,"
           "\"reconnects\":%llu,\"expired\":%llu,",
           g_stream_events ? "stream" : open_loop ? "open" : "closed", o.rate, o.connections, o.duration_s, (double)elapsed / 1e9,
           g_stop ? "true" : "false", (unsigned long long)R.sent, (unsigned long long)R.completed,
           (unsigned long long)unsent, (unsigned long long)R.reconnects, (unsigned long long)R.expired);
    printf("\"status\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu,\"other\":%llu},",
           (unsigned long long)R.status[1], (unsigned long long)R.status[2],
           (unsigned long long)R.status[3], (unsigned long long)R.status[4],
           (unsigned long long)R.status[5], (unsigned long long)R.status[0]);
    printf("\"errors\":{\"connect\":%llu,\"read\":%llu,\"write\":%llu,\"timeout\":%llu},",
           (unsigned long long)R.err.connect, (unsigned long long)R.err.read,
           (unsigned long long)R.err.write, (unsigned long long)R.err.timeout);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\"cpu_s\":%.6f,", (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                                   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    if (g_stream_events) {
        printf("\"stream\":{\"streams\":%llu,\"events\":%llu,\"status_errors\":%llu,"
               "\"truncated\":%llu,",
               (unsigned long long)R.streams, (unsigned long long)R.events,
               (unsigned long long)R.err.status, (unsigned long long)R.err.truncated);
        hist_print("ttfb", &R.ttfb);
        printf(",");
        hist_print("gaps", &R.gaps);
        printf("},");
    }
    hist_print("latency", &R.latency);
    printf(",");
    hist_print("service", &R.service);
    printf("}\n");
    return 0;
}
