/*
 * A stand-alone implementation of the `resolved` notifier machine in C,
 * speaking the oracle's drive protocol (spec/PROTOCOL.md): one JSON request
 * a line on stdin, one JSON reply a line on stdout. It speaks version 2
 * (each reply echoes its request's id) when the oracle offers it, and
 * version 1 (no ids) to an oracle that offers only that.
 *
 * In version 3 it also declares, in its hello, the fields it observes (all
 * of them), and reads the environment the oracle names in each start.
 *
 * It shows that the oracle is language-neutral: nothing here is generated
 * from the table; it is written the way a VMM would write it, with a small
 * JSON reader of its own. Build and drive it:
 *
 *     cc -O2 -o notifier examples/c/notifier.c
 *     virtio-notifier-spec oracle drive -- ./notifier
 *     NOTIFIER_VHOST_SERVES=1110 virtio-notifier-spec oracle drive --env qemu --queues 4 -- ./notifier
 *
 * NOTIFIER_VHOST_SERVES says which queues vhost serves when it starts for
 * the whole device (vhost_start): one 1 or 0 per queue, repeated (default
 * 1: every queue; vhost-net serves its rx and tx queues, not its control
 * queue). It is fixed for the device's life, and reported as vhost_serves.
 *
 * Faulty variants for the oracle's own tests (compile-time flags):
 *   -DMUTANT_RESET_NO_DRAIN        reset removes our ioeventfd without draining it
 *   -DMUTANT_DROP_KICK             a drain clears the eventfd but never runs the handler
 *   -DMUTANT_RELEASE_IGNORES_STATUS vhost's release assigns ours whatever the status (e, literally)
 *   -DMUTANT_TAKE_EVERY_QUEUE      vhost's start stops ours on every queue, the ones it does not serve too
 *   -DMUTANT_ABORT_ON_REFUSAL      the process aborts when KVM refuses the ioeventfds DRIVER_OK assigns
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(MUTANT_RESET_NO_DRAIN) || defined(MUTANT_DROP_KICK) || defined(MUTANT_RELEASE_IGNORES_STATUS) \
    || defined(MUTANT_TAKE_EVERY_QUEUE) || defined(MUTANT_ABORT_ON_REFUSAL)
#define NAME "c-example-mutant"
#else
#define NAME "c-example"
#endif

#define MAX_QUEUES 1024                 /* QEMU's VIRTIO_QUEUE_MAX */
#define MAX_FIELDS 32
#define TEXT 64

enum state { DEASSIGNED, ASSIGNED, OFFLIMITS };
enum handler { H_NONE, H_OURS, H_VHOST };
enum status { ST_ZERO, ST_DRIVER, ST_DRIVER_OK };

static const char *state_names[] = { "deassigned", "assigned", "offlimits" };
static const char *handler_names[] = { "none", "ours", "vhost" };
static const char *status_names[] = { "zero", "driver", "driver_ok" };

struct vq {
    enum state state;
    int vhost_fd, our_fd, pending, handled, vhost_serves;
    enum handler handler;
};

static struct {
    int queues, limited, running, vhost_on;
    enum status status;
    struct vq vq[MAX_QUEUES];
} dev;

/* ------------------------------------------------------------ the machine -- */

static int ioeventfd_wanted(void)
{
    return !dev.limited && dev.running && dev.status == ST_DRIVER_OK;
}

/* Test and clear the eventfd; a kick found there is handled, not lost. */
static void drain(struct vq *v)
{
    if (v->pending) {
        v->pending = 0;
#ifndef MUTANT_DROP_KICK
        v->handled = 1;
#endif
    }
}

static void assign_ours(struct vq *v)
{
    v->our_fd = 1;
    v->handler = H_OURS;
    v->state = ASSIGNED;
}

static void deassign_ours(struct vq *v, int drain_first)
{
    v->our_fd = 0;
    v->handler = H_NONE;
    v->state = DEASSIGNED;
    if (drain_first)
        drain(v);
}

static void set_status(enum status value, int assign_ok)
{
#ifdef MUTANT_ABORT_ON_REFUSAL
    if (value == ST_DRIVER_OK && !assign_ok) {
        fprintf(stderr, "ioeventfd: KVM refused the assignment; aborting\n");
        abort();
    }
#endif
    dev.status = value;
    for (int n = 0; n < dev.queues; n++) {
        struct vq *v = &dev.vq[n];
        if (v->state == ASSIGNED && value != ST_DRIVER_OK)
            deassign_ours(v, 1);
        else if (v->state == DEASSIGNED && ioeventfd_wanted() && assign_ok)
            assign_ours(v);
    }
}

static void reset(void)
{
    dev.status = ST_ZERO;
    for (int n = 0; n < dev.queues; n++)
        if (dev.vq[n].state == ASSIGNED) {
#ifdef MUTANT_RESET_NO_DRAIN
            deassign_ours(&dev.vq[n], 0);
#else
            deassign_ours(&dev.vq[n], 1);
#endif
        }
}

static void set_host_notifier(int n, int assign, int assign_ok)
{
    struct vq *v = &dev.vq[n];
    if (assign) {
        if (v->state == OFFLIMITS)
            return;                     /* vhost holds it already */
        if (v->state == ASSIGNED) {
            v->our_fd = 0;              /* ours goes first, drained */
            drain(v);
        }
        if (!assign_ok) {               /* KVM refused vhost's: undo, ours back in the slot it freed */
            if (v->state == ASSIGNED)
                v->our_fd = 1;
            return;
        }
        v->vhost_fd = 1;
        v->handler = H_VHOST;
        v->state = OFFLIMITS;
        return;
    }
    if (v->state != OFFLIMITS)
        return;                         /* not vhost's to give back */
    v->vhost_fd = 0;
    drain(v);                           /* a kick vhost left is ours now */
#ifdef MUTANT_RELEASE_IGNORES_STATUS
    if (!dev.limited && assign_ok) {
#else
    if (ioeventfd_wanted() && assign_ok) {
#endif
        assign_ours(v);
    } else {
        v->handler = H_NONE;
        v->state = DEASSIGNED;
    }
}

/* vhost started or stopped for the whole device: every queue vhost serves
 * is taken or given back as set_host_notifier does for one; the others are
 * left alone. */
static void vhost_start(int assign_ok)
{
    dev.vhost_on = 1;
    for (int n = 0; n < dev.queues; n++) {
        if (dev.vq[n].vhost_serves)
            set_host_notifier(n, 1, assign_ok);
#ifdef MUTANT_TAKE_EVERY_QUEUE
        else if (dev.vq[n].state == ASSIGNED)
            deassign_ours(&dev.vq[n], 1);
#endif
    }
}

static void vhost_stop(int assign_ok)
{
    dev.vhost_on = 0;
    for (int n = 0; n < dev.queues; n++)
        if (dev.vq[n].vhost_serves)
            set_host_notifier(n, 0, assign_ok);
}

static void vm_stop(void)
{
    dev.running = 0;
    for (int n = 0; n < dev.queues; n++)
        if (dev.vq[n].state == ASSIGNED)
            deassign_ours(&dev.vq[n], 1);
}

static void vm_run(int assign_ok)
{
    dev.running = 1;
    for (int n = 0; n < dev.queues; n++)
        if (dev.vq[n].state == DEASSIGNED && ioeventfd_wanted() && assign_ok)
            assign_ours(&dev.vq[n]);
}

static void kick(int n)
{
    struct vq *v = &dev.vq[n];
    if (v->our_fd || v->vhost_fd)
        v->pending = 1;                 /* KVM signals the eventfd */
    else
        v->handled = 1;                 /* synchronous pio exit */
}

static void handle(int n)
{
    drain(&dev.vq[n]);
}

static void start(int queues, int limited)
{
    const char *serves = getenv("NOTIFIER_VHOST_SERVES");
    size_t len;
    if (!serves || !*serves)
        serves = "1";
    len = strlen(serves);
    memset(&dev, 0, sizeof dev);
    dev.queues = queues;
    dev.limited = limited;
    dev.running = 1;
    for (int n = 0; n < queues; n++)
        dev.vq[n].vhost_serves = serves[n % len] == '1';
}

/* ------------------------------------------------------ a small JSON reader -- */
/* Scalars are kept by dotted path ("op", "args.queue"); arrays are skipped. */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR };
struct field { char path[2 * TEXT + 2]; enum jtype type; long num; char str[TEXT]; };
static struct field fields[MAX_FIELDS];
static int nfields;
static const char *cur;

static void ws(void) { while (*cur == ' ' || *cur == '\t' || *cur == '\r' || *cur == '\n') cur++; }

static int string(char *out, size_t size)
{
    size_t len = 0;
    if (*cur != '"') return -1;
    cur++;
    while (*cur && *cur != '"') {
        char c = *cur++;
        if (c == '\\') {
            c = *cur++;
            if (!c) return -1;
            if (c == 'u') { for (int i = 0; i < 4; i++) if (!*cur++) return -1; c = '?'; }
            else if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
        }
        if (len + 1 < size) out[len++] = c;
    }
    if (*cur != '"') return -1;
    cur++;
    out[len] = 0;
    return 0;
}

static struct field *add(const char *path, enum jtype type)
{
    if (nfields == MAX_FIELDS) return NULL;
    struct field *f = &fields[nfields++];
    snprintf(f->path, sizeof f->path, "%s", path);
    f->type = type;
    f->num = 0;
    f->str[0] = 0;
    return f;
}

static int value(const char *path, int depth);

static int object(const char *path, int depth)
{
    char key[TEXT], sub[2 * TEXT + 2];
    cur++;
    ws();
    if (*cur == '}') { cur++; return 0; }
    for (;;) {
        ws();
        if (string(key, sizeof key)) return -1;
        ws();
        if (*cur++ != ':') return -1;
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
        if (value(sub, depth + 1)) return -1;
        ws();
        if (*cur == ',') { cur++; continue; }
        if (*cur == '}') { cur++; return 0; }
        return -1;
    }
}

static int value(const char *path, int depth)
{
    struct field *f;
    if (depth > 16) return -1;
    ws();
    if (*cur == '{') return object(path, depth);
    if (*cur == '[') {
        cur++;
        ws();
        if (*cur == ']') { cur++; return 0; }
        for (;;) {
            if (value("", depth + 1)) return -1;
            ws();
            if (*cur == ',') { cur++; continue; }
            if (*cur == ']') { cur++; return 0; }
            return -1;
        }
    }
    if (*cur == '"') {
        if (!(f = add(path, J_STR))) return -1;
        return string(f->str, sizeof f->str);
    }
    if (!strncmp(cur, "true", 4) || !strncmp(cur, "false", 5)) {
        if (!(f = add(path, J_BOOL))) return -1;
        f->num = *cur == 't';
        cur += f->num ? 4 : 5;
        return 0;
    }
    if (!strncmp(cur, "null", 4)) { cur += 4; return add(path, J_NULL) ? 0 : -1; }
    if (*cur == '-' || (*cur >= '0' && *cur <= '9')) {
        char *end;
        if (!(f = add(path, J_NUM))) return -1;
        f->num = strtol(cur, &end, 10);
        cur = end;
        while (*cur == '.' || *cur == 'e' || *cur == 'E' || *cur == '+' || *cur == '-' || (*cur >= '0' && *cur <= '9')) cur++;
        return 0;
    }
    return -1;
}

static const struct field *get(const char *path, enum jtype type)
{
    for (int i = 0; i < nfields; i++)
        if (!strcmp(fields[i].path, path) && fields[i].type == type)
            return &fields[i];
    return NULL;
}

/* ------------------------------------------------------------- the protocol -- */

static int protocol = 1;                /* the version agreed at hello */
static char env[TEXT] = "adversarial";  /* the environment the oracle tests in (version 3) */

/* Close a reply: from version 2 on it echoes the request's id. */
static void end_reply(void)
{
    const struct field *id = get("id", J_NUM);
    if (protocol >= 2 && id)
        printf(",\"id\":%ld", id->num);
    printf("}\n");
    fflush(stdout);
}

static void fail(const char *why)
{
    printf("{\"ok\":false,\"error\":\"%s\"", why);
    end_reply();
}

static void reply(void)
{
    printf("{\"ok\":true,\"observed\":{\"device\":{\"limited\":%s,\"running\":%s,\"vhost_on\":%s,\"status\":\"%s\"},"
           "\"queues\":[", dev.limited ? "true" : "false", dev.running ? "true" : "false",
           dev.vhost_on ? "true" : "false", status_names[dev.status]);
    for (int n = 0; n < dev.queues; n++) {
        const struct vq *v = &dev.vq[n];
        printf("%s{\"state\":\"%s\",\"vhost_fd\":%s,\"vhost_serves\":%s,\"our_fd\":%s,\"handler\":\"%s\","
               "\"pending\":%s,\"handled\":%s}",
               n ? "," : "", state_names[v->state], v->vhost_fd ? "true" : "false",
               v->vhost_serves ? "true" : "false", v->our_fd ? "true" : "false", handler_names[v->handler],
               v->pending ? "true" : "false", v->handled ? "true" : "false");
    }
    printf("]}");
    end_reply();
}

static int status_arg(const char *path, enum status *out)
{
    const struct field *f = get(path, J_STR);
    for (int i = 0; f && i < 3; i++)
        if (!strcmp(f->str, status_names[i])) { *out = (enum status)i; return 0; }
    return -1;
}

static int flag(const char *path, int fallback)
{
    const struct field *f = get(path, J_BOOL);
    return f ? (int)f->num : fallback;
}

static int event(const char *name)
{
    const struct field *q = get("args.queue", J_NUM);
    int assign_ok = flag("args.assign_ok", 1);
    enum status value;

    for (int n = 0; n < dev.queues; n++)
        dev.vq[n].handled = 0;
    if (q && (q->num < 0 || q->num >= dev.queues))
        return -1;
    if (!strcmp(name, "set_status")) {
        if (status_arg("args.value", &value)) return -1;
        set_status(value, assign_ok);
    } else if (!strcmp(name, "reset")) {
        reset();
    } else if (!strcmp(name, "set_host_notifier")) {
        if (!q) return -1;
        set_host_notifier((int)q->num, flag("args.assign", 0), assign_ok);
    } else if (!strcmp(name, "vhost_start")) {
        vhost_start(assign_ok);
    } else if (!strcmp(name, "vhost_stop")) {
        vhost_stop(assign_ok);
    } else if (!strcmp(name, "load")) {
        if (status_arg("args.saved", &value)) return -1;
        dev.status = value;             /* a stopped VM: nothing to assign yet */
    } else if (!strcmp(name, "vm_stop")) {
        vm_stop();
    } else if (!strcmp(name, "vm_run")) {
        vm_run(assign_ok);
    } else if (!strcmp(name, "kick")) {
        if (!q) return -1;
        kick((int)q->num);
    } else if (!strcmp(name, "handle")) {
        if (!q) return -1;
        handle((int)q->num);
    } else {
        return -1;
    }
    return 0;
}

int main(void)
{
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        const struct field *op, *name, *queues;
        nfields = 0;
        cur = line;
        ws();
        if (*cur != '{' || value("", 0)) { fail("not a JSON object"); continue; }
        op = get("op", J_STR);
        if (!op) { fail("no op"); continue; }
        if (!strcmp(op->str, "hello")) {
            const struct field *offered = get("protocol", J_NUM);
            protocol = !offered ? 1 : offered->num >= 3 ? 3 : offered->num == 2 ? 2 : 1;
            printf("{\"ok\":true,\"protocol\":%d,\"implementation\":\"" NAME "\"", protocol);
            if (protocol >= 3)                  /* every field, at every step */
                printf(",\"observes\":[\"limited\",\"running\",\"vhost_on\",\"status\",\"state\",\"vhost_fd\","
                       "\"vhost_serves\",\"our_fd\",\"handler\",\"pending\",\"handled\"]");
            printf("}\n");
            fflush(stdout);
        } else if (!strcmp(op->str, "start")) {
            queues = get("queues", J_NUM);
            const struct field *named = get("env", J_STR);
            if (!queues || queues->num < 1 || queues->num > MAX_QUEUES) { fail("queues out of range"); continue; }
            if (named)
                snprintf(env, sizeof env, "%s", named->str);
            start((int)queues->num, flag("limited", 0));
            reply();
        } else if (!strcmp(op->str, "event")) {
            name = get("event", J_STR);
            if (!name || event(name->str)) { fail("bad event"); continue; }
            reply();
        } else if (!strcmp(op->str, "quit")) {
            return 0;
        } else {
            fail("unknown op");
        }
    }
    return 0;
}
